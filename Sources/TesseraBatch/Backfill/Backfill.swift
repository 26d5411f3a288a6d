import Foundation
import Logging
import TesseraCore
import TesseraRedis
import TesseraStream

/// Recomputes tiles and vectors of stream views from `tessera.events` into Redis, chunk by
/// chunk, while the stream runs.
///
/// Why it neither loses nor double-counts stream updates: every entity's state carries, per
/// source partition, a fence (the last offset applied to it). A chunk reads the offset up to
/// which the log is complete in each partition (its cutoff), recomputes its entities from
/// the logged events up to the cutoffs, and writes each entity only if its fences are still
/// the ones it read and not past the cutoffs; the write sets the fences to the cutoffs, so
/// the stream later skips the events the backfill already counted and applies the rest.
/// An entity whose fence moved, or whose fence is ahead of the log, is recomputed again.
public final class Backfill {
    public struct Settings: Sendable {
        /// The offline log's consumer group and topic: where `tessera.consumer_offsets` says the log stands.
        public var offlineGroup: String
        public var topic: String
        public var futureToleranceMs: Int64
        /// How long a chunk keeps retrying entities whose fences moved or ran ahead of the log.
        public var retryBudgetMs: Int64 = 120_000

        public init(offlineGroup: String, topic: String, futureToleranceMs: Int64) {
            self.offlineGroup = offlineGroup
            self.topic = topic
            self.futureToleranceMs = futureToleranceMs
        }
    }

    /// Where a run stands, for progress bars and log lines.
    public struct Progress: Sendable {
        public var job: Int64
        public var chunksDone: Int
        public var chunksTotal: Int
        public var eventsDone: Int64
        public var eventsTotal: Int64
        public var entitiesWritten: Int64
        public var elapsedSeconds: Double
    }

    private let database: BatchDatabase
    private let store: OnlineStore
    private let catalog: FeatureCatalog
    private let settings: Settings
    private let clock: @Sendable () -> Int64
    private let logger: Logger
    private var planner = BackfillPlanner()

    public init(database: BatchDatabase, store: OnlineStore, catalog: FeatureCatalog, settings: Settings,
                clock: @escaping @Sendable () -> Int64, logger: Logger) {
        self.database = database
        self.store = store
        self.catalog = catalog
        self.settings = settings
        self.clock = clock
        self.logger = logger
    }

    /// Chunk size limits (tests use small ones to cut a few entities into several chunks).
    public func setChunkLimits(entities: Int, events: Int64) {
        planner.maxEntitiesPerChunk = entities
        planner.maxEventsPerChunk = events
    }

    /// The chunks a run would process, without writing anything.
    public func plan(_ request: BackfillRequest) throws -> BackfillPlan {
        try planner.plan(request, nowMs: clock(), database: database)
    }

    /// Runs the request: resumes the unfinished job that asked the same, or plans a new one.
    /// `shouldStop` is polled between chunks (SIGINT): the job is left resumable.
    public func run(_ request: BackfillRequest, shouldStop: () -> Bool = { false }, progress: (Progress) -> Void) throws -> BackfillJob {
        let jobs = BackfillJobs(database: database)
        guard !(try database.loggedThrough(group: settings.offlineGroup, topic: settings.topic)).isEmpty else {
            throw BackfillError("the event log has no offsets for group '\(settings.offlineGroup)' on topic '\(settings.topic)': "
                + "start `tessera serve` (its offline consumer fills tessera.events) before backfilling")
        }
        let id: Int64
        if let existing = try jobs.unfinished(matching: request) {
            id = existing
            logger.info("resuming backfill job \(id)")
        } else {
            id = try jobs.create(request, plan: plan(request))
        }
        guard try jobs.claim(id) else { throw BackfillError("backfill job \(id) is being run by another process") }

        let started = Date()
        var state = try jobs.job(id).map {
            Progress(job: id, chunksDone: $0.chunksDone, chunksTotal: $0.chunksTotal, eventsDone: $0.eventsDone, eventsTotal: 0,
                     entitiesWritten: $0.entitiesDone, elapsedSeconds: 0)
        } ?? Progress(job: id, chunksDone: 0, chunksTotal: 0, eventsDone: 0, eventsTotal: 0, entitiesWritten: 0, elapsedSeconds: 0)
        let pending = try jobs.pendingChunks(of: id)
        state.eventsTotal = state.eventsDone + pending.reduce(0) { $0 + $1.events }
        progress(state)
        do {
            for chunk in pending {
                if shouldStop() {
                    try jobs.finish(id, status: "interrupted")
                    return try jobs.job(id)!
                }
                guard let target = request.targets.first(where: { $0.view.name == chunk.view }) else {
                    throw BackfillError("job \(id) has a chunk of view '\(chunk.view)', which the request does not name")
                }
                let written = try rebuild(chunk, of: target, request: request)
                try jobs.markDone(job: id, chunk: chunk, entitiesWritten: written)
                state.chunksDone += 1
                state.eventsDone += chunk.events
                state.entitiesWritten += Int64(written)
                state.elapsedSeconds = Date().timeIntervalSince(started)
                progress(state)
            }
            try jobs.finish(id, status: "done")
        } catch {
            try? jobs.finish(id, status: "failed", error: "\(error)")
            throw error
        }
        return try jobs.job(id)!
    }

