import Testing
import TesseraKafka

/// Pausing stops fetching but not the group session: a paused consumer that keeps polling
/// past `max.poll.interval.ms` keeps its partitions, and resumes where it stopped.
@Suite struct ConsumerPauseTests {
    @Test func pausedPartitionsDeliverNothingUntilResumedAndStayAssigned() async throws {
        struct Observed: Sendable {
            var before: Int
            var paused: Set<TopicPartition>
            var whilePaused: [KafkaMessage]
            var revocations: Int
            var afterResume: [KafkaMessage]
            var pausedAfterResume: Set<TopicPartition>
        }
        let cluster = try TestCluster(partitions: 2)
        let observed = try await onOwnThread {
            let producer = try cluster.producer()
            let consumer = try cluster.consumer(group: "pause", settings: ["max.poll.interval.ms": "6500"])
            defer { consumer.close() }
            var revocations = 0
            consumer.onRevoke = { _ in revocations += 1 }
            for index in 0..<10 { try producer.send(topic: cluster.topic, key: nil, value: bytes("a\(index)"), partition: Int32(index % 2)) }
            try producer.flush(timeoutMs: 10_000)
            let before = try consumer.poll(count: 10, within: .seconds(20)).count

            try consumer.pause(consumer.assignment)
            let paused = consumer.pausedPartitions
            for index in 0..<10 { try producer.send(topic: cluster.topic, key: nil, value: bytes("b\(index)"), partition: Int32(index % 2)) }
            try producer.flush(timeoutMs: 10_000)
            // Longer than max.poll.interval.ms, polling all along as a paused writer does.
            var whilePaused: [KafkaMessage] = []
            let until = ContinuousClock.now + .seconds(8)
            while ContinuousClock.now < until { whilePaused += try consumer.poll(maxMessages: 100, timeoutMs: 200) }

            try consumer.resume(consumer.assignment)
            return Observed(
                before: before, paused: paused, whilePaused: whilePaused, revocations: revocations,
                afterResume: try consumer.poll(count: 10, within: .seconds(20)), pausedAfterResume: consumer.pausedPartitions)
        }
        #expect(observed.before == 10)
        #expect(observed.paused == cluster.allPartitions)
        #expect(observed.whilePaused.isEmpty, "\(observed.whilePaused.count) messages while paused")
        #expect(observed.revocations == 0)
        #expect(observed.afterResume.map { String(decoding: $0.value, as: UTF8.self) }.sorted() == (0..<10).map { "b\($0)" }.sorted())
        #expect(observed.pausedAfterResume.isEmpty)
    }
}
