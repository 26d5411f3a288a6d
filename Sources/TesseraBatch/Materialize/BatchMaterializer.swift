import TesseraCore
import TesseraPostgres
import TesseraRedis

/// Copies the latest source row per entity of batch views into Redis, incrementally:
///
/// 1. read the view's watermark (PostgreSQL), unless `--since` gives the start;
/// 2. in one read-only transaction, page through the latest row per entity among the rows
///    at or after watermark − lookback (a cursor, so memory stays bounded);
/// 3. per page, one Redis pipeline of write-script calls, which refuse to replace a vector
///    from a newer row;
/// 4. move the watermark to the newest timestamp read, once everything is in Redis.
///
/// A crash anywhere repeats work on the next run and loses none. Owns one PostgreSQL and
/// one Redis connection, reconnecting after failures; used from one thread at a time.
public final class BatchMaterializer {
    private let postgresURL: String
    private let redisURL: RedisURL
    public let keyspace: RedisKeyspace
    private let clock: @Sendable () -> Int64
    private var postgres: PostgresConnection?
    private var redis: RedisConnection?
    private var scriptSHA: String?
    /// Rows per cursor page and per Redis pipeline.
    var pageSize = 2_000

    public init(postgresURL: String, redisURL: RedisURL, keyspace: RedisKeyspace, clock: @escaping @Sendable () -> Int64) {
        self.postgresURL = postgresURL
        self.redisURL = redisURL
        self.keyspace = keyspace
        self.clock = clock
    }

    /// One run of one view. `sinceUs` reads rows at or after it instead of after the
    /// watermark; the watermark then moves only if that start was at or before it (else
    /// rows between the two would be skipped for good).
    public func run(_ view: BatchView, sinceUs: Int64? = nil) throws -> MaterializeReport {
        let started = clock()
        do {
            let connection = try connectedPostgres()
            let watermarks = WatermarkTable(connection: connection)
            let previous = try watermarks.watermarkUs(of: view)
            let readFromUs = sinceUs ?? previous.map { $0 - view.lookbackMs * 1_000 }
            var report = MaterializeReport(
                view: view.name, rowsRead: 0, entitiesWritten: 0, entitiesKeptNewer: 0, rowsSkipped: 0,
                readFromUs: readFromUs, previousWatermarkUs: previous, watermarkUs: previous, durationMs: 0)

            let newestUs = try copyLatestRows(view, readFromUs: readFromUs, on: connection, into: &report)
            let coversEverythingUnread = sinceUs == nil || previous.map { sinceUs! <= $0 } == true
            if let newestUs, coversEverythingUnread {
                try watermarks.advance(view, toUs: newestUs)
                report.watermarkUs = max(previous ?? newestUs, newestUs)
            }
            report.durationMs = clock() - started
            return report
        } catch let error as PostgresError {
            // undefined_table, invalid_schema_name: the source is not there (yet).
            let missing = error.sqlState == "42P01" || error.sqlState == "3F000"
            throw MaterializeError(view: view.name, message: error.description, isMissingSource: missing)
        } catch let error as RedisError {
            throw MaterializeError(view: view.name, message: error.description, isMissingSource: false)
        }
    }

