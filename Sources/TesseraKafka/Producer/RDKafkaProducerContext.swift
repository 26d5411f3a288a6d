import CRdKafka
import Logging
import Synchronization

/// Delivery outcomes. Delivery reports run on whichever thread serves the producer's queue
/// (`send`, `flush`, `close`), so the tally sits behind a mutex.
final class RDKafkaProducerContext: RDKafkaClientContext {
    struct FailuresSinceFlush {
        var count = 0
        var first: KafkaError?
    }

    private struct Tally {
        var total = 0
        var sinceFlush = FailuresSinceFlush()
    }

    private let tally = Mutex(Tally())

    var totalFailures: Int {
        tally.withLock { $0.total }
    }

    func recordFailure(_ error: KafkaError) {
        tally.withLock { tally in
            tally.total += 1
            tally.sinceFlush.count += 1
            if tally.sinceFlush.first == nil { tally.sinceFlush.first = error }
        }
    }

    /// The failures since the previous call, resetting the count.
    func takeFailuresSinceFlush() -> FailuresSinceFlush {
        tally.withLock { tally in
            defer { tally.sinceFlush = FailuresSinceFlush() }
            return tally.sinceFlush
        }
    }
}

let rdKafkaDeliveryReportCallback: @convention(c) (
    OpaquePointer?, UnsafePointer<rd_kafka_message_t>?, UnsafeMutableRawPointer?
) -> Void = { _, message, opaque in
    guard let message, let opaque, message.pointee.err != RD_KAFKA_RESP_ERR_NO_ERROR else { return }
    let topic = message.pointee.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? ""
    RDKafkaProducerContext.from(opaque).recordFailure(KafkaError(message.pointee.err, while: "delivering to \(topic)"))
}
