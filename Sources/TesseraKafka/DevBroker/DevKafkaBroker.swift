import CRdKafka
import Logging
import Synchronization

/// librdkafka's mock cluster: a Kafka-protocol broker on loopback with consumer groups, offset
/// commits and fault injection, for development and tests. It keeps all messages in memory.
public final class DevKafkaBroker: Sendable {
    /// The mock cluster and the client handle it lives in (librdkafka attaches a mock cluster to
    /// an `rd_kafka_t`, which must outlive it). `nil` once shut down.
    private struct Cluster {
        let handle: OpaquePointer
        let mock: OpaquePointer
        let context: RDKafkaClientContext
    }

    private let cluster: Mutex<Cluster?>
    /// Comma-separated `host:port` of every mock broker.
    public let bootstrapServers: String

    public init(brokers: Int = 1, logger: Logger = Logger(label: "tessera.kafka.dev-broker")) throws {
        let context = RDKafkaClientContext(logger: logger)
        // The host handle never connects anywhere; warnings only, which hides its notice that no
        // bootstrap servers are configured.
        let conf = try RDKafkaConfig.make(["log_level": "4"], context: context)
        let handle = try RDKafkaConfig.makeHandle(RD_KAFKA_PRODUCER, conf: conf)
        guard let mock = rd_kafka_mock_cluster_new(handle, Int32(brokers)) else {
            rd_kafka_destroy(handle)
            throw KafkaError(code: RD_KAFKA_RESP_ERR__FAIL.rawValue, message: "could not start a mock cluster with \(brokers) brokers")
        }
        bootstrapServers = String(cString: rd_kafka_mock_cluster_bootstraps(mock))
        cluster = Mutex(Cluster(handle: handle, mock: mock, context: context))
    }

    deinit {
        shutdown()
    }

    public func createTopic(_ name: String, partitions: Int32) throws {
        try withMock { mock in
            try KafkaError.check(rd_kafka_mock_topic_create(mock, name, partitions, 1), while: "creating topic \(name)")
        }
    }

    /// Disconnects broker `id` (-1: all) and refuses new connections, without moving partition leaders.
    public func setBrokerDown(_ id: Int32 = -1) throws {
        try withMock { mock in
            try KafkaError.check(rd_kafka_mock_broker_set_down(mock, id), while: "setting broker \(id) down")
        }
    }

    public func setBrokerUp(_ id: Int32 = -1) throws {
        try withMock { mock in
            try KafkaError.check(rd_kafka_mock_broker_set_up(mock, id), while: "setting broker \(id) up")
        }
    }

    /// Delays every response of broker `broker` (-1: all) by `ms`.
    public func setRoundTripTime(ms: Int32, broker: Int32 = -1) throws {
        try withMock { mock in
            try KafkaError.check(rd_kafka_mock_broker_set_rtt(mock, broker, ms), while: "setting broker \(broker) round-trip time")
        }
    }

    /// The next `errors.count` requests with Kafka API key `apiKey` (0 = Produce, 1 = Fetch,
    /// 8 = OffsetCommit, ...) fail with these Kafka error codes, in order. Does nothing once shut down.
    public func pushRequestErrors(apiKey: Int16, errors: [Int32]) {
        let codes = errors.map { rd_kafka_resp_err_t(rawValue: $0) }
        cluster.withLock { cluster in
            guard let cluster else { return }
            rd_kafka_mock_push_request_errors_array(cluster.mock, apiKey, codes.count, codes)
        }
    }

    /// Stops the brokers; clients still connected see the connection drop. Idempotent.
    public func shutdown() {
        cluster.withLock { cluster in
            guard let running = cluster else { return }
            rd_kafka_mock_cluster_destroy(running.mock)
            rd_kafka_destroy(running.handle)
            cluster = nil
        }
    }

    private func withMock(_ body: (OpaquePointer) throws -> Void) throws {
        try cluster.withLock { cluster in
            guard let cluster else {
                throw KafkaError(code: RD_KAFKA_RESP_ERR__DESTROY.rawValue, message: "the dev broker is shut down")
            }
            try body(cluster.mock)
        }
    }
}
