/// Pass-through librdkafka settings shared by the daemon's consumers and producers.
public enum KafkaSettings {
    private static let consumerOnlyPrefixes = [
        "partition.assignment.strategy", "session.timeout.ms", "heartbeat.interval.ms", "max.poll.interval.ms",
        "auto.offset.reset", "group.instance.id", "fetch.", "enable.auto", "auto.commit", "isolation.level", "queued.",
    ]

    /// The settings (security, SASL, client ids…) minus those only consumers take, which
    /// librdkafka would warn about on a producer.
    public static func forProducer(_ settings: [String: String]) -> [String: String] {
        settings.filter { key, _ in !consumerOnlyPrefixes.contains { key.hasPrefix($0) } }
    }
}