    /// Writes the latest row per entity to Redis; returns the newest source timestamp (µs) read.
    private func copyLatestRows(
        _ view: BatchView, readFromUs: Int64?, on connection: PostgresConnection, into report: inout MaterializeReport
    ) throws -> Int64? {
        let sql = BatchSourceSQL(view: view)
        let condition = readFromUs.map { "\(sql.timestamp) >= \(BatchSourceSQL.time(us: $0))" } ?? "true"
        var newestUs: Int64?
        try connection.transaction {
            try connection.execute("set transaction read only")
            try connection.execute("declare latest_rows no scroll cursor for \(sql.latestPerEntity(where: condition))")
            while true {
                let page = try connection.execute("fetch forward \(pageSize) from latest_rows").rows
                guard !page.isEmpty else { break }
                report.rowsRead = page[0][0].flatMap { Int($0) } ?? 0
                var vectors: [(key: String, vector: BatchVector)] = []
                vectors.reserveCapacity(page.count)
                let materializedAtMs = clock()
                for row in page {
                    let parsed = try parse(row, view: view)
                    newestUs = max(newestUs ?? parsed.timeUs, parsed.timeUs)
                    guard let entity = parsed.entity else {
                        report.rowsSkipped += 1
                        continue
                    }
                    let vector = BatchVector(
                        layoutFingerprint: view.layoutFingerprint, sourceTimeMs: TileMath.floorDiv(parsed.timeUs, 1_000),
                        materializedAtMs: materializedAtMs, values: parsed.values)
                    vectors.append((keyspace.vectorKey(view: view.name, entity: entity), vector))
                }
                let written = try write(vectors, view: view)
                report.entitiesWritten += written
                report.entitiesKeptNewer += vectors.count - written
            }
            try connection.execute("close latest_rows")
        }
        return newestUs
    }

    /// A row of `BatchSourceSQL.latestPerEntity`: rows_read, keys, ts_us, values.
    private func parse(_ row: [String?], view: BatchView) throws -> (entity: EntityKey?, timeUs: Int64, values: [BatchValue]) {
        let keyCount = view.entity.joinKeys.count
        guard row.count == 2 + keyCount + view.features.count, let timeUs = row[1 + keyCount].flatMap({ Int64($0) }) else {
            throw PostgresError(message: "unexpected row shape from the source of \(view.name)")
        }
        var keys: [String] = []
        for (field, value) in zip(view.entity.joinKeys, row[1...keyCount]) {
            // Lookups normalise queries the way events are; so must the stored keys.
            guard let value, let key = field == .query ? QueryNormalization.normalize(value) : value else {
                return (nil, timeUs, [])
            }
            keys.append(key)
        }
        let values = try zip(view.features, row[(2 + keyCount)...]).map { feature, text in
            guard let value = BatchValue(text: text, type: feature.type) else {
                throw PostgresError(message: "\(view.name).\(feature.name): cannot read '\(text ?? "")' as \(feature.type.rawValue)")
            }
            return value
        }
        return (EntityKey(values: keys), timeUs, values)
    }

    /// One pipeline of write-script calls; returns how many vectors were written.
    private func write(_ vectors: [(key: String, vector: BatchVector)], view: BatchView) throws -> Int {
        guard !vectors.isEmpty else { return 0 }
        let connection = try connectedRedis()
        func send() throws -> [RedisReply] {
            let sha = try loadedScript(on: connection)
            return try connection.pipeline(vectors.map { BatchWriteScript.command(sha: sha, key: $0.key, vector: $0.vector, view: view) })
        }
        var replies = try send()
        if replies.contains(where: RedisScript.isMissingScript) {
            // Redis restarted or flushed its scripts; the writes are idempotent, so send them all again.
            scriptSHA = nil
            replies = try send()
        }
        var written = 0
        for reply in replies {
            if let message = reply.errorMessage { throw RedisError("batch write script failed: \(message)") }
            guard let code = reply.integer else { throw RedisError("batch write script returned \(reply)") }
            written += Int(code)
        }
        return written
    }

    private func loadedScript(on connection: RedisConnection) throws -> String {
        if let scriptSHA { return scriptSHA }
        let sha = try BatchWriteScript.script.load(on: connection)
        scriptSHA = sha
        return sha
    }

    private func connectedPostgres() throws -> PostgresConnection {
        if let postgres, !postgres.isBroken { return postgres }
        postgres = nil
        let fresh = try PostgresConnection(url: postgresURL)
        try fresh.execute(BatchSourceSQL.sessionSetup)
        postgres = fresh
        return fresh
    }

    private func connectedRedis() throws -> RedisConnection {
        if let redis, !redis.isBroken { return redis }
        redis = nil
        scriptSHA = nil
        let fresh = try RedisConnection(url: redisURL)
        redis = fresh
        return fresh
    }
}
