import TesseraCore
import TesseraPostgres

/// The batch commands' PostgreSQL connection: the event log, where the log stands, and
/// cursors for results too big to hold at once. Used from one thread.
public final class BatchDatabase {
    let connection: PostgresConnection

    public init(url: String) throws {
        connection = try PostgresConnection(url: url)
    }

    deinit { connection.close() }

    /// Refuses a database behind the build's migrations, naming `tessera migrate`.
    public func requireMigrations(in directory: String) throws {
        try Migrator(directory: directory).requireUpToDate(on: connection)
    }

    /// A timestamptz literal for epoch milliseconds, exact (no float rounding).
    static func timestamp(_ ms: Int64) -> String { "(timestamptz 'epoch' + \(ms) * interval '1 millisecond')" }

    @discardableResult
    func execute(_ sql: String, _ parameters: [String?] = []) throws -> PostgresConnection.Result {
        try connection.execute(sql, parameters)
    }

    /// Runs a query through a cursor, handing rows over in batches, so memory stays bounded.
    func forEachRow(of query: String, _ parameters: [String?] = [], batch: Int = 10_000, _ body: ([String?]) throws -> Void) throws {
        try connection.transaction {
            try connection.execute("declare tessera_rows no scroll cursor for \(query)", parameters)
            while true {
                let result = try connection.execute("fetch \(batch) from tessera_rows")
                for row in result.rows { try body(row) }
                if result.rows.count < batch { break }
            }
            try connection.execute("close tessera_rows")
        }
    }

    /// The last offset per partition the event log holds for this group and topic: the log
    /// has every valid event of the partition up to it (its writer commits offsets with rows).
    public func loggedThrough(group: String, topic: String) throws -> [Int32: Int64] {
        let result = try execute(
            "select partition, next_offset - 1 from tessera.consumer_offsets where consumer_group = $1 and topic = $2", [group, topic])
        var offsets: [Int32: Int64] = [:]
        for row in result.rows {
            if let partition = row[0].flatMap({ Int32($0) }), let last = row[1].flatMap({ Int64($0) }) { offsets[partition] = last }
        }
        return offsets
    }
}
