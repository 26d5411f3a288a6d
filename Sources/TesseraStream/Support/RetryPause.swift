import Logging
import Metrics
import TesseraKafka

/// Holds a path's partitions paused while it retries a batch its store refused, so the
/// group keeps them past `max.poll.interval.ms` (librdkafka leaves the group when the
/// application stops polling) without fetching more. Each retry polls first; what that
/// poll returns was fetched before the pause took hold and is handed back, in order.
/// Used from the path's one thread.
final class RetryPause {
    private let consumer: KafkaConsumer
    private let logger: Logger
    /// What the log lines call the path and what it waits for ("event log", "PostgreSQL").
    private let path: String
    private let store: String
    /// 1 while paused.
    private let gauge: Gauge
    private(set) var isPaused = false

    init(consumer: KafkaConsumer, path: String, store: String, gaugeLabel: String, metrics: any MetricsFactory, logger: Logger) {
        self.consumer = consumer
        self.path = path
        self.store = store
        gauge = Gauge(label: gaugeLabel, factory: metrics)
        self.logger = logger
    }

    /// After a failed attempt: pauses the whole assignment, once.
    func pause(pendingMessages: Int) {
        guard !isPaused else { return }
        do {
            try consumer.pause(consumer.assignment)
        } catch {
            // Unpaused, the retries still poll; fetching goes on meanwhile, as before pausing existed.
            logger.warning("\(path) could not pause its partitions", metadata: ["error": "\(error)"])
            return
        }
        isPaused = true
        gauge.record(1)
        logger.warning("\(path) paused its partitions until \(store) takes the batch", metadata: ["messages": "\(pendingMessages)"])
    }

    /// Before a retry: pauses the assignment again (partitions assigned meanwhile, or a
    /// rebalance that cleared the flag, stay paused too) and polls without waiting.
    func keepGroupMembership(maxMessages: Int) throws -> [KafkaMessage] {
        try consumer.pause(consumer.assignment)
        return try consumer.poll(maxMessages: maxMessages, timeoutMs: 0)
    }

    /// Once the batch went through.
    func resume() throws {
        guard isPaused else { return }
        try consumer.resume(consumer.pausedPartitions)
        isPaused = false
        gauge.record(0)
        logger.info("\(path) resumed its partitions: \(store) took the batch")
    }
}
