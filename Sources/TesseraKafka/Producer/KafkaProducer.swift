import CRdKafka
import Logging
import Synchronization

/// Produces records to Kafka. Thread-safe, as librdkafka producers are; `close` must not race with
/// other calls.
// @unchecked: the rd_kafka_t handle is thread-safe and the context keeps its mutable state in a Mutex.
public final class KafkaProducer: @unchecked Sendable {
    /// How long `close` waits for outstanding deliveries.
    static let closeFlushTimeoutMs: Int32 = 10_000

    private let handle: OpaquePointer
    private let context: RDKafkaProducerContext
    private let closed = Atomic(false)
    private let enqueueTimeout: Duration

    /// Defaults: `linger.ms=5`, `acks=all`; `settings` override or extend any librdkafka property.
    /// `enqueueTimeout` bounds how long `send` waits for room in librdkafka's local queue.
    public init(brokers: String, settings: [String: String] = [:], enqueueTimeout: Duration = .seconds(10), logger: Logger) throws {
        self.enqueueTimeout = enqueueTimeout
        context = RDKafkaProducerContext(logger: logger)
        var properties = ["linger.ms": "5", "acks": "all"].merging(settings) { _, setting in setting }
        properties["bootstrap.servers"] = brokers
        let conf = try RDKafkaConfig.make(properties, context: context)
        rd_kafka_conf_set_dr_msg_cb(conf, rdKafkaDeliveryReportCallback)
        handle = try RDKafkaConfig.makeHandle(RD_KAFKA_PRODUCER, conf: conf)
    }

    deinit {
        close()
    }

    /// Enqueues a record (librdkafka copies the bytes). When the local queue is full, serves delivery
    /// reports and retries for up to `enqueueTimeout`, then throws `_QUEUE_FULL`.
    /// `partition: nil` lets the partitioner hash the key.
    public func send(topic: String, key: [UInt8]?, value: [UInt8], headers: [KafkaHeader] = [], partition: Int32? = nil) throws {
        try ensureOpen()
        let deadline = ContinuousClock.now + enqueueTimeout
        while let failure = enqueue(topic: topic, key: key, value: value, headers: headers, partition: partition) {
            let error = KafkaError(consuming: failure, while: "enqueueing to \(topic)")
            guard error.code == RD_KAFKA_RESP_ERR__QUEUE_FULL.rawValue, ContinuousClock.now < deadline else { throw error }
            rd_kafka_poll(handle, 100)
        }
        // Serve delivery reports as we go, so finished messages leave the queue.
        rd_kafka_poll(handle, 0)
    }

    /// Waits until everything enqueued is delivered or has failed. Throws `_TIMED_OUT` if messages are
    /// still outstanding after `timeoutMs`, or the first delivery error (with the count) if any delivery
    /// failed since the last flush.
    public func flush(timeoutMs: Int32) throws {
        try ensureOpen()
        let code = rd_kafka_flush(handle, timeoutMs)
        let failures = context.takeFailuresSinceFlush()
        let failureSummary = failures.first.map { "\(failures.count) deliveries failed since the last flush, first: \($0.message)" }
        if code != RD_KAFKA_RESP_ERR_NO_ERROR {
            let outstanding = "\(rd_kafka_outq_len(handle)) messages still outstanding after \(timeoutMs) ms"
            throw KafkaError(code, while: [outstanding, failureSummary].compactMap { $0 }.joined(separator: "; "))
        }
        if let first = failures.first, let failureSummary {
            throw KafkaError(code: first.code, message: failureSummary)
        }
    }

    /// Deliveries that failed since the producer was created.
    public var deliveryFailures: Int {
        context.totalFailures
    }

    /// Flushes for up to `closeFlushTimeoutMs`, then destroys the client, dropping anything still
    /// undelivered. Idempotent.
    public func close() {
        guard closed.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged else { return }
        if rd_kafka_flush(handle, Self.closeFlushTimeoutMs) != RD_KAFKA_RESP_ERR_NO_ERROR {
            context.logger.error("closing the producer with undelivered messages", metadata: ["count": "\(rd_kafka_outq_len(handle))"])
        }
        let failures = context.takeFailuresSinceFlush()
        if let first = failures.first {
            context.logger.error("deliveries failed before close", metadata: ["count": "\(failures.count)", "first": "\(first)"])
        }
        rd_kafka_destroy(handle)
    }

    private func ensureOpen() throws {
        if closed.load(ordering: .acquiring) {
            throw KafkaError(code: RD_KAFKA_RESP_ERR__DESTROY.rawValue, message: "the producer is closed")
        }
    }

    /// One `rd_kafka_produceva` call; returns librdkafka's error, if any, for the caller to destroy.
    private func enqueue(topic: String, key: [UInt8]?, value: [UInt8], headers: [KafkaHeader], partition: Int32?) -> OpaquePointer? {
        let headerList = headers.isEmpty ? nil : Self.makeHeaderList(headers)
        let error = topic.withCString { topicName in
            withNonNullBytes(value) { valueBytes in
                var fields: [rd_kafka_vu_t] = [.topic(topicName), .value(valueBytes), .copyPayload]
                if let partition { fields.append(.partition(partition)) }
                if let headerList { fields.append(.headers(headerList)) }
                guard let key else { return rd_kafka_produceva(handle, fields, fields.count) }
                return withNonNullBytes(key) { keyBytes in
                    rd_kafka_produceva(handle, fields + [.key(keyBytes)], fields.count + 1)
                }
            }
        }
        // librdkafka owns the header list only once the message is accepted.
        if error != nil, let headerList { rd_kafka_headers_destroy(headerList) }
        return error
    }

    private static func makeHeaderList(_ headers: [KafkaHeader]) -> OpaquePointer {
        let list = rd_kafka_headers_new(headers.count)!
        for header in headers {
            // Adding to a fresh, writable list cannot fail; the value is copied.
            rd_kafka_header_add(list, header.key, -1, header.value, header.value.count)
        }
        return list
    }
}
