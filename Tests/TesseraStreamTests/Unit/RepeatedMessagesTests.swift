import Testing
import TesseraKafka
@testable import TesseraStream

/// A partition assigned again during a pause is fetched again from its last commit: what
/// the online path already holds must not join a batch twice.
@Suite struct RepeatedMessagesTests {
    func message(_ partition: Int32, _ offset: Int64) -> KafkaMessage {
        KafkaMessage(topic: "clickstream", partition: partition, offset: offset, key: nil, value: Array("{}".utf8), timestampMs: nil, headers: [])
    }

    @Test func messagesAtOrBelowWhatIsHeldAreDropped() {
        let held = [message(0, 10), message(0, 11), message(1, 5)]
        let polled = [message(0, 10), message(0, 11), message(0, 12), message(1, 4), message(1, 6), message(2, 0)]
        let kept = IngestionPipeline.notYetHeld(polled, held: held.nextOffsets)
        #expect(kept.map { [Int64($0.partition), $0.offset] } == [[0, 12], [1, 6], [2, 0]])
    }

    @Test func aPollThatRepeatsItselfKeepsOneCopy() {
        let polled = [message(0, 1), message(0, 2), message(0, 1), message(0, 2), message(0, 3)]
        #expect(IngestionPipeline.notYetHeld(polled, held: [:]).map(\.offset) == [1, 2, 3])
    }

    @Test func aCommitStoresTheOffsetAfterTheHighestMessageOfEachPartition() {
        let messages = [message(0, 10), message(1, 3), message(0, 12), message(0, 11), message(1, 2)]
        #expect(messages.nextOffsets == [
            TopicPartition(topic: "clickstream", partition: 0): 13, TopicPartition(topic: "clickstream", partition: 1): 4,
        ])
    }

    @Test func runsOfOnePartitionKeepTheirHighestOffsetWhenThePartitionComesBack() {
        var messages = [message(0, 5), message(0, 6), message(1, 1), message(1, 2), message(0, 3), message(0, 4)]
        messages.append(KafkaMessage(topic: "other", partition: 0, offset: 9, key: nil, value: [], timestampMs: nil, headers: []))
        #expect(messages.nextOffsets == [
            TopicPartition(topic: "clickstream", partition: 0): 7, TopicPartition(topic: "clickstream", partition: 1): 3,
            TopicPartition(topic: "other", partition: 0): 10,
        ])
    }
}
