/// Everything `config/tessera.yaml` sets, after environment overrides.
public struct ServiceConfig: Sendable {
    public struct Kafka: Sendable {
        public var brokers: String
        public var topic: String
        public var deadLetterTopic: String
        public var consumerGroup: String
        /// The event log's group: separate, so each path keeps its own offsets.
        public var offlineConsumerGroup: String
        /// librdkafka properties passed through as they are.
        public var settings: [String: String]
    }

    public struct Redis: Sendable {
        public var url: String
        public var keyPrefix: String
    }

    public struct Ingest: Sendable {
        public var batchMaxEvents: Int
        /// COPY batches can be larger than Redis batches: one transaction each.
        public var offlineBatchMaxEvents: Int
        public var batchMaxWaitMs: Int64
        public var futureToleranceMs: Int64
        public var maxEventBytes: Int
    }

    public struct API: Sendable {
        public var host: String
        public var port: Int
        public var maxBodyBytes: Int
        public var maxEntitiesPerRequest: Int
        /// API keys required on every route but /healthz and /readyz.
        public var authEnabled: Bool
        /// Hashes of the API keys; relative paths are relative to the config folder.
        public var keysFile: String
        /// Per key; 0 turns rate limiting off.
        public var rateLimitPerSecond: Double
        public var rateLimitBurst: Int
        /// Requests served at once before new ones get 503.
        public var maxInFlight: Int
    }

    public var kafka: Kafka
    public var redis: Redis
    public var postgresURL: String
    public var ingest: Ingest
    public var rollerIntervalMs: Int64
    /// How often changed vectors are written to PostgreSQL; nil when snapshots are off
    /// (`snapshots.interval: off`, or no PostgreSQL URL).
    public var snapshotIntervalMs: Int64?
    public var api: API
    public var logLevel: String
    /// How long a graceful shutdown may take before the process exits anyway.
    public var shutdownTimeoutMs: Int64
}

extension ServiceConfig {
    /// The environment variables that override the file, by the key they replace.
    public static let environmentOverrides: [(variable: String, key: String)] = [
        ("TESSERA_KAFKA_BROKERS", "kafka.brokers"), ("TESSERA_TOPIC", "kafka.topic"),
        ("TESSERA_REDIS_URL", "redis.url"), ("TESSERA_POSTGRES_URL", "postgres.url"),
        ("TESSERA_API_LISTEN", "api.listen"), ("TESSERA_API_AUTH", "api.auth"),
    ]

