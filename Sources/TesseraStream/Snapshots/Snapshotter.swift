import Foundation
import Logging
import TesseraCore
import TesseraRedis

/// Writes the vectors of the entities that changed since the last run to PostgreSQL
/// (`tessera.feature_snapshots`), with the time they were read: the history of what the
/// lookup API served.
///
/// Ingestion and the roller add every entity they write to the view's changed set. A run
/// takes the view's lease (several daemons take turns), renames the changed set to the
/// processing set (new changes go to a fresh set meanwhile), and then, a chunk at a time,
/// reads the members' vectors, writes them in one transaction, and only then removes the
/// members from the processing set. A crash or an outage leaves the rest in the processing
/// set, which the next run (here or in another daemon) finishes before taking new changes:
/// nothing is lost, and at worst one chunk is written twice (the same vector at two times,
/// which is still true history). Used from one thread.
public final class Snapshotter {
    public struct Settings: Sendable {
        /// Entities per MGET and per COPY transaction.
        public var chunkSize: Int
        /// How long a daemon may go without renewing its lease (renewed every chunk)
        /// before another daemon takes over its view.
        public var leaseMs: Int64

        public init(chunkSize: Int = 1_000, leaseMs: Int64 = 60_000) {
            self.chunkSize = chunkSize
            self.leaseMs = leaseMs
        }
    }

    /// What one run did, summed over the views.
    public struct Report: Sendable, Equatable {
        /// Rows written to PostgreSQL.
        public var written = 0
        /// Changed entities whose vector had expired from Redis.
        public var missing = 0
        /// Vectors written under another feature layout (another config version).
        public var otherLayout = 0
        public var undecodable = 0
        /// Views another daemon was snapshotting.
        public var leasedElsewhere = 0

        public init() {}
    }

