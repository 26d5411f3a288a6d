import CRdKafka

/// A Kafka failure: librdkafka's error code (negative for client-side conditions such as
/// `_TIMED_OUT`, positive for broker protocol errors) and a message saying what was attempted.
public struct KafkaError: Error, CustomStringConvertible, Sendable {
    public var code: Int32
    public var message: String

    public init(code: Int32, message: String) {
        self.code = code
        self.message = message
    }

    /// librdkafka's symbolic name for the code, e.g. `_TIMED_OUT` or `MSG_SIZE_TOO_LARGE`.
    public var name: String {
        String(cString: rd_kafka_err2name(rd_kafka_resp_err_t(rawValue: code)))
    }

    /// A local deadline passed (flush, commit, enqueue); the operation may succeed if retried.
    public var isTimeout: Bool {
        code == RD_KAFKA_RESP_ERR__TIMED_OUT.rawValue
    }

    /// The group refused a commit because its membership is changing (a rebalance, a member
    /// fenced or expelled): the partitions may be moving to another member.
    public var isGroupChange: Bool {
        [RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS, RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION, RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID,
         RD_KAFKA_RESP_ERR_FENCED_INSTANCE_ID, RD_KAFKA_RESP_ERR__ASSIGNMENT_LOST].contains { $0.rawValue == code }
    }

    public var description: String {
        "Kafka error \(name) (\(code)): \(message)"
    }

    init(_ code: rd_kafka_resp_err_t, while action: String) {
        self.init(code: code.rawValue, message: "\(action): \(String(cString: rd_kafka_err2str(code)))")
    }

    /// Reads and destroys an `rd_kafka_error_t` returned by librdkafka.
    init(consuming error: OpaquePointer, while action: String) {
        self.init(code: rd_kafka_error_code(error).rawValue,
                  message: "\(action): \(String(cString: rd_kafka_error_string(error)))")
        rd_kafka_error_destroy(error)
    }

    /// Throws unless `code` is `NO_ERROR`.
    static func check(_ code: rd_kafka_resp_err_t, while action: @autoclosure () -> String) throws {
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(code, while: action()) }
    }

    /// The client's fatal error, which librdkafka keeps after signalling `_FATAL`.
    static func fatal(of handle: OpaquePointer) -> KafkaError {
        var reason = [CChar](repeating: 0, count: 512)
        let code = rd_kafka_fatal_error(handle, &reason, reason.count)
        return KafkaError(code: code.rawValue, message: "fatal client error: \(String(cBuffer: reason))")
    }
}

extension String {
    /// Reads a NUL-terminated C string that librdkafka wrote into a Swift-owned buffer.
    init(cBuffer buffer: [CChar]) {
        self = buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }
}
