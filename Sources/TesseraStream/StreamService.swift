import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import TesseraCore
import TesseraKafka
import TesseraRedis

/// Runs ingestion and the window roller on a dedicated thread (librdkafka and hiredis
/// calls block), as a swift-service-lifecycle service: on graceful shutdown it finishes
/// the current batch, commits, and leaves the consumer group.
public struct StreamService: Service {
    private let config: ServiceConfig
    private let catalog: FeatureCatalog
    private let status: IngestionStatus
    private let clock: @Sendable () -> Int64
    private let logger: Logger

    public init(
        config: ServiceConfig, catalog: FeatureCatalog, status: IngestionStatus,
        clock: @escaping @Sendable () -> Int64 = StreamService.wallClockMs, logger: Logger
    ) {
        self.config = config
        self.catalog = catalog
        self.status = status
        self.clock = clock
        self.logger = logger
    }

    public static let wallClockMs: @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1_000) }

    public func run() async throws {
        let stop = StopSignal()
        try await withGracefulShutdownHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, Error>) in
                let thread = Thread { [self] in
                    do {
                        try runLoop(stop: stop)
                        continuation.resume()
                    } catch {
                        continuation.resume(throwing: error)
                    }
                }
                thread.name = "tessera-ingest"
                thread.start()
            }
        } onGracefulShutdown: {
            stop.raise()
        }
    }

    private func runLoop(stop: StopSignal) throws {
        let consumer = try KafkaConsumer(
            brokers: config.kafka.brokers, groupID: config.kafka.consumerGroup, topics: [config.kafka.topic],
            settings: config.kafka.settings, logger: logger)
        let deadLetters = try KafkaProducer(brokers: config.kafka.brokers, settings: KafkaSettings.forProducer(config.kafka.settings), logger: logger)
        defer {
            consumer.close()
            deadLetters.close()
            status.setAssignedPartitions(0)
        }
        let store = OnlineStore(
            url: try RedisURL(parsing: config.redis.url), keyspace: RedisKeyspace(prefix: config.redis.keyPrefix),
            catalog: catalog, futureToleranceMs: config.ingest.futureToleranceMs, logger: logger)
        let pipeline = IngestionPipeline(
            consumer: consumer, deadLetters: deadLetters, store: store, catalog: catalog,
            settings: .init(
                deadLetterTopic: config.kafka.deadLetterTopic, batchMaxEvents: config.ingest.batchMaxEvents,
                batchMaxWaitMs: config.ingest.batchMaxWaitMs,
                decoder: EventDecoder(maxBytes: config.ingest.maxEventBytes, futureToleranceMs: config.ingest.futureToleranceMs)),
            clock: clock, status: status, logger: logger)
        let roller = WindowRoller(store: store, catalog: catalog, logger: logger)

        logger.info("ingestion started", metadata: ["topic": "\(config.kafka.topic)", "group": "\(config.kafka.consumerGroup)"])
        var backoff = RetryBackoff()
        var nextRollMs: Int64 = 0
        // Stop only between batches, and not while a polled batch is uncommitted unless
        // it keeps failing (then the next owner replays it; the fences keep that exact).
        while !stop.isRaised || (pipeline.hasPendingBatch && backoff.attempts < 3) {
            do {
                let report = try pipeline.processBatch()
                if report.messages > 0 {
                    logger.debug("batch committed", metadata: [
                        "messages": "\(report.messages)", "applied": "\(report.applied)", "dead_lettered": "\(report.deadLettered)",
                    ])
                }
                let now = clock()
                if now >= nextRollMs {
                    try roller.tick(nowMs: now)
                    nextRollMs = now + config.rollerIntervalMs
                }
                backoff.reset()
            } catch {
                let delay = backoff.next()
                logger.error("ingestion step failed; retrying", metadata: ["error": "\(error)", "retry_in_ms": "\(delay)"])
                Thread.sleep(forTimeInterval: Double(delay) / 1_000)
            }
        }
        logger.info("ingestion stopped", metadata: ["applied": "\(status.appliedEvents)"])
    }
}

/// A flag the shutdown handler raises and the ingestion thread reads between batches.
final class StopSignal: Sendable {
    private let raised = Atomic<Bool>(false)
    var isRaised: Bool { raised.load(ordering: .relaxed) }
    func raise() { raised.store(true, ordering: .relaxed) }
}

/// Exponential backoff with jitter, capped, for transient Redis and Kafka errors.
struct RetryBackoff {
    private(set) var attempts = 0
    var baseMs: Int64 = 50
    var capMs: Int64 = 5_000

    mutating func next() -> Int64 {
        attempts += 1
        let ceiling = min(capMs, baseMs << min(attempts, 16))
        return Int64.random(in: ceiling / 2...ceiling)
    }

    mutating func reset() { attempts = 0 }
}
