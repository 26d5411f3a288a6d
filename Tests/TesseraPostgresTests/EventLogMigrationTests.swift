import Foundation
import Synchronization
import Testing
import TesseraPostgres

/// The repository's real migrations, applied to schema `tessera` of the test database.
/// Migrating is idempotent, so every test here starts with it; each test then uses days
/// and event ids of its own and removes them.
@Suite struct EventLogMigrationTests {
    static func migratedConnection() throws -> PostgresConnection {
        let connection = try TestDatabase.connect()
        try Migrator(directory: TestDatabase.migrationsDirectory).migrate(on: connection)
        return connection
    }

    @Test func migratingTwiceIsHarmless() throws {
        let connection = try Self.migratedConnection()
        let migrator = try Migrator(directory: TestDatabase.migrationsDirectory)
        #expect(try migrator.migrate(on: connection).isEmpty)
        try migrator.requireUpToDate(on: connection)
        #expect(try migrator.applied(on: connection)[1] == migrator.migrations[0].checksum)
        for table in ["tessera.events", "tessera.events_default", "tessera.consumer_offsets", "tessera.schema_migrations"] {
            #expect(existingRelation(table, on: connection) != nil, "\(table)")
        }
    }

    @Test func ensureEventPartitionsCreatesMissingDaysOnce() throws {
        let connection = try Self.migratedConnection()
        let start = TestDay.unique()
        let (first, last) = (start.text, start.plus(2).text)
        let names = (0...2).map { start.plus($0).partition }
        defer { names.forEach { name in _ = try? connection.execute("drop table if exists \(name)") } }

        let created = try connection.execute("select tessera.ensure_event_partitions($1, $2)", [first, last]).rows
        #expect(created == [["3"]])
        #expect(try connection.execute("select tessera.ensure_event_partitions($1, $2)", [first, last]).rows == [["0"]])
        for name in names { #expect(existingRelation(name, on: connection) == name) }

        let reversed = try #require(throws: PostgresError.self) {
            try connection.execute("select tessera.ensure_event_partitions($1, $2)", [last, first])
        }
        #expect(reversed.sqlState == "22023")
    }

    @Test func concurrentCallersCreateEachPartitionOnce() throws {
        let start = TestDay.unique()
        let days = (0..<5).map { start.plus($0) }
        let url = try TestDatabase.url
        _ = try Self.migratedConnection()
        defer {
            let connection = try? TestDatabase.connect()
            days.forEach { day in _ = try? connection?.execute("drop table if exists \(day.partition)") }
        }

        let totals = CreatedCounts()
        let finished = DispatchGroup()
        for _ in 0..<4 {
            finished.enter()
            Thread {
                let outcome = Result {
                    try PostgresConnection(url: url)
                        .execute("select tessera.ensure_event_partitions($1, $2)", [days[0].text, days[4].text]).rows[0][0]
                        .flatMap { Int($0) } ?? -1
                }
                totals.list.withLock { $0.append(outcome) }
                finished.leave()
            }.start()
        }
        finished.wait()
        let created = try totals.list.withLock { try $0.map { try $0.get() } }
        #expect(created.reduce(0, +) == days.count)
    }

