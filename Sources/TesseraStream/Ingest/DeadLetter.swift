import TesseraCore
import TesseraKafka

/// A message the online path rejected, as it goes to the dead-letter topic: the original
/// key and value, and headers saying why and where from.
struct DeadLetter {
    var message: KafkaMessage
    var rejection: EventRejection

    /// Enqueues the letter; delivery is confirmed by the producer's next flush.
    func send(with producer: KafkaProducer, topic: String) throws {
        try producer.send(
            topic: topic, key: message.key, value: message.value,
            headers: DeadLetterHeaders.make(for: message, rejection: rejection))
    }
}

/// Headers a dead-lettered message carries, so an operator can see why and where from.
public enum DeadLetterHeaders {
    public static let reason = "tessera.reason"
    public static let detail = "tessera.detail"
    public static let sourceTopic = "tessera.source.topic"
    public static let sourcePartition = "tessera.source.partition"
    public static let sourceOffset = "tessera.source.offset"

    public static func make(for message: KafkaMessage, rejection: EventRejection) -> [KafkaHeader] {
        [
            KafkaHeader(key: reason, value: Array(rejection.reason.rawValue.utf8)),
            KafkaHeader(key: detail, value: Array(rejection.detail.utf8)),
            KafkaHeader(key: sourceTopic, value: Array(message.topic.utf8)),
            KafkaHeader(key: sourcePartition, value: Array(String(message.partition).utf8)),
            KafkaHeader(key: sourceOffset, value: Array(String(message.offset).utf8)),
        ]
    }
}
