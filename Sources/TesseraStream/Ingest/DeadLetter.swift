import TesseraCore
import TesseraKafka

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
