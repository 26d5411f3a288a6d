import Logging
import Metrics
import TesseraCore
import TesseraKafka
import TesseraRedis

/// The online path for one consumer: poll a batch, validate, dead-letter the bad,
/// fold the good into per-entity deltas, apply them to Redis behind offset fences, and
/// only then commit offsets. While a batch keeps failing (Redis down), the consumer's
/// partitions are paused and every retry polls first, so the group keeps them past
/// `max.poll.interval.ms`; they resume once the batch is through. While Redis works on a
/// batch, the next one is polled, validated and folded (`prefetched`), so the thread and
/// Redis work at the same time instead of in turn. Runs on one thread; not thread-safe.
public final class IngestionPipeline {
    public struct Settings: Sendable {
        public var deadLetterTopic: String
        public var batchMaxEvents: Int
        public var batchMaxWaitMs: Int64
        public var decoder: EventDecoder
        /// Where the path's metrics go: the process's metrics system unless a test gives its own.
        public var metrics: any MetricsFactory = MetricsSystem.factory
        /// Messages polled and validated at a time: a batch holds its raw payloads (most of
        /// its memory until validated) one part at a time, not all of `batchMaxEvents` at once.
        public var validationPart = 10_000

        public init(deadLetterTopic: String, batchMaxEvents: Int, batchMaxWaitMs: Int64, decoder: EventDecoder) {
            self.deadLetterTopic = deadLetterTopic
            self.batchMaxEvents = batchMaxEvents
            self.batchMaxWaitMs = batchMaxWaitMs
            self.decoder = decoder
        }
    }

    private let consumer: KafkaConsumer
    private let deadLetters: KafkaProducer
    private let store: OnlineStore
    private let folders: [TileFolder]
    private let settings: Settings
    private let clock: @Sendable () -> Int64
    private let status: IngestionStatus
    private let logger: Logger
    private var metrics: IngestionMetrics
    /// Pauses the partitions while a batch fails (`tessera_ingest_paused`).
    private let retryPause: RetryPause
    /// Messages a poll returned while paused (fetched before the pause took hold): the
    /// next batches, in order, before anything new is polled.
    private var deferred: [KafkaMessage] = []

    public init(
        consumer: KafkaConsumer, deadLetters: KafkaProducer, store: OnlineStore, catalog: FeatureCatalog,
        settings: Settings, clock: @escaping @Sendable () -> Int64, status: IngestionStatus, logger: Logger
    ) {
        self.consumer = consumer
        self.deadLetters = deadLetters
        self.store = store
        self.folders = catalog.streamViews.map(TileFolder.init(view:))
        self.settings = settings
        self.clock = clock
        self.status = status
        self.logger = logger
        metrics = IngestionMetrics(factory: settings.metrics)
        retryPause = RetryPause(consumer: consumer, path: "online ingestion", store: "Redis", gaugeLabel: "tessera_ingest_paused", metrics: settings.metrics, logger: logger)
        consumer.onAssign = { [status, consumer] _ in status.setAssignedPartitions(consumer.assignment.count) }
        consumer.onRevoke = { [status, consumer] _ in status.setAssignedPartitions(consumer.assignment.count) }
    }

    /// What one batch did.
    public struct BatchReport: Sendable, Equatable {
        public var messages = 0
        public var applied = 0
        public var deadLettered = 0
        public var ignoredTooOld = 0
    }

    /// A polled batch that has not been committed yet; kept across failures so a Redis or
    /// Kafka error retries the same messages from the failed step instead of skipping them.
    private struct PendingBatch {
        /// Emptied once validated: a held batch then needs only its offsets, and the payloads
        /// are most of its memory (two batches of up to `batch_max_events` are held at once).
        var messages: [KafkaMessage]
        /// What committing the batch stores (`nextOffsets` of its messages).
        private(set) var nextOffsets: [TopicPartition: Int64]
        var nowMs: Int64
        var events: [SourcedEvent]? = nil  // set once validated and the rejects sent to the dead-letter topic
        /// Rejects sent to the dead-letter topic and not yet confirmed by a flush: kept (they are
        /// few) so a failed flush can send them again.
        var deadLetters: [DeadLetter] = []
        /// Set when a flush failed: the letters may be lost, and go again before the next flush.
        var deadLettersNeedResending = false
        var folded: [TileFolder.Result]? = nil  // one per view, once folded
        var applied = false
        var report = BatchReport()

        init(messages: [KafkaMessage], nowMs: Int64) {
            self.messages = messages
            nextOffsets = messages.nextOffsets
            self.nowMs = nowMs
            report = BatchReport(messages: messages.count)
        }

