import CRdKafka
import Logging

/// What librdkafka's C callbacks reach through the handle's opaque pointer.
///
/// The owning Swift client keeps its context alive for as long as the `rd_kafka_t` exists, so the
/// callbacks can take it unretained. Subclasses add the state their own callbacks need.
class RDKafkaClientContext {
    let logger: Logger

    init(logger: Logger) {
        self.logger = logger
    }

    /// Recovers the context inside a C callback.
    static func from(_ opaque: UnsafeMutableRawPointer) -> Self {
        Unmanaged<Self>.fromOpaque(opaque).takeUnretainedValue()
    }

    var opaque: UnsafeMutableRawPointer {
        Unmanaged.passUnretained(self).toOpaque()
    }
}

/// Forwards librdkafka's log lines to swift-log. Runs on librdkafka's internal threads and only reads
/// the immutable logger.
let rdKafkaLogCallback: @convention(c) (OpaquePointer?, Int32, UnsafePointer<CChar>?, UnsafePointer<CChar>?) -> Void = {
    handle, syslogLevel, facility, line in
    guard let handle, let opaque = rd_kafka_opaque(handle), let line else { return }
    RDKafkaClientContext.from(opaque).logger.log(
        level: Logger.Level(syslogLevel: syslogLevel),
        "\(String(cString: line))",
        metadata: ["kafka.facility": "\(facility.map { String(cString: $0) } ?? "")"]
    )
}

/// Client-level errors (lost connections, all brokers down) are informational: librdkafka recovers
/// by itself. Fatal errors also surface through the failing call, which throws.
let rdKafkaErrorCallback: @convention(c) (OpaquePointer?, Int32, UnsafePointer<CChar>?, UnsafeMutableRawPointer?) -> Void = {
    handle, code, reason, opaque in
    guard let handle, let opaque else { return }
    let logger = RDKafkaClientContext.from(opaque).logger
    let error = rd_kafka_resp_err_t(rawValue: code)
    if error == RD_KAFKA_RESP_ERR__FATAL {
        logger.critical("\(KafkaError.fatal(of: handle))")
    } else {
        logger.warning("\(KafkaError(code: code, message: reason.map { String(cString: $0) } ?? ""))")
    }
}

extension Logger.Level {
    init(syslogLevel: Int32) {
        switch syslogLevel {
        case ...2: self = .critical
        case 3: self = .error
        case 4: self = .warning
        case 5: self = .notice
        case 6: self = .info
        default: self = .debug
        }
    }
}
