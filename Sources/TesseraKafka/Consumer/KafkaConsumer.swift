import CRdKafka
import Logging

/// A consumer-group member that commits only what the caller says it has processed.
///
/// Not thread-safe: one thread polls, processes and commits. Rebalance callbacks run on that
/// thread too, inside `poll` (and `close`).
public final class KafkaConsumer {
    private var handle: OpaquePointer?
    private let context: RDKafkaConsumerContext

    /// Defaults: `enable.auto.commit=false`, `enable.auto.offset.store=false`,
    /// `auto.offset.reset=earliest`, `partition.assignment.strategy=cooperative-sticky` (a rebalance
    /// moves only the partitions that change owner). `settings` override or extend any librdkafka
    /// property (e.g. `security.protocol`); every member of a group must use the same protocol type.
    public init(brokers: String, groupID: String, topics: [String], settings: [String: String] = [:], logger: Logger) throws {
        var logger = logger
        logger[metadataKey: "kafka.group"] = "\(groupID)"
        context = RDKafkaConsumerContext(logger: logger)
        let defaults = [
            "enable.auto.commit": "false",
            "enable.auto.offset.store": "false",
            "auto.offset.reset": "earliest",
            "partition.assignment.strategy": "cooperative-sticky",
        ]
        var properties = defaults.merging(settings) { _, setting in setting }
        properties["bootstrap.servers"] = brokers
        properties["group.id"] = groupID
        let conf = try RDKafkaConfig.make(properties, context: context)
        rd_kafka_conf_set_rebalance_cb(conf, rdKafkaRebalanceCallback)
        let handle = try RDKafkaConfig.makeHandle(RD_KAFKA_CONSUMER, conf: conf)
        do {
            // Route client events (errors, logs queued for polling) through rd_kafka_consumer_poll.
            try KafkaError.check(rd_kafka_poll_set_consumer(handle), while: "redirecting events to the consumer queue")
            let subscription = rd_kafka_topic_partition_list_new(Int32(topics.count))!
            defer { rd_kafka_topic_partition_list_destroy(subscription) }
            for topic in topics {
                rd_kafka_topic_partition_list_add(subscription, topic, RD_KAFKA_PARTITION_UA)
            }
            try KafkaError.check(rd_kafka_subscribe(handle, subscription), while: "subscribing to \(topics)")
        } catch {
            rd_kafka_destroy(handle)
            throw error
        }
        self.handle = handle
    }

    deinit {
        close()
    }

    /// Up to `maxMessages` messages, waiting at most `timeoutMs` for the first; `[]` on timeout.
    /// Partition EOF and other non-fatal consumer events are logged, not returned. Fatal errors throw.
    public func poll(maxMessages: Int, timeoutMs: Int32) throws -> [KafkaMessage] {
        precondition(maxMessages > 0, "maxMessages must be positive")
        let handle = try openHandle()
        let deadline = ContinuousClock.now + .milliseconds(timeoutMs)
        var messages: [KafkaMessage] = []
        while messages.count < maxMessages {
            // Wait only for the first message; after that take what is already fetched.
            let wait = messages.isEmpty ? Self.milliseconds(until: deadline) : 0
            guard let message = rd_kafka_consumer_poll(handle, wait) else { break }
            defer { rd_kafka_message_destroy(message) }
            if message.pointee.err == RD_KAFKA_RESP_ERR_NO_ERROR {
                messages.append(KafkaMessage(copying: message))
            } else {
                try handleEvent(message, handle: handle)
                // Past the deadline with nothing to return: stop rather than drain events.
                if wait == 0 && messages.isEmpty { break }
            }
        }
        return messages
    }

    /// Synchronously commits: for each partition, `nextOffset` = last processed offset + 1.
    public func commit(_ offsets: [TopicPartition: Int64]) throws {
        let handle = try openHandle()
        guard !offsets.isEmpty else { return }
        try RDKafkaTopicPartitionList.with(offsets: offsets) { list in
            try KafkaError.check(rd_kafka_commit(handle, list, 0), while: "committing offsets")
            for partition in RDKafkaTopicPartitionList.elements(of: list) {
                try KafkaError.check(partition.err, while: "committing offset \(partition.offset) for \(String(cString: partition.topic))[\(partition.partition)]")
            }
        }
    }

    /// Stops fetching from `partitions` (`rd_kafka_pause_partitions`) while `poll` goes on
    /// serving the group, so a consumer that cannot process for a while (its store is down)
    /// keeps calling `poll` within `max.poll.interval.ms` and keeps its partitions. Messages
    /// fetched before the pause may still come out of `poll`; they follow what it returned.
    public func pause(_ partitions: Set<TopicPartition>) throws {
        try setPaused(partitions, paused: true)
    }

    /// Fetches from `partitions` again, from the message after the last one `poll` returned.
    public func resume(_ partitions: Set<TopicPartition>) throws {
        try setPaused(partitions, paused: false)
    }

    /// The assigned partitions that are paused.
    public var pausedPartitions: Set<TopicPartition> {
        paused.intersection(context.assignment)
    }

    private var paused: Set<TopicPartition> = []