    private let redis: RedisConnectionPool
    private let keyspace: RedisKeyspace
    private let views: [StreamView]
    private let database: OfflineDatabase
    private let settings: Settings
    /// Names this daemon in the leases.
    private let owner: String
    private let clock: @Sendable () -> Int64
    private let metrics = SnapshotMetrics()
    private let logger: Logger
    private let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }()

    public init(
        redisURL: RedisURL, keyspace: RedisKeyspace, catalog: FeatureCatalog, database: OfflineDatabase,
        settings: Settings = Settings(), clock: @escaping @Sendable () -> Int64, logger: Logger
    ) {
        self.redis = RedisConnectionPool(url: redisURL, maxIdle: 1)
        self.keyspace = keyspace
        self.views = catalog.streamViews
        self.database = database
        self.settings = settings
        self.owner = "\(ProcessInfo.processInfo.hostName)/\(ProcessInfo.processInfo.processIdentifier)/\(UUID().uuidString.prefix(8))"
        self.clock = clock
        self.logger = logger
    }

    /// Runs now and then every `intervalMs` until `shouldStop`, keeping
    /// `tessera_snapshot_age_seconds` current (counted from the start until a run succeeds).
    /// A failed run is logged and its entities wait in their sets for the next interval.
    public func runPeriodically(intervalMs: Int64, shouldStop: () -> Bool) {
        var lastSuccessMs = clock()
        var nextRunMs = lastSuccessMs
        while !shouldStop() {
            let nowMs = clock()
            if nowMs >= nextRunMs {
                do {
                    let report = try run(shouldStop: shouldStop)
                    lastSuccessMs = nowMs
                    logger.debug("snapshot written", metadata: [
                        "entities": "\(report.written)", "missing": "\(report.missing)", "other_layout": "\(report.otherLayout)",
                    ])
                } catch {
                    logger.error("snapshot failed; the changed entities are kept for the next run", metadata: [
                        "error": "\(error)", "retry_in_ms": "\(intervalMs)",
                    ])
                }
                nextRunMs = nowMs + intervalMs
            }
            metrics.recordAge(nowMs: clock(), lastSuccessMs: lastSuccessMs)
            // Short naps, so a shutdown is noticed within a second.
            Thread.sleep(forTimeInterval: Double(min(1_000, max(1, nextRunMs - clock()))) / 1_000)
        }
    }

    /// Snapshots every view. Stops between chunks once `shouldStop` says so (what is left
    /// stays in the processing set for the next run). Throws on a Redis or PostgreSQL
    /// failure; the unwritten entities stay in their sets for the next run.
    @discardableResult
    public func run(shouldStop: () -> Bool = { false }) throws -> Report {
        var report = Report()
        do {
            try redis.withConnection { connection in
                for view in views where !shouldStop() {
                    try snapshot(view, on: connection, report: &report, shouldStop: shouldStop)
                }
            }
        } catch {
            metrics.recordFailure()
            metrics.record(report)
            throw error
        }
        metrics.record(report)
        return report
    }

    private func snapshot(_ view: StreamView, on connection: RedisConnection, report: inout Report, shouldStop: () -> Bool) throws {
        let leaseKey = keyspace.snapshotLeaseKey(view: view.name)
        guard try holdLease(leaseKey, on: connection) else {
            report.leasedElsewhere += 1
            return
        }
        defer { _ = try? connection.send(["EVAL", Self.releaseLease, "1", leaseKey, owner]) }

        let changed = keyspace.changedKey(view: view.name)
        let processing = keyspace.snapshotProcessingKey(view: view.name)
        // A leftover processing set (a crash, an outage) first, then the changes since.
        while !shouldStop() {
            let rotation = try integer(connection.send(["EVAL", Self.rotate, "2", changed, processing]), "taking the changed set")
            if rotation == Self.nothingChanged { return }
            if rotation == Self.leftover {
                logger.info("finishing a snapshot an earlier run left unfinished", metadata: ["view": "\(view.name)"])
            }
            guard try drain(view, processing: processing, leaseKey: leaseKey, on: connection, report: &report, shouldStop: shouldStop)
            else { return }
            if rotation == Self.tookChanges { return }
        }
    }

    /// Writes the processing set's members a chunk at a time; false when it stopped early
    /// (shutdown, or the lease went to another daemon, which carries on with the set).
    private func drain(
        _ view: StreamView, processing: String, leaseKey: String, on connection: RedisConnection,
        report: inout Report, shouldStop: () -> Bool
    ) throws -> Bool {
        while true {
            if shouldStop() { return false }
            guard try holdLease(leaseKey, on: connection) else {
                logger.warning("snapshot lease lost to another daemon", metadata: ["view": "\(view.name)"])
                return false
            }
            // Distinct members; written ones leave the set, so the next call sees the rest.
            let reply = try connection.send(["SRANDMEMBER", processing, String(settings.chunkSize)])
            if let message = reply.errorMessage { throw RedisError("reading \(processing): \(message)") }
            let members = (reply.array ?? []).compactMap(\.string)
            if members.isEmpty { return true }

            let entities = members.map(EntityKey.init(encoded:))
            let asOfMs = clock()
            let vectors = try connection.send(["MGET"] + entities.map { keyspace.vectorKey(view: view.name, entity: $0) })
            if let message = vectors.errorMessage { throw RedisError("reading vectors of \(view.name): \(message)") }
            var rows: [SnapshotRow] = []
            rows.reserveCapacity(entities.count)
            for (entity, vectorReply) in zip(entities, vectors.array ?? []) {
                if let row = try snapshotRow(view, entity: entity, vector: vectorReply, asOfMs: asOfMs, report: &report) { rows.append(row) }
            }
            try database.writeSnapshots(rows)
            report.written += rows.count
            let removed = try connection.send(["SREM", processing] + members)
            if let message = removed.errorMessage { throw RedisError("removing snapshotted entities from \(processing): \(message)") }
        }
    }

    /// The row for one vector, or nil (counted) when there is nothing this build can write.
    private func snapshotRow(
        _ view: StreamView, entity: EntityKey, vector reply: RedisReply, asOfMs: Int64, report: inout Report
    ) throws -> SnapshotRow? {
        guard case .bytes(let bytes) = reply else {
            report.missing += 1
            return nil
        }
        guard let vector = try? FeatureVector(decoding: bytes) else {
            report.undecodable += 1
            return nil
        }
        guard vector.layoutFingerprint == view.layoutFingerprint, vector.values.count == view.features.count else {
            report.otherLayout += 1
            return nil
        }
        var keys: [String: String] = [:]
        for (field, value) in zip(view.entity.joinKeys, entity.values) { keys[field.rawValue] = value }
        var features: [String: Double?] = [:]
        for (feature, value) in zip(view.features, vector.values) {
            // NaN is "no value" online; JSON has no non-finite numbers. `.some`: keep the key.
            let stored: Double? = value.isFinite ? value : nil
            features[feature.name] = .some(stored)
        }
        return SnapshotRow(
            view: view.name, entityJSON: try json(keys), asOfMs: asOfMs, computedAtMs: vector.computedAtMs,
            newestEventMs: vector.newestEventMs, featuresJSON: try json(features))
    }

    private func json(_ value: some Encodable) throws -> String {
        String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    private func holdLease(_ key: String, on connection: RedisConnection) throws -> Bool {
        try integer(connection.send(["EVAL", Self.takeOrRenewLease, "1", key, owner, String(settings.leaseMs)]), "taking the snapshot lease") == 1
    }

    private func integer(_ reply: RedisReply, _ what: String) throws -> Int64 {
        guard let value = reply.integer else { throw RedisError("\(what): \(reply.errorMessage ?? "unexpected reply \(reply)")") }
        return value
    }

    // Small scripts sent whole with EVAL: they run once per chunk, not per event.

    /// KEYS[1] lease, ARGV owner, lease ms: 1 when the caller holds the lease now.
    static let takeOrRenewLease = """
        local holder = redis.call('GET', KEYS[1])
        if holder and holder ~= ARGV[1] then return 0 end
        redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
        return 1
        """

    /// KEYS[1] lease, ARGV owner: drops the lease if the caller still holds it.
    static let releaseLease = """
        if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
        return 0
        """

    static let tookChanges: Int64 = 1
    static let leftover: Int64 = 0
    static let nothingChanged: Int64 = -1

    /// KEYS[1] changed, KEYS[2] processing. Never renames over a leftover processing set.
    static let rotate = """
        if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
        if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
        redis.call('RENAME', KEYS[1], KEYS[2])
        return 1
        """
}