    public static func load(yaml: String, file: String, environment: [String: String]) throws -> ServiceConfig {
        let root = try ConfigNode.parse(yaml: yaml, file: file)
        try root.requireKeys(in: ["kafka", "redis", "postgres", "ingest", "roller", "snapshots", "api", "log", "shutdown_timeout"])
        func override(_ key: String) -> String? {
            guard let variable = environmentOverrides.first(where: { $0.key == key })?.variable,
                  let value = environment[variable], !value.isEmpty else { return nil }
            return value
        }

        let kafkaNode = try root.required("kafka")
        try kafkaNode.requireKeys(in: ["brokers", "topic", "dead_letter_topic", "consumer_group", "offline_consumer_group", "settings"])
        let topic = try override("kafka.topic") ?? kafkaNode.optional("topic")?.string() ?? "clickstream"
        let kafka = Kafka(
            brokers: try override("kafka.brokers") ?? kafkaNode.required("brokers").string(),
            topic: topic,
            deadLetterTopic: try kafkaNode.optional("dead_letter_topic")?.string() ?? "\(topic).dlq",
            consumerGroup: try kafkaNode.optional("consumer_group")?.string() ?? "tessera-online",
            offlineConsumerGroup: try kafkaNode.optional("offline_consumer_group")?.string() ?? "tessera-offline",
            settings: try kafkaNode.optional("settings")?.stringMap() ?? [:])

        let redisNode = try root.required("redis")
        try redisNode.requireKeys(in: ["url", "key_prefix"])
        let redisURLNode = try redisNode.required("url")
        let redisURL = try override("redis.url") ?? redisURLNode.string()
        guard redisURL.hasPrefix("redis://") else { throw redisURLNode.error("must start with redis://") }
        let redis = Redis(url: redisURL, keyPrefix: try redisNode.optional("key_prefix")?.string() ?? "ts")

        let postgresNode = try root.optional("postgres")
        try postgresNode?.requireKeys(in: ["url"])
        let postgresURL = try override("postgres.url") ?? postgresNode?.optional("url")?.string() ?? ""

        let ingestNode = try root.optional("ingest")
        try ingestNode?.requireKeys(in: [
            "batch_max_events", "offline_batch_max_events", "batch_max_wait", "future_tolerance", "max_event_bytes",
        ])
        let ingest = Ingest(
            batchMaxEvents: try ingestNode?.optional("batch_max_events")?.positiveInt() ?? 20_000,
            offlineBatchMaxEvents: try ingestNode?.optional("offline_batch_max_events")?.positiveInt() ?? 20_000,
            batchMaxWaitMs: try ingestNode?.optional("batch_max_wait")?.durationMs() ?? 50,
            futureToleranceMs: try ingestNode?.optional("future_tolerance")?.durationMs() ?? 300_000,
            maxEventBytes: try ingestNode?.optional("max_event_bytes")?.positiveInt() ?? 65_536)

        let rollerNode = try root.optional("roller")
        try rollerNode?.requireKeys(in: ["interval"])
        let rollerIntervalMs = try rollerNode?.optional("interval")?.durationMs() ?? 1_000

        let snapshotsNode = try root.optional("snapshots")
        try snapshotsNode?.requireKeys(in: ["interval"])
        var snapshotIntervalMs: Int64? = 300_000
        if let intervalNode = try snapshotsNode?.optional("interval") {
            let text = try intervalNode.string()
            if text == "off" {
                snapshotIntervalMs = nil
            } else {
                guard let ms = DurationText.milliseconds(text) else {
                    throw intervalNode.error("'\(text)' is not a duration (use e.g. 30s, 5m, 1h) or off")
                }
                snapshotIntervalMs = ms
            }
        }

        let apiNode = try root.optional("api")
        try apiNode?.requireKeys(in: [
            "listen", "max_body_bytes", "max_entities_per_request", "auth", "keys_file", "rate_limit", "max_in_flight",
        ])
        let listenText = try override("api.listen") ?? apiNode?.optional("listen")?.string() ?? "127.0.0.1:8080"
        guard let (host, port) = parseListen(listenText) else {
            let key = override("api.listen") != nil ? "api.listen (from TESSERA_API_LISTEN)" : "api.listen"
            throw ConfigError(file: file, key: key, problem: "'\(listenText)' is not host:port")
        }
        let authText = try override("api.auth") ?? apiNode?.optional("auth")?.string() ?? "on"
        guard authText == "on" || authText == "off" else {
            throw ConfigError(file: file, key: "api.auth", problem: "'\(authText)' must be on or off")
        }
        let rateNode = try apiNode?.optional("rate_limit")
        try rateNode?.requireKeys(in: ["per_second", "burst"])
        let api = API(
            host: host, port: port,
            maxBodyBytes: try apiNode?.optional("max_body_bytes")?.positiveInt() ?? 1_048_576,
            maxEntitiesPerRequest: try apiNode?.optional("max_entities_per_request")?.positiveInt() ?? 1_000,
            authEnabled: authText == "on",
            keysFile: try apiNode?.optional("keys_file")?.string() ?? "api-keys",
            rateLimitPerSecond: try rateNode?.optional("per_second")?.double() ?? 0,
            rateLimitBurst: try rateNode?.optional("burst")?.positiveInt() ?? 100,
            maxInFlight: try apiNode?.optional("max_in_flight")?.positiveInt() ?? 512)

        let logNode = try root.optional("log")
        try logNode?.requireKeys(in: ["level"])
        let levelNode = try logNode?.optional("level")
        let logLevel = try levelNode?.string() ?? "info"
        let levels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]
        guard levels.contains(logLevel) else {
            throw levelNode!.error("'\(logLevel)' is not a level (use \(levels.joined(separator: ", ")))")
        }

        return ServiceConfig(
            kafka: kafka, redis: redis, postgresURL: postgresURL, ingest: ingest,
            rollerIntervalMs: rollerIntervalMs, snapshotIntervalMs: postgresURL.isEmpty ? nil : snapshotIntervalMs, api: api, logLevel: logLevel,
            shutdownTimeoutMs: try root.optional("shutdown_timeout")?.durationMs() ?? 30_000)
    }

    private static func parseListen(_ text: String) -> (String, Int)? {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
              (0...65_535).contains(port) else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return host.isEmpty ? nil : (host, port)
    }
}