    /// Jobs newest first, for `tessera backfill status`.
    public static func jobs(in database: BatchDatabase, limit: Int = 20) throws -> [BackfillJob] {
        try BackfillJobs(database: database).list(limit: limit)
    }

    /// Recomputes and writes one chunk's entities; returns how many were written.
    func rebuild(_ chunk: BackfillPlan.Chunk, of target: BackfillRequest.Target, request: BackfillRequest) throws -> Int {
        var retrying: [EntityKey]? = nil  // nil: the chunk's whole key range
        var written = 0
        var attempt = 0
        let deadline = Date().addingTimeInterval(Double(settings.retryBudgetMs) / 1000)
        while true {
            let cutoffs = try database.loggedThrough(group: settings.offlineGroup, topic: settings.topic)
            let nowMs = clock()
            let query = RebuildQuery(target: target, fromMs: request.fromMs, toMs: request.toMs, nowMs: nowMs,
                                     futureToleranceMs: settings.futureToleranceMs)
            let (condition, parameters) = entityCondition(target.view, chunk: chunk, only: retrying)
            let rows = try database.execute(query.text(entityCondition: condition, cutoffs: cutoffs), parameters).rows
            let rebuilds = try query.rebuilds(from: rows, nowMs: nowMs)

            // Fences as they are now; an entity the stream has taken past the log waits for the log.
            let fences = try readFences(target.view, entities: rebuilds.map(\.entity), partitions: cutoffs.keys.sorted())
            var again: [EntityKey] = []
            var ready: [EntityRebuild] = []
            var behind: (partition: Int32, fence: Int64, logged: Int64)?
            for (index, var rebuild) in rebuilds.enumerated() {
                let entityFences = fences[index]
                if let ahead = entityFences.first(where: { partition, fence in fence.flatMap(Int64.init).map { $0 > cutoffs[partition]! } ?? false }) {
                    behind = (ahead.key, Int64(ahead.value!)!, cutoffs[ahead.key]!)
                    again.append(rebuild.entity)
                    continue
                }
                rebuild.fences = cutoffs.sorted { $0.key < $1.key }.map { .init(partition: $0.key, expected: entityFences[$0.key] ?? nil, cutoff: $0.value) }
                ready.append(rebuild)
            }
            for (rebuild, outcome) in zip(ready, try store.rebuild(view: target.view.name, ready, nowMs: nowMs)) {
                if outcome == .rebuilt { written += 1 } else { again.append(rebuild.entity) }
            }
            if again.isEmpty { return written }

            attempt += 1
            guard Date() < deadline else {
                if let behind {
                    throw BackfillError("the event log is behind the online store: partition \(behind.partition) is logged through offset "
                        + "\(behind.logged) but an entity's state is at \(behind.fence); is the offline consumer of `tessera serve` running?")
                }
                throw BackfillError("\(again.count) entities of \(target.view.name) kept changing while being rebuilt; run the backfill again")
            }
            logger.debug("rebuilding entities again", metadata: ["view": "\(target.view.name)", "entities": "\(again.count)", "attempt": "\(attempt)"])
            Thread.sleep(forTimeInterval: min(0.05 * Double(attempt), 1))
            retrying = again
        }
    }

    /// Fence values per entity and partition, as stored (nil = none).
    private func readFences(_ view: StreamView, entities: [EntityKey], partitions: [Int32]) throws -> [[Int32: String?]] {
        guard !entities.isEmpty, !partitions.isEmpty else { return entities.map { _ in [:] } }
        let fields = partitions.map(RedisKeyspace.fenceField)
        let replies = try store.run(entities.map { ["HMGET", store.keyspace.stateKey(view: view.name, entity: $0)] + fields })
        return try replies.map { reply in
            if let message = reply.errorMessage { throw RedisError("reading fences: \(message)") }
            let values = reply.array ?? []
            var fences: [Int32: String?] = [:]
            for (index, partition) in partitions.enumerated() { fences[partition] = index < values.count ? values[index].string : nil }
            return fences
        }
    }

    /// The chunk's key range, or just the listed entities.
    private func entityCondition(_ view: StreamView, chunk: BackfillPlan.Chunk, only entities: [EntityKey]?) -> (String, [String?]) {
        let columns = EventSQL(alias: "e").keyColumns(view.entity)
        let width = columns.count
        let tuple = width == 1 ? columns[0] : "(\(columns.joined(separator: ", ")))"
        func placeholders(_ start: Int) -> String {
            let list = (start..<start + width).map { "$\($0)::text" }.joined(separator: ", ")
            return width == 1 ? list : "(\(list))"
        }
        if let entities {
            let list = entities.indices.map { placeholders($0 * width + 1) }.joined(separator: ", ")
            return ("\(tuple) in (\(list))", entities.flatMap(\.values))
        }
        return ("\(tuple) >= \(placeholders(1)) and \(tuple) <= \(placeholders(width + 1))", chunk.firstKey.values + chunk.lastKey.values)
    }
}