    private func setPaused(_ partitions: Set<TopicPartition>, paused pause: Bool) throws {
        let handle = try openHandle()
        guard !partitions.isEmpty else { return }
        let action = pause ? "pausing" : "resuming"
        try RDKafkaTopicPartitionList.with(offsets: Dictionary(uniqueKeysWithValues: partitions.map { ($0, Int64(RD_KAFKA_OFFSET_INVALID)) })) { list in
            try KafkaError.check(pause ? rd_kafka_pause_partitions(handle, list) : rd_kafka_resume_partitions(handle, list), while: "\(action) partitions")
            for partition in RDKafkaTopicPartitionList.elements(of: list) {
                try KafkaError.check(partition.err, while: "\(action) \(String(cString: partition.topic))[\(partition.partition)]")
            }
        }
        if pause { paused.formUnion(partitions) } else { paused.subtract(partitions) }
    }

    /// The current assignment, as applied by the rebalance callback.
    public var assignment: Set<TopicPartition> {
        context.assignment
    }

    /// Called on the polling thread, inside `poll`, after partitions are assigned (with the added ones).
    public var onAssign: ((Set<TopicPartition>) -> Void)? {
        get { context.onAssign }
        set { context.onAssign = newValue }
    }

    /// Called on the polling thread, inside `poll` or `close`, before partitions are revoked; the
    /// last chance to commit them.
    public var onRevoke: ((Set<TopicPartition>) -> Void)? {
        get { context.onRevoke }
        set { context.onRevoke = newValue }
    }

    /// The partition's high watermark as last seen by the fetcher (no broker round trip); `nil`
    /// before the first fetch from that partition.
    public func highWatermark(_ topicPartition: TopicPartition) -> Int64? {
        guard let handle else { return nil }
        var low: Int64 = 0
        var high: Int64 = 0
        let code = rd_kafka_get_watermark_offsets(handle, topicPartition.topic, topicPartition.partition, &low, &high)
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR, high != Int64(RD_KAFKA_OFFSET_INVALID) else { return nil }
        return high
    }

    /// Leaves the group cleanly (revoking through `onRevoke`) and destroys the client. Idempotent.
    public func close() {
        guard let handle else { return }
        self.handle = nil
        awaitFirstAssignmentIfJoining(handle)
        let code = rd_kafka_consumer_close(handle)
        if code != RD_KAFKA_RESP_ERR_NO_ERROR {
            context.logger.warning("\(KafkaError(code, while: "leaving the group"))")
        }
        rd_kafka_destroy(handle)
    }

    /// librdkafka 2.0.2 aborts the process when a cooperative-sticky member is destroyed after
    /// the group chose its assignor and before the first assignment reached it (librdkafka
    /// #4312, fixed in 2.3.0): a daemon stopped in its first seconds could abort instead of
    /// exiting. So close first serves the group until that assignment comes, within
    /// `firstAssignmentWaitMs`. Messages polled meanwhile are dropped uncommitted; the next
    /// owner reads them again. A member still waiting for the broker has no assignor yet and
    /// closes at once.
    private func awaitFirstAssignmentIfJoining(_ handle: OpaquePointer) {
        let deadline = ContinuousClock.now + .milliseconds(Self.firstAssignmentWaitMs)
        while isBetweenJoinAndFirstAssignment(handle) && ContinuousClock.now < deadline {
            if let message = rd_kafka_consumer_poll(handle, 100) { rd_kafka_message_destroy(message) }
        }
    }

    /// A SyncGroup answers within a round trip once the JoinGroup has; this bounds a broker
    /// that stops answering in between.
    static let firstAssignmentWaitMs: Int64 = 10_000

    /// The group has chosen a cooperative assignor for this member and no assignment has
    /// reached it yet.
    func isBetweenJoinAndFirstAssignment(_ handle: OpaquePointer) -> Bool {
        !context.hasBeenAssigned && RDKafkaConsumerContext.isCooperative(handle)
    }

    /// The same for this consumer while it is open (tests hold it there).
    var isBetweenJoinAndFirstAssignment: Bool { handle.map(isBetweenJoinAndFirstAssignment) ?? false }

    private func openHandle() throws -> OpaquePointer {
        guard let handle else {
            throw KafkaError(code: RD_KAFKA_RESP_ERR__DESTROY.rawValue, message: "the consumer is closed")
        }
        return handle
    }

    private func handleEvent(_ message: UnsafePointer<rd_kafka_message_t>, handle: OpaquePointer) throws {
        switch message.pointee.err {
        case RD_KAFKA_RESP_ERR__FATAL:
            throw KafkaError.fatal(of: handle)
        case RD_KAFKA_RESP_ERR__PARTITION_EOF:
            context.logger.debug("reached the end of a partition", metadata: ["partition": "\(message.pointee.partition)"])
        case let code:
            let reason = rd_kafka_message_errstr(message).map { String(cString: $0) } ?? ""
            context.logger.error("consumer event: \(KafkaError(code: code.rawValue, message: reason))")
        }
    }

    private static func milliseconds(until deadline: ContinuousClock.Instant) -> Int32 {
        let remaining = ContinuousClock.now.duration(to: deadline).components
        return Int32(clamping: max(0, remaining.seconds * 1000 + remaining.attoseconds / 1_000_000_000_000_000))
    }
}
