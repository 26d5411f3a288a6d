import Foundation
import Logging
import ServiceLifecycle
import TesseraCore
import TesseraKafka
import TesseraPostgres
import TesseraRedis

/// Runs the online path (ingestion into Redis) and the offline path (the event log in
/// PostgreSQL) as two consumer groups, each on a dedicated thread (librdkafka, hiredis and
/// libpq calls block), so a PostgreSQL outage never stalls online freshness and a Redis
/// outage never stalls the event log. On graceful shutdown each finishes its current batch,
/// commits, and leaves its group. The window roller runs on a thread of its own and stops
/// between ticks; so does the snapshotter (when snapshots are on), between chunks.
public struct StreamService: Service {
    private let config: ServiceConfig
    private let catalog: FeatureCatalog
    private let status: IngestionStatus
    private let clock: @Sendable () -> Int64
    private let logger: Logger
    /// The build's migrations: the offline side writes only to a database that has them.
    private let migrationsDirectory: String?

    public init(
        config: ServiceConfig, catalog: FeatureCatalog, status: IngestionStatus, migrationsDirectory: String? = nil,
        clock: @escaping @Sendable () -> Int64 = StreamService.wallClockMs, logger: Logger
    ) {
        self.config = config
        self.catalog = catalog
        self.status = status
        self.migrationsDirectory = migrationsDirectory
        self.clock = clock
        self.logger = logger
    }

