import Foundation
import Logging
import TesseraKafka

/// Runs a test's blocking Kafka calls on a thread of their own and returns what they observed.
///
/// The calls block for seconds, and the Swift concurrency pool that every test in the process
/// shares has one thread per core. Assertions stay in the async test itself: Swift Testing
/// attributes `#expect` to a test only on that test's task.
func onOwnThread<Observed: Sendable>(_ body: @escaping @Sendable () throws -> Observed) async throws -> Observed {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}

/// The `KafkaError` that `body` throws, or `nil` if it succeeds.
func kafkaError(from body: () throws -> Void) throws -> KafkaError? {
    do {
        try body()
        return nil
    } catch let error as KafkaError {
        return error
    }
}

let testLogger: Logger = {
    var logger = Logger(label: "tessera.kafka.tests")
    logger.logLevel = .warning
    return logger
}()

/// A broker with one topic, and clients pointed at it.
struct TestCluster: Sendable {
    let broker: DevKafkaBroker
    let topic: String
    let partitions: Int32

    init(topic: String = "clickstream", partitions: Int32) throws {
        broker = try DevKafkaBroker(logger: testLogger)
        try broker.createTopic(topic, partitions: partitions)
        self.topic = topic
        self.partitions = partitions
    }

    var allPartitions: Set<TopicPartition> {
        Set((0..<partitions).map { TopicPartition(topic: topic, partition: $0) })
    }

    func producer(settings: [String: String] = [:], enqueueTimeout: Duration = .seconds(10)) throws -> KafkaProducer {
        try KafkaProducer(brokers: broker.bootstrapServers, settings: settings, enqueueTimeout: enqueueTimeout, logger: testLogger)
    }

    /// The mock group coordinator waits `session.timeout.ms` - 1 s for members to (re)join whenever
    /// membership changes (45 s by default), so test consumers use a short session.
    static let quickRebalance = ["session.timeout.ms": "6000", "heartbeat.interval.ms": "500"]

    func consumer(group: String, settings: [String: String] = [:]) throws -> KafkaConsumer {
        try KafkaConsumer(brokers: broker.bootstrapServers, groupID: group, topics: [topic],
                          settings: Self.quickRebalance.merging(settings) { _, setting in setting }, logger: testLogger)
    }
}

extension KafkaConsumer {
    /// Polls until `count` messages have arrived or `timeout` has passed; returns what arrived.
    func poll(count: Int, within timeout: Duration) throws -> [KafkaMessage] {
        let deadline = ContinuousClock.now + timeout
        var messages: [KafkaMessage] = []
        while messages.count < count, ContinuousClock.now < deadline {
            messages += try poll(maxMessages: count - messages.count, timeoutMs: 200)
        }
        return messages
    }

    /// Polls until `condition` holds or `timeout` has passed; returns whether it holds.
    func poll(until condition: () -> Bool, within timeout: Duration) throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while !condition(), ContinuousClock.now < deadline {
            _ = try poll(maxMessages: 100, timeoutMs: 100)
        }
        return condition()
    }
}

extension KafkaMessage {
    /// The `seq` header the tests stamp on every record.
    var sequence: Int? {
        headers.first { $0.key == "seq" }.flatMap { Int(String(decoding: $0.value, as: UTF8.self)) }
    }
}

func bytes(_ text: String) -> [UInt8] {
    Array(text.utf8)
}
