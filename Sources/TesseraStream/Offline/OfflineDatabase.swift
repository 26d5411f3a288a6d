import TesseraCore
import TesseraPostgres

/// The offline tables in PostgreSQL (the event log here, snapshots in
/// `OfflineDatabase+Snapshots.swift`). Owns one connection, reconnecting after a
/// failure; used from one thread.
public final class OfflineDatabase {
    private let url: String
    /// When set, every new connection first checks the schema against these migrations.
    private let migrationsDirectory: String?
    private var connection: PostgresConnection?
    /// Days whose partitions exist already, so most batches skip the DDL call.
    private var knownDays = Set<Int64>()

    /// With `migrationsDirectory`, a database behind or unlike those migrations takes no
    /// writes (each attempt fails, naming `tessera migrate`): `serve` may have started
    /// while PostgreSQL was down, or the database may have been restored since.
    public init(url: String, migrationsDirectory: String? = nil) {
        self.url = url
        self.migrationsDirectory = migrationsDirectory
    }

    func connected() throws -> PostgresConnection {
        if let connection, !connection.isBroken { return connection }
        connection = nil
        knownDays.removeAll()
        let fresh = try PostgresConnection(url: url)
        if let migrationsDirectory {
            do { try Migrator(directory: migrationsDirectory).requireUpToDate(on: fresh) } catch {
                fresh.close()
                throw error
            }
        }
        connection = fresh
        return fresh
    }

    /// Next offset per partition that the log already holds for this group and topic.
    public func storedOffsets(group: String, topic: String) throws -> [Int32: Int64] {
        try Self.storedOffsets(group: group, topic: topic, on: connected())
    }

    /// The same on a caller's connection (`tessera verify` checks the log covers what it compares).
    public static func storedOffsets(group: String, topic: String, on connection: PostgresConnection) throws -> [Int32: Int64] {
        let result = try connection.execute(
            "select partition, next_offset from tessera.consumer_offsets where consumer_group = $1 and topic = $2", [group, topic])
        var offsets: [Int32: Int64] = [:]
        for row in result.rows {
            if let partition = row[0].flatMap({ Int32($0) }), let next = row[1].flatMap({ Int64($0) }) { offsets[partition] = next }
        }
        return offsets
    }

    /// What a write did: the events it appended, and the group's next offsets after it.
    public struct WriteResult: Sendable, Equatable {
        public var written: Int
        public var nextOffsets: [Int32: Int64]
    }

    /// Appends the events and moves the group's offsets, atomically. Writers of the same
    /// partitions take turns (a rebalance can leave two consumers holding one batch), and
    /// each re-reads the stored offsets under that lock, so an event the log already holds
    /// is skipped and offsets never move back: every event is appended once.
    @discardableResult
    public func write(_ events: [LoggedEvent], nextOffsets: [Int32: Int64], group: String, topic: String) throws -> WriteResult {
        let connection = try connected()
        try ensurePartitions(for: events, on: connection)
        return try connection.transaction {
            // Sorted, so two writers never wait on each other's locks in opposite orders.
            try connection.execute(
                "select pg_advisory_xact_lock(hashtext($1), p) from unnest($2::int[]) as p order by p",
                ["tessera.events/\(group)/\(topic)", postgresArrayLiteral(nextOffsets.keys.sorted().map(String.init))])
            let stored = try Self.storedOffsets(group: group, topic: topic, on: connection)
            let fresh = events.filter { $0.offset >= stored[$0.partition, default: 0] }
            let moves = nextOffsets.filter { $0.value > stored[$0.key, default: 0] }
            if !fresh.isEmpty {
                try connection.copyIn(
                    """
                    copy tessera.events (event_id, event_type, event_time, user_id, product_id, session_id, query, position,
                                         price, quantity, payload, source_partition, source_offset) from stdin
                    """,
                    rows: fresh, write: Self.writeRow)
            }
            if !moves.isEmpty {
                // One statement for every partition: one round trip a batch, not one a partition.
                let sorted = moves.sorted { $0.key < $1.key }
                try connection.execute(
                    """
                    insert into tessera.consumer_offsets (consumer_group, topic, partition, next_offset)
                    select $1, $2, p, o from unnest($3::int[], $4::bigint[]) as moved(p, o)
                    on conflict (consumer_group, topic, partition) do update set next_offset = excluded.next_offset, updated_at = now()
                    """,
                    [group, topic, postgresArrayLiteral(sorted.map { String($0.key) }), postgresArrayLiteral(sorted.map { String($0.value) })])
            }
            return WriteResult(written: fresh.count, nextOffsets: stored.merging(moves) { _, new in new })
        }
    }

    private func ensurePartitions(for events: [LoggedEvent], on connection: PostgresConnection) throws {
        let days = Set(events.map { TileMath.floorDiv($0.event.timestampMs, 86_400_000) }).subtracting(knownDays)
        guard let first = days.min(), let last = days.max() else { return }
        try connection.execute(
            "select tessera.ensure_event_partitions($1::date, $2::date)",
            [Self.dayText(first), Self.dayText(last)])
        knownDays.formUnion(first...last)
    }

    static func dayText(_ day: Int64) -> String {
        String(RFC3339.string(epochMilliseconds: day * 86_400_000).prefix(10))
    }

    /// One event's row, in the column order of the COPY above.
    public static func writeRow(_ logged: LoggedEvent, to row: inout CopyTextWriter) {
        let event = logged.event
        row.field(event.eventID)
        row.field(event.type.rawValue)
        row.field(verbatim: { RFC3339.append(epochMilliseconds: event.timestampMs, to: &$0) })
        row.field(event.userID)
        row.field(event.productID)
        row.field(event.sessionID)
        row.field(event.query)
        row.field(event.position)
        row.field(event.price)
        row.field(event.quantity)
        // The decoder accepted the message, so it is JSON; bytes that are not UTF-8 are
        // repaired by `String` (PostgreSQL would refuse the whole COPY for them).
        if logged.payload.allSatisfy({ $0 < 0x80 }) {
            logged.payload.withUnsafeBytes { row.field(utf8: $0) }
        } else {
            row.field(String(decoding: logged.payload, as: UTF8.self))
        }
        row.field(Int64(logged.partition))
        row.field(logged.offset)
    }
}