        /// Adds messages validated into `events` and `deadLetters` to a batch that is validated too.
        mutating func append(validated messages: [KafkaMessage], events: [SourcedEvent], deadLetters: [DeadLetter]) {
            nextOffsets.merge(messages.nextOffsets, uniquingKeysWith: max)
            if self.events == nil { self.events = events } else { self.events!.append(contentsOf: events) }
            self.deadLetters += deadLetters
            report.messages += messages.count
            report.deadLettered += deadLetters.count
        }
    }

    private var pending: PendingBatch?
    /// Set when `pending` was polled as one full part: once validated, what the consumer
    /// already fetched joins it up to `batch_max_events`.
    private var topsUpPending = false
    /// The batch after `pending`, polled, validated and folded while Redis applied `pending`.
    private var prefetched: PendingBatch?

    /// True while a batch failed part-way and waits for its retry, or a prefetched one waits.
    public var hasPendingBatch: Bool { pending != nil || prefetched != nil }

    /// Whether the next batch is prepared while Redis applies one; off when stopping, so a
    /// graceful stop finishes what it holds without taking more.
    public var prefetchesNextBatch = true

    /// Processes one batch end to end: the pending one if an earlier attempt failed,
    /// else a newly polled one. Throws when Redis, the dead-letter topic or the commit
    /// fails; nothing is committed then and the next call retries from the failed step
    /// (what was already applied is fenced off in Redis; a dead letter may repeat).
    public func processBatch() throws -> BatchReport {
        if pending == nil {
            try retryPause.resume()
            if var next = prefetched {
                prefetched = nil
                // Folded at its poll. The roller has ticked since, and it takes boundaries up to
                // its grace back (`WindowRoller.defaultGraceMs`): a batch older than a second is
                // folded again at the current clock.
                let nowMs = clock()
                if nowMs - next.nowMs > 1_000 {
                    next.nowMs = nowMs
                    next.folded = nil
                }
                pending = next
            } else {
                let messages: [KafkaMessage]
                if deferred.isEmpty {
                    // One part now; the rest of the batch joins part by part once it is validated.
                    messages = try consumer.poll(maxMessages: min(settings.batchMaxEvents, settings.validationPart), timeoutMs: Int32(settings.batchMaxWaitMs))
                } else {
                    messages = Array(deferred.prefix(settings.batchMaxEvents))
                    deferred.removeFirst(messages.count)
                }
                guard !messages.isEmpty else { return BatchReport() }
                pending = PendingBatch(messages: messages, nowMs: clock())
                topsUpPending = messages.count == settings.validationPart
            }
        } else if retryPause.isPaused {
            let held = [pending?.nextOffsets ?? [:], prefetched?.nextOffsets ?? [:], deferred.nextOffsets]
                .reduce(into: [:]) { all, next in all.merge(next, uniquingKeysWith: max) }
            deferred += Self.notYetHeld(try retryPause.keepGroupMembership(maxMessages: settings.batchMaxEvents), held: held)
        }
        do {
            return try processPending()
        } catch {
            if let pending { retryPause.pause(pendingMessages: pending.report.messages) }
            throw error
        }
    }

    /// The messages at or past `held`, the offsets after what is held per partition. A
    /// partition revoked and assigned again during a pause is fetched again from its last
    /// commit, so a poll can repeat messages still waiting here; folded into one batch with
    /// their first copies, they would count twice under one fence.
    static func notYetHeld(_ messages: [KafkaMessage], held: [TopicPartition: Int64]) -> [KafkaMessage] {
        guard !messages.isEmpty else { return [] }
        var next = held
        return messages.filter { message in
            let partition = TopicPartition(topic: message.topic, partition: message.partition)
            guard message.offset >= next[partition] ?? 0 else { return false }
            next[partition] = message.offset + 1
            return true
        }
    }

    /// True while the partitions are paused for a batch Redis (or the dead-letter topic) has not taken yet.
    public var isPaused: Bool { retryPause.isPaused }

