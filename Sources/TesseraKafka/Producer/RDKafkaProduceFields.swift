import CRdKafka

/// Builders for `rd_kafka_vu_t`, the array form of `rd_kafka_producev`'s variadic fields.
extension rd_kafka_vu_t {
    static func topic(_ name: UnsafePointer<CChar>) -> rd_kafka_vu_t {
        var field = rd_kafka_vu_t()
        field.vtype = RD_KAFKA_VTYPE_TOPIC
        field.u.cstr = name
        return field
    }

    static func value(_ bytes: UnsafeRawBufferPointer) -> rd_kafka_vu_t {
        memory(RD_KAFKA_VTYPE_VALUE, bytes)
    }

    static func key(_ bytes: UnsafeRawBufferPointer) -> rd_kafka_vu_t {
        memory(RD_KAFKA_VTYPE_KEY, bytes)
    }

    static func partition(_ partition: Int32) -> rd_kafka_vu_t {
        var field = rd_kafka_vu_t()
        field.vtype = RD_KAFKA_VTYPE_PARTITION
        field.u.i32 = partition
        return field
    }

    /// librdkafka takes ownership of the list if the message is accepted.
    static func headers(_ list: OpaquePointer) -> rd_kafka_vu_t {
        var field = rd_kafka_vu_t()
        field.vtype = RD_KAFKA_VTYPE_HEADERS
        field.u.headers = list
        return field
    }

    /// librdkafka copies key and value, so the Swift buffers need only live through the call.
    static var copyPayload: rd_kafka_vu_t {
        var field = rd_kafka_vu_t()
        field.vtype = RD_KAFKA_VTYPE_MSGFLAGS
        field.u.i = RD_KAFKA_MSG_F_COPY
        return field
    }

    private static func memory(_ type: rd_kafka_vtype_t, _ bytes: UnsafeRawBufferPointer) -> rd_kafka_vu_t {
        var field = rd_kafka_vu_t()
        field.vtype = type
        field.u.mem.ptr = UnsafeMutableRawPointer(mutating: bytes.baseAddress)
        field.u.mem.size = bytes.count
        return field
    }
}

/// Calls `body` with a pointer that is never NULL, even for no bytes: librdkafka reads a NULL key
/// or value as a Kafka null (a tombstone, for values), which an empty array is not.
func withNonNullBytes<Result>(_ bytes: [UInt8], _ body: (UnsafeRawBufferPointer) -> Result) -> Result {
    if bytes.isEmpty {
        return withUnsafeBytes(of: UInt8(0)) { body(UnsafeRawBufferPointer(start: $0.baseAddress, count: 0)) }
    }
    return bytes.withUnsafeBytes(body)
}
