import CRdKafka

/// Conversions between Swift partition sets and librdkafka's `rd_kafka_topic_partition_list_t`.
enum RDKafkaTopicPartitionList {
    /// Calls `body` with a temporary list holding `offsets`, destroyed afterwards.
    static func with<Result>(
        offsets: [TopicPartition: Int64],
        _ body: (UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) throws -> Result
    ) rethrows -> Result {
        let list = rd_kafka_topic_partition_list_new(Int32(offsets.count))!
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for (topicPartition, offset) in offsets {
            rd_kafka_topic_partition_list_add(list, topicPartition.topic, topicPartition.partition).pointee.offset = offset
        }
        return try body(list)
    }

    static func elements(
        of list: UnsafePointer<rd_kafka_topic_partition_list_t>
    ) -> UnsafeBufferPointer<rd_kafka_topic_partition_t> {
        UnsafeBufferPointer(start: list.pointee.elems, count: Int(list.pointee.cnt))
    }

    static func partitions(of list: UnsafePointer<rd_kafka_topic_partition_list_t>) -> Set<TopicPartition> {
        Set(elements(of: list).map { TopicPartition(topic: String(cString: $0.topic), partition: $0.partition) })
    }
}