    /// The pending batch from its first unfinished step to the commit.
    private func processPending() throws -> BatchReport {
        guard var batch = pending else { return BatchReport() }
        if batch.events == nil {
            let (events, deadLetters) = try validate(batch.messages, nowMs: batch.nowMs)
            batch.events = events
            batch.messages = []
            batch.deadLetters = deadLetters
            batch.report.deadLettered = deadLetters.count
            if topsUpPending { topUp(&batch) }
            topsUpPending = false
            pending = batch
        }
        if !batch.applied, let events = batch.events, !events.isEmpty {
            let folded = batch.folded ?? folders.map { $0.fold(events, nowMs: batch.nowMs) }
            batch.folded = folded
            pending = batch
            do {
                batch.report.ignoredTooOld = try apply(events, folded: folded, nowMs: batch.nowMs)
            } catch {
                metrics.recordRedisError()
                throw error
            }
            batch.report.applied = events.count - batch.report.ignoredTooOld
            let lateMs = clock() - batch.nowMs
            if lateMs > WindowRoller.defaultGraceMs {
                logger.warning("a batch reached Redis \(lateMs) ms after its clock, past the roller's grace: its entities may slide late", metadata: [
                    "messages": "\(batch.report.messages)", "grace_ms": "\(WindowRoller.defaultGraceMs)",
                ])
            }
        }
        batch.applied = true
        pending = batch
        try confirmDeadLetters(&batch)

        let nextOffsets = batch.nextOffsets
        // Whatever happens now, this batch is done: if the commit fails the group moved on
        // (the partitions are gone) and the new owner replays from the last commit, which
        // the fences keep exact.
        pending = nil
        try consumer.commitStoredBatch(nextOffsets, path: "online", logger: logger)
        recordMetrics(batch, nextOffsets: nextOffsets)
        status.recordBatch(applied: batch.report.applied, deadLettered: batch.report.deadLettered, ignored: batch.report.ignoredTooOld)
        return batch.report
    }

    private func recordMetrics(_ batch: PendingBatch, nextOffsets: [TopicPartition: Int64]) {
        metrics.recordBatch(messages: batch.report.messages)
        var newest: [Int32: Int64] = [:]
        for sourced in batch.events ?? [] {
            newest[sourced.partition] = max(newest[sourced.partition] ?? .min, sourced.event.timestampMs)
        }
        for (partition, time) in newest { metrics.recordFreshness(partition: partition, newestEventMs: time, nowMs: clock()) }
        for (partition, next) in nextOffsets {
            if let high = consumer.highWatermark(partition) { metrics.recordLag(partition, highWatermark: high, nextOffset: next) }
        }
    }

    /// Splits valid events from rejects and sends the rejects to the dead-letter topic
    /// without waiting: `confirmDeadLetters` waits for them once, before the batch commits.
    private func validate(_ messages: [KafkaMessage], nowMs: Int64) throws -> (events: [SourcedEvent], deadLetters: [DeadLetter]) {
        var events: [SourcedEvent] = []
        events.reserveCapacity(messages.count)
        var rejects: [DeadLetter] = []
        for message in messages {
            switch settings.decoder.decode(message.value, nowMs: nowMs) {
            case .success(let event):
                events.append(SourcedEvent(event: event, partition: message.partition, offset: message.offset))
            case .failure(let rejection):
                let letter = DeadLetter(message: message, rejection: rejection)
                try letter.send(with: deadLetters, topic: settings.deadLetterTopic)
                rejects.append(letter)
                metrics.recordDeadLetter(rejection.reason)
                logger.debug("dead-lettered event", metadata: [
                    "reason": "\(rejection.reason.rawValue)", "partition": "\(message.partition)", "offset": "\(message.offset)",
                ])
            }
        }
        return (events, rejects)
    }

    /// Waits until the batch's dead letters are delivered, before its offsets are committed,
    /// so a rejected event is never lost. One flush a batch: a flush after every validated
    /// part held the thread for a producer round trip each time, most of a live batch's time
    /// at 20,000 events/s (docs/benchmarks.md). One flush covers every letter sent before
    /// it, so when it fails the prepared batch's letters go again too: a dead letter may
    /// repeat, but is not lost.
    private func confirmDeadLetters(_ batch: inout PendingBatch) throws {
        guard !batch.deadLetters.isEmpty else { return }
        do {
            if batch.deadLettersNeedResending {
                for letter in batch.deadLetters { try letter.send(with: deadLetters, topic: settings.deadLetterTopic) }
            }
            try deadLetters.flush(timeoutMs: 10_000)
        } catch {
            batch.deadLettersNeedResending = true
            pending = batch
            prefetched?.deadLettersNeedResending = true
            throw error
        }
        batch.deadLettersNeedResending = false
        batch.deadLetters = []
    }

