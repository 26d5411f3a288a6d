import Testing
import TesseraKafka

@Suite struct ConsumerGroupTests {
    @Test func newMemberResumesAfterTheCommittedOffsets() async throws {
        struct Observed: Sendable {
            var firstRead: [KafkaMessage]
            var pollAfterClose: KafkaError?
            var secondRead: [KafkaMessage]
            var secondReadLater: [KafkaMessage]
        }
        let cluster = try TestCluster(partitions: 3)
        let observed = try await onOwnThread {
            let producer = try cluster.producer()
            for index in 0..<60 {
                try producer.send(topic: cluster.topic, key: nil, value: bytes("\(index)"), partition: Int32(index % 3))
            }
            try producer.flush(timeoutMs: 10_000)

            let first = try cluster.consumer(group: "resume")
            let firstRead = try first.poll(count: 60, within: .seconds(20))
            // Processed offsets 0...9 of each partition; 10... stay uncommitted.
            try first.commit(Dictionary(uniqueKeysWithValues: cluster.allPartitions.map { ($0, Int64(10)) }))
            first.close()
            first.close()
            let pollAfterClose = try kafkaError { _ = try first.poll(maxMessages: 1, timeoutMs: 0) }

            let second = try cluster.consumer(group: "resume")
            defer { second.close() }
            return Observed(
                firstRead: firstRead,
                pollAfterClose: pollAfterClose,
                secondRead: try second.poll(count: 30, within: .seconds(20)),
                secondReadLater: try second.poll(maxMessages: 100, timeoutMs: 500)
            )
        }
        #expect(observed.firstRead.count == 60)
        #expect(observed.pollAfterClose != nil)
        let uncommitted = Set(observed.firstRead.filter { $0.offset >= 10 }.map { "\($0.partition)/\($0.offset)" })
        #expect(Set(observed.secondRead.map { "\($0.partition)/\($0.offset)" }) == uncommitted)
        #expect(observed.secondRead.count == 30)
        #expect(observed.secondReadLater.isEmpty)
    }

    /// `nil`: the consumer's default, cooperative-sticky.
    @Test(arguments: [nil, "range", "roundrobin"])
    func twoMembersSplitThePartitions(strategy: String?) async throws {
        struct Observed: Sendable {
            var firstAlone: Set<TopicPartition>
            var assignedToFirst: [Set<TopicPartition>]
            var revokedFromFirst: [Set<TopicPartition>]
            var first: Set<TopicPartition>
            var second: Set<TopicPartition>
        }
        let cluster = try TestCluster(partitions: 4)
        let observed = try await onOwnThread {
            let settings = strategy.map { ["partition.assignment.strategy": $0] } ?? [:]
            let first = try cluster.consumer(group: "split", settings: settings)
            defer { first.close() }
            var assignedToFirst: [Set<TopicPartition>] = []
            var revokedFromFirst: [Set<TopicPartition>] = []
            first.onAssign = { assignedToFirst.append($0) }
            first.onRevoke = { revokedFromFirst.append($0) }
            _ = try first.poll(until: { first.assignment == cluster.allPartitions }, within: .seconds(20))
            let firstAlone = first.assignment

            let second = try cluster.consumer(group: "split", settings: settings)
            defer { second.close() }
            let deadline = ContinuousClock.now + .seconds(30)
            while first.assignment.isEmpty || second.assignment.isEmpty
                || first.assignment.count + second.assignment.count != Int(cluster.partitions),
                ContinuousClock.now < deadline {
                _ = try first.poll(maxMessages: 10, timeoutMs: 50)
                _ = try second.poll(maxMessages: 10, timeoutMs: 50)
            }
            return Observed(firstAlone: firstAlone, assignedToFirst: assignedToFirst, revokedFromFirst: revokedFromFirst,
                            first: first.assignment, second: second.assignment)
        }
        #expect(observed.firstAlone == cluster.allPartitions)
        #expect(observed.assignedToFirst.first == cluster.allPartitions)
        #expect(!observed.first.isEmpty && !observed.second.isEmpty, "first: \(observed.first), second: \(observed.second)")
        #expect(observed.first.count + observed.second.count == Int(cluster.partitions))
        #expect(observed.first.union(observed.second) == cluster.allPartitions)
        if strategy == nil {
            // Incremental: the first member gives up only what moves and keeps the rest throughout.
            #expect(!observed.revokedFromFirst.isEmpty)
            #expect(observed.revokedFromFirst.allSatisfy { $0.count < Int(cluster.partitions) })
        } else {
            // Eager: everything is revoked, then the new share assigned.
            #expect(observed.revokedFromFirst.contains(cluster.allPartitions))
        }
    }
}
