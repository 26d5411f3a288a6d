import Logging
import Metrics
import TesseraCore
import TesseraKafka
import TesseraPostgres

/// The offline path for one consumer: every valid event goes into `tessera.events` with
/// COPY, and the consumer's next offsets into `tessera.consumer_offsets`, in one
/// PostgreSQL transaction; Kafka offsets are committed only after it. Messages at or
/// below an offset PostgreSQL already holds are skipped, so a replay after a crash
/// between the two commits writes nothing twice. While PostgreSQL fails, the consumer's
/// partitions are paused and every retry polls first, so the group keeps them past
/// `max.poll.interval.ms` without fetching more; they resume once a batch is written.
/// Runs on one thread; not thread-safe.
public final class EventLogWriter {
    public struct Settings: Sendable {
        public var topic: String
        public var consumerGroup: String
        public var batchMaxEvents: Int
        public var batchMaxWaitMs: Int64
        public var decoder: EventDecoder
        /// Where the path's metrics go: the process's metrics system unless a test gives its own.
        public var metrics: any MetricsFactory = MetricsSystem.factory

        public init(topic: String, consumerGroup: String, batchMaxEvents: Int, batchMaxWaitMs: Int64, decoder: EventDecoder) {
            self.topic = topic
            self.consumerGroup = consumerGroup
            self.batchMaxEvents = batchMaxEvents
            self.batchMaxWaitMs = batchMaxWaitMs
            self.decoder = decoder
        }
    }

    private let consumer: KafkaConsumer
    private let database: OfflineDatabase
    private let settings: Settings
    private let clock: @Sendable () -> Int64
    private let status: IngestionStatus
    private let logger: Logger
    /// Next offset to write per partition, as PostgreSQL has it; reloaded on every assignment.
    private var storedOffsets: [Int32: Int64] = [:]
    private var needsOffsetReload = true
    private var pending: [KafkaMessage]?
    private var lagGauges: [TopicPartition: Gauge] = [:]
    /// `tessera_event_log_messages_total{outcome}`: every committed message, once: `logged`
    /// (a new row), `invalid` (not logged; the online path dead-letters it) or `already_logged`
    /// (a replay of what PostgreSQL holds).
    private let messagesLogged, messagesInvalid, messagesAlreadyLogged: Counter
    /// Pauses the partitions while PostgreSQL refuses the batch (`tessera_event_log_paused`).
    private let retryPause: RetryPause

    public init(
        consumer: KafkaConsumer, database: OfflineDatabase, settings: Settings, clock: @escaping @Sendable () -> Int64,
        status: IngestionStatus, logger: Logger
    ) {
        self.consumer = consumer
        self.database = database
        self.settings = settings
        self.clock = clock
        self.status = status
        self.logger = logger
        func messages(_ outcome: String) -> Counter {
            Counter(label: "tessera_event_log_messages_total", dimensions: [("outcome", outcome)], factory: settings.metrics)
        }
        (messagesLogged, messagesInvalid, messagesAlreadyLogged) = (messages("logged"), messages("invalid"), messages("already_logged"))
        retryPause = RetryPause(consumer: consumer, path: "event log", store: "PostgreSQL", gaugeLabel: "tessera_event_log_paused", metrics: settings.metrics, logger: logger)
        consumer.onAssign = { [weak self] _ in self?.needsOffsetReload = true }
    }

    /// True while a batch failed part-way and waits for its retry.
    public var hasPendingBatch: Bool { pending != nil }

    /// Writes one batch: the pending one if an earlier attempt failed, else a newly polled
    /// one. Returns how many events were written. Throws when PostgreSQL or the commit
    /// fails; the batch is kept and retried (a failed transaction wrote nothing).
    @discardableResult
    public func processBatch() throws -> Int {
        if pending == nil {
            try retryPause.resume()
            let messages = try consumer.poll(maxMessages: settings.batchMaxEvents, timeoutMs: Int32(settings.batchMaxWaitMs))
            guard !messages.isEmpty else { return 0 }
            pending = messages
        } else if retryPause.isPaused {
            // What was fetched before the pause joins the pending batch, in order.
            pending?.append(contentsOf: try retryPause.keepGroupMembership(maxMessages: settings.batchMaxEvents))
        }
        guard let messages = pending else { return 0 }
        do {
            return try write(messages)
        } catch {
            // Still pending: PostgreSQL did not take it (a failed Kafka commit clears it).
            if let pending { retryPause.pause(pendingMessages: pending.count) }
            throw error
        }
    }

    /// True while the partitions are paused for a batch PostgreSQL has not taken yet.
    public var isPaused: Bool { retryPause.isPaused }

    private func write(_ messages: [KafkaMessage]) throws -> Int {
        if needsOffsetReload {
            storedOffsets = try database.storedOffsets(group: settings.consumerGroup, topic: settings.topic)
            needsOffsetReload = false
        }

        let nowMs = clock()
        var rows: [LoggedEvent] = []
        var nextOffsets: [Int32: Int64] = [:]
        var newMessages = 0
        // Past what PostgreSQL holds and past what this batch has taken: a partition revoked
        // and assigned again during a pause can hand the same messages over twice.
        for message in messages where message.offset >= max(storedOffsets[message.partition, default: 0], nextOffsets[message.partition, default: 0]) {
            nextOffsets[message.partition] = message.offset + 1
            newMessages += 1
            // Rejected events live on the dead-letter topic, which the online path writes.
            if case .success(let event) = settings.decoder.decode(message.value, nowMs: nowMs) {
                rows.append(LoggedEvent(event: event, payload: message.value, partition: message.partition, offset: message.offset))
            }
        }
        var written = 0
        if !nextOffsets.isEmpty {
            let result = try database.write(rows, nextOffsets: nextOffsets, group: settings.consumerGroup, topic: settings.topic)
            written = result.written
            storedOffsets = result.nextOffsets
        }
        // Rows another writer appended first (a rebalance) count as already logged.
        messagesLogged.increment(by: written)
        messagesInvalid.increment(by: newMessages - rows.count)
        messagesAlreadyLogged.increment(by: messages.count - newMessages + rows.count - written)

        let commit = messages.nextOffsets
        // PostgreSQL holds the truth now (and the rows count as logged); a failed Kafka
        // commit only means a replay that the stored offsets filter out.
        pending = nil
        status.recordLogged(written)
        try consumer.commitStoredBatch(commit, path: "offline", logger: logger)
        for (partition, next) in commit {
            if let high = consumer.highWatermark(partition) { lagGauge(partition).record(max(0, high - next)) }
        }
        return written
    }

    /// `tessera_event_log_lag_messages{partition}`: messages the log is behind the topic.
    private func lagGauge(_ partition: TopicPartition) -> Gauge {
        if let gauge = lagGauges[partition] { return gauge }
        let gauge = Gauge(label: "tessera_event_log_lag_messages", dimensions: [("partition", String(partition.partition))], factory: settings.metrics)
        lagGauges[partition] = gauge
        return gauge
    }
}

/// One valid event as the offline log stores it.
public struct LoggedEvent: Sendable {
    public var event: ClickEvent
    /// The original message bytes: unknown fields are kept offline.
    public var payload: [UInt8]
    public var partition: Int32
    public var offset: Int64

    public init(event: ClickEvent, payload: [UInt8], partition: Int32, offset: Int64) {
        self.event = event
        self.payload = payload
        self.partition = partition
        self.offset = offset
    }
}