    @Test func copiedEventsLandInTheirUTCDayPartition() throws {
        let connection = try Self.migratedConnection()
        let start = TestDay.unique()
        let (day, nextDay, strayDay) = (start.text, start.plus(1).text, start.plus(9).text)
        let prefix = TestDatabase.uniqueName("event")
        defer {
            _ = try? connection.execute("delete from tessera.events where event_id like $1", [prefix + "%"])
            for partition in [start, start.plus(1), start.plus(9)].map(\.partition) {
                _ = try? connection.execute("drop table if exists \(partition)")
            }
        }
        // Day boundaries are UTC whatever the session's time zone.
        try connection.execute("set time zone 'America/Los_Angeles'")
        try connection.execute("select tessera.ensure_event_partitions($1, $2)", [day, nextDay])

        let columns = "event_id, event_type, event_time, user_id, product_id, session_id, query, position, price, quantity, payload, source_partition, source_offset"
        let payload = #"{"event_id": "x", "unknown_field": "kept\ttab"}"#
        let rows: [[String?]] = [
            ["\(prefix)-late", "click", "\(day)T23:59:59.999Z", "u-1", "p-1", "s-1", "running shoes", "3", "59.9", "1", payload, "2", "100"],
            ["\(prefix)-next", "view", "\(nextDay)T00:00:00Z", "u-1", "p-2", nil, nil, nil, nil, "1", "{}", "2", "101"],
            ["\(prefix)-stray", "purchase", "\(strayDay)T12:00:00+02:00", "u-2", "p-1", nil, nil, nil, "10", "2", "{}", "3", "7"],
        ]
        #expect(try connection.copyIn("copy tessera.events (\(columns)) from stdin", rows: rows) == 3)

        let placement = { () throws -> [[String?]] in
            try connection.execute(
                """
                select e.event_id, n.nspname || '.' || c.relname from tessera.events e
                join pg_class c on c.oid = e.tableoid join pg_namespace n on n.oid = c.relnamespace
                where e.event_id like $1 order by e.event_id
                """,
                [prefix + "%"]).rows
        }
        #expect(try placement() == [
            ["\(prefix)-late", start.partition],
            ["\(prefix)-next", start.plus(1).partition],
            ["\(prefix)-stray", "tessera.events_default"],
        ])
        let stored = try connection.execute("select payload->>'unknown_field', quantity, ingested_at is not null from tessera.events where event_id = $1", ["\(prefix)-late"])
        #expect(stored.rows == [["kept\ttab", "1", "t"]])

        // Creating the stray row's day moves it out of the default partition.
        #expect(try connection.execute("select tessera.ensure_event_partitions($1, $1)", [strayDay]).rows == [["1"]])
        #expect(try placement().last == ["\(prefix)-stray", start.plus(9).partition])
    }

    /// The offline writer's guarantee: the events and the consumer offset commit together or not at all.
    @Test func eventsAndTheirOffsetCommitTogether() throws {
        let connection = try Self.migratedConnection()
        let group = TestDatabase.uniqueName("group")
        let prefix = TestDatabase.uniqueName("event")
        defer {
            _ = try? connection.execute("delete from tessera.consumer_offsets where consumer_group = $1", [group])
            _ = try? connection.execute("delete from tessera.events where event_id like $1", [prefix + "%"])
        }
        let row: [String?] = ["\(prefix)-1", "view", "2026-11-21T10:15:30.120Z", "u", "p", nil, nil, nil, nil, "1", "{}", "0", "41"]
        let copy = "copy tessera.events (event_id, event_type, event_time, user_id, product_id, session_id, query, position, price, quantity, payload, source_partition, source_offset) from stdin"
        let saveOffset = """
            insert into tessera.consumer_offsets (consumer_group, topic, partition, next_offset) values ($1, 'clickstream', 0, $2)
            on conflict (consumer_group, topic, partition) do update set next_offset = excluded.next_offset, updated_at = now()
            """

        #expect(throws: ExpectedFailure.self) {
            try connection.transaction {
                try connection.copyIn(copy, rows: [row])
                try connection.execute(saveOffset, [group, "42"])
                throw ExpectedFailure()  // a crash before COMMIT
            }
        }
        #expect(try connection.execute("select count(*) from tessera.events where event_id like $1", [prefix + "%"]).rows == [["0"]])
        #expect(try connection.execute("select count(*) from tessera.consumer_offsets where consumer_group = $1", [group]).rows == [["0"]])

        try connection.transaction {
            try connection.copyIn(copy, rows: [row])
            try connection.execute(saveOffset, [group, "42"])
        }
        #expect(try connection.execute("select next_offset from tessera.consumer_offsets where consumer_group = $1", [group]).rows == [["42"]])
    }

    /// Partitions created by each thread.
    final class CreatedCounts: Sendable {
        let list = Mutex<[Result<Int, any Error>]>([])
    }
}

/// A UTC day far from today and from other tests' days (2100-01-01 plus up to ~270 years),
/// so tests own the partitions they create.
struct TestDay {
    let date: Date

    static func unique() -> TestDay {
        TestDay(date: Date(timeIntervalSince1970: 4_102_444_800 + Double(Int.random(in: 0..<100_000)) * 86_400))
    }

    func plus(_ days: Int) -> TestDay { TestDay(date: date.addingTimeInterval(Double(days) * 86_400)) }

    /// `2100-01-01`
    var text: String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withFullDate]
        return formatter.string(from: date)
    }

    var partition: String { "tessera.events_" + text.replacingOccurrences(of: "-", with: "") }
}
