extension Sequence where Element == KafkaMessage {
    /// Per partition, the offset after the highest message: what committing these messages
    /// stores. The highest, not the last: a partition assigned again during a pause is
    /// fetched again from its last commit, so older messages can follow newer ones.
    public var nextOffsets: [TopicPartition: Int64] {
        var next: [TopicPartition: Int64] = [:]
        for message in self {
            let partition = TopicPartition(topic: message.topic, partition: message.partition)
            next[partition] = Swift.max(next[partition] ?? 0, message.offset + 1)
        }
        return next
    }
}
