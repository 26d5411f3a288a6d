import Testing
import TesseraKafka

@Suite struct ProduceConsumeTests {
    struct Record: Sendable {
        var key: [UInt8]?
        var value: [UInt8]
        var headers: [KafkaHeader]
    }

    /// Null keys, an empty key, an empty value and an empty header value are distinct cases on the wire;
    /// a repeated header key checks that headers are a list, not a map.
    static func record(_ index: Int) -> Record {
        let key: [UInt8]? = switch index {
        case 4: []
        case _ where index % 10 == 9: nil
        default: bytes("user-\(index % 7)")
        }
        let raw: [UInt8] = index == 6 ? [] : [0, 255, UInt8(index)]
        return Record(
            key: key,
            value: index == 5 ? [] : bytes("event-\(index)"),
            headers: [
                KafkaHeader(key: "seq", value: bytes("\(index)")),
                KafkaHeader(key: "raw", value: raw),
                KafkaHeader(key: "raw", value: [1]),
            ]
        )
    }

    @Test func everyRecordArrivesOnceWithItsKeyValueAndHeaders() async throws {
        struct Observed: Sendable {
            var deliveryFailures: Int
            var received: [KafkaMessage]
            var highWatermarks: [TopicPartition: Int64]
        }
        let cluster = try TestCluster(partitions: 3)
        let records = (0..<120).map(Self.record)
        let observed = try await onOwnThread {
            let producer = try cluster.producer()
            for record in records {
                try producer.send(topic: cluster.topic, key: record.key, value: record.value, headers: record.headers)
            }
            try producer.flush(timeoutMs: 10_000)

            let consumer = try cluster.consumer(group: "readers")
            defer { consumer.close() }
            let received = try consumer.poll(count: records.count, within: .seconds(20))
            return Observed(
                deliveryFailures: producer.deliveryFailures,
                received: received,
                highWatermarks: cluster.allPartitions.reduce(into: [:]) { $0[$1] = consumer.highWatermark($1) }
            )
        }
        #expect(observed.deliveryFailures == 0)
        #expect(observed.received.count == records.count)

        let bySequence = Dictionary(grouping: observed.received) { $0.sequence ?? -1 }
        for (index, record) in records.enumerated() {
            let copies = bySequence[index] ?? []
            try #require(copies.count == 1, "record \(index) arrived \(copies.count) times")
            let message = copies[0]
            #expect(message.topic == cluster.topic)
            #expect(message.key == record.key, "key of record \(index)")
            #expect(message.value == record.value, "value of record \(index)")
            #expect(message.headers == record.headers, "headers of record \(index)")
            #expect(message.timestampMs != nil)
        }

        for topicPartition in cluster.allPartitions {
            let offsets = observed.received.filter { $0.partition == topicPartition.partition }.map { $0.offset }
            #expect(!offsets.isEmpty, "nothing landed in \(topicPartition)")
            #expect(offsets == Array(0..<Int64(offsets.count)), "offsets of \(topicPartition) are contiguous and in order")
            #expect(observed.highWatermarks[topicPartition] == Int64(offsets.count))
        }

        // The partitioner hashes keys: one key, one partition, in send order.
        let keyed = observed.received.filter { $0.key != nil }
        for (key, messages) in Dictionary(grouping: keyed, by: { $0.key! }) {
            #expect(Set(messages.map { $0.partition }).count == 1, "key \(key) spread over partitions")
            let sequences = messages.compactMap { $0.sequence }
            #expect(sequences == sequences.sorted(), "key \(key) out of order")
        }
    }

    @Test func explicitPartitionIsHonoured() async throws {
        let cluster = try TestCluster(partitions: 3)
        let received = try await onOwnThread {
            let producer = try cluster.producer()
            for index in 0..<9 {
                try producer.send(topic: cluster.topic, key: bytes("same-key"), value: bytes("\(index)"), partition: Int32(index % 3))
            }
            try producer.flush(timeoutMs: 10_000)

            let consumer = try cluster.consumer(group: "readers")
            defer { consumer.close() }
            return try consumer.poll(count: 9, within: .seconds(20))
        }
        #expect(received.count == 9)
        for message in received {
            #expect(Int32(String(decoding: message.value, as: UTF8.self))! % 3 == message.partition)
        }
    }

    @Test func unknownPropertyIsRejected() throws {
        let error = #expect(throws: KafkaError.self) {
            try KafkaProducer(brokers: "127.0.0.1:9", settings: ["no.such.property": "1"], logger: testLogger)
        }
        #expect(error?.message.contains("no.such.property") == true)
    }
}
