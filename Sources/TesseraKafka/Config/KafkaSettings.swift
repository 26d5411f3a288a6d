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

    /// The settings for member `member` (from 1) of `count` consumers that one daemon runs in a
    /// group. Each holds about 1/count of the partitions, so it gets 1/count of the fetch-ahead
    /// budget (`queued.min.messages` and `queued.max.messages.kbytes`, where set): the same
    /// memory feeds the same rate. A static member's `group.instance.id` gets `-<member>` after
    /// the first, since two members with one id fence each other off.
    public static func forMember(_ member: Int, of count: Int, _ settings: [String: String]) -> [String: String] {
        guard count > 1 else { return settings }
        var settings = settings
        for key in ["queued.min.messages", "queued.max.messages.kbytes"] {
            if let value = settings[key].flatMap({ Int($0) }) { settings[key] = String(max(1, value / count)) }
        }
        if member > 1, let id = settings["group.instance.id"] { settings["group.instance.id"] = "\(id)-\(member)" }
        return settings
    }
}