    public static let wallClockMs: @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1_000) }

    /// Stops on graceful shutdown and on cancellation alike: a ServiceGroup cancels its
    /// services when one of them fails (the API's port taken, say), and threads do not see a
    /// task's cancellation, so without the flag the daemon would run on with no API.
    public func run() async throws {
        let stop = StopSignal()
        try await withTaskCancellationOrGracefulShutdownHandler {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await onThread("tessera-online") { try runOnline(stop: stop) } }
                group.addTask { try await onThread("tessera-roller") { try runRoller(stop: stop) } }
                if !config.postgresURL.isEmpty {
                    let members = config.ingest.offlineConsumers
                    for member in 1...members {
                        group.addTask {
                            try await onThread("tessera-log-\(member)", priority: .background) {
                                try runOffline(member: member, of: members, stop: stop)
                            }
                        }
                    }
                }
                if let intervalMs = config.snapshotIntervalMs {
                    group.addTask { try await onThread("tessera-snaps", priority: .background) { try runSnapshots(intervalMs: intervalMs, stop: stop) } }
                }
                // One path failing for good (e.g. a bad broker address) stops the daemon: the
                // other threads are told to stop, and the group waits for them before it throws.
                do {
                    for try await _ in group {}
                } catch {
                    stop.raise()
                    throw error
                }
            }
        } onCancelOrGracefulShutdown: {
            stop.raise()
        }
    }

    private func runOnline(stop: StopSignal) throws {
        let consumer = try KafkaConsumer(
            brokers: config.kafka.brokers, groupID: config.kafka.consumerGroup, topics: [config.kafka.topic],
            settings: config.kafka.settings, logger: logger)
        let deadLetters = try KafkaProducer(
            brokers: config.kafka.brokers, settings: KafkaSettings.forProducer(config.kafka.settings), logger: logger)
        defer {
            consumer.close()
            deadLetters.close()
            status.setAssignedPartitions(0)
        }
        let store = try onlineStore()
        let pipeline = IngestionPipeline(
            consumer: consumer, deadLetters: deadLetters, store: store, catalog: catalog,
            settings: .init(
                deadLetterTopic: config.kafka.deadLetterTopic, batchMaxEvents: config.ingest.batchMaxEvents,
                batchMaxWaitMs: config.ingest.batchMaxWaitMs, decoder: decoder),
            clock: clock, status: status, logger: logger)

        logger.info("online ingestion started", metadata: ["topic": "\(config.kafka.topic)", "group": "\(config.kafka.consumerGroup)"])
        RetryLoop(path: "online", logger: logger).run(stop: stop, hasPendingWork: { pipeline.hasPendingBatch }) {
            pipeline.prefetchesNextBatch = !stop.isRaised
            let report = try pipeline.processBatch()
            if report.messages > 0 {
                logger.debug("batch committed", metadata: [
                    "messages": "\(report.messages)", "applied": "\(report.applied)", "dead_lettered": "\(report.deadLettered)",
                ])
            }
        }
        logger.info("online ingestion stopped", metadata: ["applied": "\(status.appliedEvents)"])
    }

    /// Every `roller.interval`, the windows of entities whose tiles left them slide
    /// (`WindowRoller`). Not on the online thread: a tile boundary can file thousands of
    /// entities, and recomputing 4,040 held the online path 2.1 s (docs/benchmarks.md). Its
    /// calls are atomic scripts like the online path's, as with several daemons' rollers.
    private func runRoller(stop: StopSignal) throws {
        let roller = WindowRoller(store: try onlineStore(), catalog: catalog, logger: logger)
        var nextTickMs: Int64 = 0
        RetryLoop(path: "roller", logger: logger).run(stop: stop, hasPendingWork: { false }) {
            let now = clock()
            if now >= nextTickMs {
                try roller.tick(nowMs: now)
                nextTickMs = now + config.rollerIntervalMs
            }
            // Short naps, so a shutdown is noticed within 100 ms.
            Thread.sleep(forTimeInterval: Double(min(100, max(1, nextTickMs - clock()))) / 1_000)
        }
    }

    /// The online store on a Redis connection of its own: one for each thread that uses it.
    private func onlineStore() throws -> OnlineStore {
        OnlineStore(
            url: try RedisURL(parsing: config.redis.url), keyspace: RedisKeyspace(prefix: config.redis.keyPrefix),
            catalog: catalog, futureToleranceMs: config.ingest.futureToleranceMs,
            tracksChanges: config.snapshotIntervalMs != nil, logger: logger)
    }

    /// One of the event log's consumers. They share the group's partitions, and each writes
    /// its own batches on its own PostgreSQL connection: one backend uses at most one core, and
    /// with one the log waited on it in a drain while a core idled (docs/benchmarks.md).
    private func runOffline(member: Int, of members: Int, stop: StopSignal) throws {
        let group = config.kafka.offlineConsumerGroup
        let consumer = try KafkaConsumer(
            brokers: config.kafka.brokers, groupID: group, topics: [config.kafka.topic],
            settings: KafkaSettings.forMember(member, of: members, config.kafka.settings), logger: logger)
        defer { consumer.close() }
        let writer = EventLogWriter(
            consumer: consumer, database: OfflineDatabase(url: config.postgresURL, migrationsDirectory: migrationsDirectory),
            settings: .init(
                topic: config.kafka.topic, consumerGroup: group, batchMaxEvents: config.ingest.offlineBatchMaxEvents,
                batchMaxWaitMs: config.ingest.batchMaxWaitMs, decoder: decoder),
            clock: clock, status: status, logger: logger)

        logger.info("event log started", metadata: ["topic": "\(config.kafka.topic)", "group": "\(group)", "member": "\(member)"])
        RetryLoop(path: "offline", logger: logger).run(stop: stop, hasPendingWork: { writer.hasPendingBatch }) {
            try writer.processBatch()
        }
        logger.info("event log stopped", metadata: ["member": "\(member)", "logged": "\(status.loggedEvents)"])
    }

    /// Every interval, the vectors that changed go to PostgreSQL (`Snapshotter`).
    private func runSnapshots(intervalMs: Int64, stop: StopSignal) throws {
        let snapshotter = Snapshotter(
            redisURL: try RedisURL(parsing: config.redis.url), keyspace: RedisKeyspace(prefix: config.redis.keyPrefix),
            catalog: catalog, database: OfflineDatabase(url: config.postgresURL, migrationsDirectory: migrationsDirectory), clock: clock, logger: logger)
        logger.info("snapshots started", metadata: ["interval_ms": "\(intervalMs)"])
        snapshotter.runPeriodically(intervalMs: intervalMs, shouldStop: { stop.isRaised })
        logger.info("snapshots stopped")
    }

    private var decoder: EventDecoder {
        EventDecoder(maxBytes: config.ingest.maxEventBytes, futureToleranceMs: config.ingest.futureToleranceMs)
    }
}

/// Repeats one step until shutdown, retrying failures with capped exponential backoff
/// and jitter. Stops only between batches, and not while a polled batch is uncommitted
/// unless it keeps failing (then the next owner replays it, which stays exact).
struct RetryLoop {
    let path: String
    let logger: Logger
    var baseMs: Int64 = 50
    var capMs: Int64 = 5_000

    func run(stop: StopSignal, hasPendingWork: () -> Bool, step: () throws -> Void) {
        var failures = 0
        while !stop.isRaised || (hasPendingWork() && failures < 3) {
            do {
                try step()
                failures = 0
            } catch {
                failures += 1
                let ceiling = min(capMs, baseMs << min(failures, 16))
                let delay = Int64.random(in: ceiling / 2...ceiling)
                logger.error("\(path) step failed; retrying", metadata: ["error": "\(error)", "retry_in_ms": "\(delay)"])
                Thread.sleep(forTimeInterval: Double(delay) / 1_000)
            }
        }
    }
}
