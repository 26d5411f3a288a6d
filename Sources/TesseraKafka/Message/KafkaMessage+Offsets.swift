extension Sequence where Element == KafkaMessage {
    /// Per partition, the offset after the highest message: what committing these messages
    /// stores. The highest, not the last: a partition assigned again during a pause is
    /// fetched again from its last commit, so older messages can follow newer ones.
    public var nextOffsets: [TopicPartition: Int64] {
        var next: [TopicPartition: Int64] = [:]
        // A poll hands messages over in runs of one partition: hash once a run, not once a message.
        var run: (partition: TopicPartition, next: Int64)?
        for message in self {
            if let current = run, current.partition.partition == message.partition, current.partition.topic == message.topic {
                run?.next = Swift.max(current.next, message.offset + 1)
                continue
            }
            if let run { next[run.partition] = Swift.max(next[run.partition] ?? 0, run.next) }
            run = (TopicPartition(topic: message.topic, partition: message.partition), message.offset + 1)
        }
        if let run { next[run.partition] = Swift.max(next[run.partition] ?? 0, run.next) }
        return next
    }
}
