import CRdKafka

extension KafkaMessage {
    /// Copies every field out of a consumed librdkafka message, so the caller can destroy it at once.
    init(copying message: UnsafePointer<rd_kafka_message_t>) {
        let record = message.pointee
        var timestampType = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
        let timestamp = rd_kafka_message_timestamp(message, &timestampType)
        self.init(
            topic: record.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? "",
            partition: record.partition,
            offset: record.offset,
            key: record.key.map { Array(UnsafeRawBufferPointer(start: $0, count: record.key_len)) },
            value: record.payload.map { Array(UnsafeRawBufferPointer(start: $0, count: record.len)) } ?? [],
            timestampMs: timestampType == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE ? nil : timestamp,
            headers: Self.copyHeaders(of: message)
        )
    }

    private static func copyHeaders(of message: UnsafePointer<rd_kafka_message_t>) -> [KafkaHeader] {
        var headerList: OpaquePointer?
        guard rd_kafka_message_headers(message, &headerList) == RD_KAFKA_RESP_ERR_NO_ERROR,
              let headerList else { return [] }
        var headers: [KafkaHeader] = []
        var index = 0
        var name: UnsafePointer<CChar>?
        var value: UnsafeRawPointer?
        var size = 0
        while rd_kafka_header_get_all(headerList, index, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR {
            headers.append(KafkaHeader(
                key: name.map { String(cString: $0) } ?? "",
                value: value.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) } ?? []
            ))
            index += 1
        }
        return headers
    }
}
