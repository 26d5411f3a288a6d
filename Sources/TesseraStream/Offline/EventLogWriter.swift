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
    /// `tessera_event_log_paused`: 1 while the partitions are paused for a failing PostgreSQL.
    private let pausedGauge = Gauge(label: "tessera_event_log_paused")

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
            if isPaused { try resumePartitions() }
            let messages = try consumer.poll(maxMessages: settings.batchMaxEvents, timeoutMs: Int32(settings.batchMaxWaitMs))
            guard !messages.isEmpty else { return 0 }
            pending = messages
        } else if isPaused {
            try keepGroupMembership()
        }
        guard let messages = pending else { return 0 }
        do {
            return try write(messages)
        } catch {
            // Still pending: PostgreSQL did not take it (a failed Kafka commit clears it).
            if pending != nil { pauseUntilWritten() }
            throw error
        }
    }

    /// True while the partitions are paused for a batch PostgreSQL has not taken yet.
    public private(set) var isPaused = false

    private func pauseUntilWritten() {
        guard !isPaused else { return }
        do {
            try consumer.pause(consumer.assignment)
        } catch {
            // Unpaused, the retries still poll; fetching goes on meanwhile, as before pausing existed.
            logger.warning("event log could not pause its partitions", metadata: ["error": "\(error)"])
            return
        }
        isPaused = true
        pausedGauge.record(1)
        logger.warning("event log paused its partitions until PostgreSQL takes the batch", metadata: ["messages": "\(pending?.count ?? 0)"])
    }

    private func resumePartitions() throws {
        try consumer.resume(consumer.pausedPartitions)
        isPaused = false
        pausedGauge.record(0)
        logger.info("event log resumed its partitions: PostgreSQL took the batch")
    }

    /// A poll between retries keeps the group's session (librdkafka leaves the group when
    /// the application stops polling). The whole assignment is paused again first, so
    /// partitions assigned meanwhile (a rebalance may clear the flag) stay paused too; what
    /// was fetched before the pause joins the pending batch, in order.
    private func keepGroupMembership() throws {
        try consumer.pause(consumer.assignment)
        let fetched = try consumer.poll(maxMessages: settings.batchMaxEvents, timeoutMs: 0)
        pending?.append(contentsOf: fetched)
    }

    private func write(_ messages: [KafkaMessage]) throws -> Int {
        if needsOffsetReload {
            storedOffsets = try database.storedOffsets(group: settings.consumerGroup, topic: settings.topic)
            needsOffsetReload = false
        }

        let nowMs = clock()
        var rows: [LoggedEvent] = []
        var nextOffsets: [Int32: Int64] = [:]
        for message in messages where message.offset >= storedOffsets[message.partition, default: 0] {
            nextOffsets[message.partition] = message.offset + 1
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

        var commit: [TopicPartition: Int64] = [:]
        for message in messages {
            commit[TopicPartition(topic: message.topic, partition: message.partition)] = message.offset + 1
        }
        // PostgreSQL holds the truth now (and the rows count as logged); a failed Kafka
        // commit only means a replay that the stored offsets filter out.
        pending = nil
        status.recordLogged(written)
        try consumer.commit(commit)
        return written
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