    /// While Redis works on a batch: the next one from what the consumer already fetched
    /// (no waiting), validated and folded. Only when nothing else is queued ahead of it.
    /// What librdkafka fetched while a part was validated joins the batch (`topUp`), up to
    /// `batch_max_events`: a backlog then drains in batches bigger than the fetch queue, and
    /// each script call takes more events.
    private func prefetch() {
        guard prefetchesNextBatch, prefetched == nil, deferred.isEmpty, !retryPause.isPaused else { return }
        var next = PendingBatch(messages: [], nowMs: clock())
        next.events = []
        topUp(&next)
        guard next.report.messages > 0, let events = next.events else { return }
        next.folded = folders.map { $0.fold(events, nowMs: next.nowMs) }
        prefetched = next
    }

    /// Adds what the consumer has already fetched (no waiting) to a validated batch, up to
    /// `batch_max_events`, validating it `validationPart` messages at a time. If dead letters
    /// cannot be sent, the messages of that part wait in `deferred`.
    private func topUp(_ batch: inout PendingBatch) {
        guard deferred.isEmpty, !retryPause.isPaused else { return }
        while batch.report.messages < settings.batchMaxEvents {
            let messages: [KafkaMessage]
            do {
                messages = try consumer.poll(maxMessages: min(settings.batchMaxEvents - batch.report.messages, settings.validationPart), timeoutMs: 0)
            } catch {
                break  // the next processBatch polls again and reports it
            }
            guard !messages.isEmpty else { break }
            do {
                let (events, deadLetters) = try validate(messages, nowMs: batch.nowMs)
                batch.append(validated: messages, events: events, deadLetters: deadLetters)
            } catch {
                deferred = messages + deferred
                break
            }
        }
    }

    /// Applies the folded events to every view; returns how many no view used.
    private func apply(_ events: [SourcedEvent], folded results: [TileFolder.Result], nowMs: Int64) throws -> Int {
        var pending = zip(folders, results).map { OnlineStore.ViewDeltas(view: $0.view.name, deltas: $1.deltas) }
        // A replay whose batch boundaries differ from the crashed run's: a delta spanning
        // partitions whose fences disagree is re-sent per partition, then a per-partition
        // delta whose fence lies inside it re-sends only the events after the fence.
        // The batch's events by entity, per view, built at the first refusal: re-folding one
        // entity must not re-scan the whole batch, as many may be refused after a replay.
        var eventsByEntity: [String: [EntityKey: [SourcedEvent]]] = [:]
        func entityEvents(_ entity: EntityKey, in view: StreamView) -> [SourcedEvent] {
            if eventsByEntity[view.name] == nil {
                var index: [EntityKey: [SourcedEvent]] = [:]
                for event in events { if let key = view.entity.key(of: event.event) { index[key, default: []].append(event) } }
                eventsByEntity[view.name] = index
            }
            return eventsByEntity[view.name]?[entity] ?? []
        }
        // Time spent sending and waiting for Redis, without the prefetch in between.
        var applying = Duration.zero
        for round in 0..<3 {
            var started = ContinuousClock.now
            let sent = try store.send(pending, nowMs: nowMs)
            applying += ContinuousClock.now - started
            if round == 0 { prefetch() }
            started = ContinuousClock.now
            let outcomes = try store.outcomes(of: sent)
            applying += ContinuousClock.now - started
            var retries: [OnlineStore.ViewDeltas] = []
            for (viewIndex, batch) in pending.enumerated() {
                let folder = folders.first { $0.view.name == batch.view }!
                var redo: [EntityDelta] = []
                for (delta, outcome) in zip(batch.deltas, outcomes[viewIndex]) {
                    switch outcome {
                    case .applied, .alreadyApplied:
                        continue
                    case .fencesDiffer:
                        redo += folder.fold(entityEvents(delta.entity, in: folder.view), nowMs: nowMs, perPartition: true).deltas
                    case .partlyApplied(let fence):
                        let partition = delta.offsets[0].partition
                        let remaining = entityEvents(delta.entity, in: folder.view).filter { $0.partition == partition && $0.offset > fence }
                        redo += folder.fold(remaining, nowMs: nowMs, perPartition: true).deltas
                    }
                }
                if !redo.isEmpty { retries.append(.init(view: batch.view, deltas: redo)) }
            }
            if retries.isEmpty { break }
            guard round < 2 else { throw RedisError("the apply script kept refusing re-sent deltas") }
            logger.info("re-applying the unapplied part of \(retries.map(\.deltas.count).reduce(0, +)) entities after a replay")
            pending = retries
        }
        metrics.recordApply(applying)
        var ignored = 0
        for (index, sourced) in events.enumerated() {
            if results.contains(where: { $0.used[index] }) {
                metrics.recordApplied(sourced.event.type)
            } else {
                ignored += 1
                metrics.recordIgnored(sourced.event.type)
            }
        }
        return ignored
    }
}
