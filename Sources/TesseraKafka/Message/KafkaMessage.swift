/// One record header. Kafka allows repeated keys, so headers are an ordered list, not a map.
public struct KafkaHeader: Sendable, Equatable {
    public var key: String
    public var value: [UInt8]

    public init(key: String, value: [UInt8]) {
        self.key = key
        self.value = value
    }
}

/// A consumed record, copied out of librdkafka's buffers so it can outlive the poll that read it.
public struct KafkaMessage: Sendable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    /// `nil` when the record has no key (a Kafka null key), which is not the same as an empty key.
    public var key: [UInt8]?
    /// Empty for a null (tombstone) value as well as for an empty one.
    public var value: [UInt8]
    /// Create or log-append time in epoch milliseconds, when the broker reports one.
    public var timestampMs: Int64?
    public var headers: [KafkaHeader]

    public init(topic: String, partition: Int32, offset: Int64, key: [UInt8]?, value: [UInt8],
                timestampMs: Int64?, headers: [KafkaHeader]) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.key = key
        self.value = value
        self.timestampMs = timestampMs
        self.headers = headers
    }
}
