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
        /// Each event log consumer's batches: one COPY and one transaction each.
        public var offlineBatchMaxEvents: Int
        /// Consumers the event log runs in its group, each with its own thread and PostgreSQL
        /// connection: one PostgreSQL backend uses at most one core.
        public var offlineConsumers: Int
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
        /// A lookup not answered within this gets 503 (nil: no limit).
        public var requestTimeoutMs: Int64?
        /// When set, /metrics is served here, without API keys, and not on the main port.
        public var metricsListen: (host: String, port: Int)?
        /// When set, the API speaks HTTPS only.
        public var tls: TLS?
    }

    /// PEM files for the API's HTTPS; relative paths are relative to the config folder.
    public struct TLS: Sendable, Equatable {
        /// The certificate chain, leaf first.
        public var certificatePath: String
        public var privateKeyPath: String
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
        ("TESSERA_API_METRICS_LISTEN", "api.metrics_listen"),
        ("TESSERA_API_TLS_CERTIFICATE", "api.tls.certificate"), ("TESSERA_API_TLS_PRIVATE_KEY", "api.tls.private_key"),
    ]

    /// The variables that carry secrets, by the file key they stand in for: the value in
    /// `variable`, or a file holding it in `fileVariable`.
    public static let secretVariables: [(variable: String, fileVariable: String, key: String)] = [
        ("TESSERA_REDIS_PASSWORD", "TESSERA_REDIS_PASSWORD_FILE", "redis.password_file"),
        ("TESSERA_POSTGRES_PASSWORD", "TESSERA_POSTGRES_PASSWORD_FILE", "postgres.password_file"),
        ("TESSERA_KAFKA_SASL_PASSWORD", "TESSERA_KAFKA_SASL_PASSWORD_FILE", "kafka.sasl_password_file"),
    ]

    /// For callers without files (tests, tools): any secret file is an error.
    public static let noSecretFiles: @Sendable (String) throws -> String = { path in
        throw ConfigError(file: path, key: "", problem: "secret files are not read here")
    }

    /// `readFile` reads secret files (`*_password_file`, `TESSERA_*_PASSWORD_FILE`).
    public static func load(
        yaml: String, file: String, environment: [String: String], readFile: @escaping (String) throws -> String = noSecretFiles
    ) throws -> ServiceConfig {
        let root = try ConfigNode.parse(yaml: yaml, file: file)
        let secrets = ConfigSecrets(environment: environment, readFile: readFile, file: file)
        func secret(_ key: String, in node: ConfigNode?, named name: String) throws -> String? {
            let variables = secretVariables.first { $0.key == key }!
            return try secrets.resolve(
                variable: variables.variable, fileVariable: variables.fileVariable, fileKey: node?.optional(name), keyPath: key)
        }
        try root.requireKeys(in: ["kafka", "redis", "postgres", "ingest", "roller", "snapshots", "api", "log", "shutdown_timeout"])
        func override(_ key: String) -> String? {
            guard let variable = environmentOverrides.first(where: { $0.key == key })?.variable,
                  let value = environment[variable], !value.isEmpty else { return nil }
            return value
        }

        let kafkaNode = try root.required("kafka")
        try kafkaNode.requireKeys(in: [
            "brokers", "topic", "dead_letter_topic", "consumer_group", "offline_consumer_group", "settings", "sasl_password_file",
        ])
        let topic = try override("kafka.topic") ?? kafkaNode.optional("topic")?.string() ?? "clickstream"
        var kafka = Kafka(
            brokers: try override("kafka.brokers") ?? kafkaNode.required("brokers").string(),
            topic: topic,
            deadLetterTopic: try kafkaNode.optional("dead_letter_topic")?.string() ?? "\(topic).dlq",
            consumerGroup: try kafkaNode.optional("consumer_group")?.string() ?? "tessera-online",
            offlineConsumerGroup: try kafkaNode.optional("offline_consumer_group")?.string() ?? "tessera-offline",
            settings: try kafkaNode.optional("settings")?.stringMap() ?? [:])
        if let password = try secret("kafka.sasl_password_file", in: kafkaNode, named: "sasl_password_file") {
            kafka.settings["sasl.password"] = password
        }

        let redisNode = try root.required("redis")
        try redisNode.requireKeys(in: ["url", "key_prefix", "password_file"])
        let redisURLNode = try redisNode.required("url")
        var redisURL = try override("redis.url") ?? redisURLNode.string()
        guard redisURL.hasPrefix("redis://") else { throw redisURLNode.error("must start with redis://") }
        if let password = try secret("redis.password_file", in: redisNode, named: "password_file") {
            redisURL = ConfigSecrets.url(redisURL, withPassword: password)
        }
        let redis = Redis(url: redisURL, keyPrefix: try redisNode.optional("key_prefix")?.string() ?? "ts")

        let postgresNode = try root.optional("postgres")
        try postgresNode?.requireKeys(in: ["url", "password_file"])
        var postgresURL = try override("postgres.url") ?? postgresNode?.optional("url")?.string() ?? ""
        if let password = try secret("postgres.password_file", in: postgresNode, named: "password_file") {
            guard !postgresURL.isEmpty else {
                throw ConfigError(file: file, key: "postgres.password_file", problem: "a PostgreSQL password is set but postgres.url is not")
            }
            postgresURL = ConfigSecrets.url(postgresURL, withPassword: password)
        }

        let ingestNode = try root.optional("ingest")
        try ingestNode?.requireKeys(in: [
            "batch_max_events", "offline_batch_max_events", "offline_consumers", "batch_max_wait", "future_tolerance",
            "max_event_bytes",
        ])
        let ingest = Ingest(
            batchMaxEvents: try ingestNode?.optional("batch_max_events")?.positiveInt() ?? 50_000,
            offlineBatchMaxEvents: try ingestNode?.optional("offline_batch_max_events")?.positiveInt() ?? 5_000,
            offlineConsumers: try ingestNode?.optional("offline_consumers")?.positiveInt() ?? 2,
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
            "request_timeout", "metrics_listen", "tls",
        ])
        let listenText = try override("api.listen") ?? apiNode?.optional("listen")?.string() ?? "127.0.0.1:8080"
        guard let (host, port) = parseListen(listenText) else {
            let key = override("api.listen") != nil ? "api.listen (from TESSERA_API_LISTEN)" : "api.listen"
            throw ConfigError(file: file, key: key, problem: "'\(listenText)' is not host:port")
        }
        var metricsListen: (host: String, port: Int)?
        if let text = try override("api.metrics_listen") ?? apiNode?.optional("metrics_listen")?.string() {
            guard let parsed = parseListen(text) else {
                let key = override("api.metrics_listen") != nil ? "api.metrics_listen (from TESSERA_API_METRICS_LISTEN)" : "api.metrics_listen"
                throw ConfigError(file: file, key: key, problem: "'\(text)' is not host:port")
            }
            guard parsed != (host, port) else {
                throw ConfigError(file: file, key: "api.metrics_listen", problem: "'\(text)' is the API's own address (api.listen)")
            }
            metricsListen = parsed
        }
        var requestTimeoutMs: Int64? = 2_000
        if let timeoutNode = try apiNode?.optional("request_timeout") {
            if try timeoutNode.string() == "off" {
                requestTimeoutMs = nil
            } else {
                requestTimeoutMs = try timeoutNode.durationMs()
            }
        }
        let tlsNode = try apiNode?.optional("tls")
        try tlsNode?.requireKeys(in: ["certificate", "private_key"])
        let certificate = try override("api.tls.certificate") ?? tlsNode?.optional("certificate")?.string()
        let privateKey = try override("api.tls.private_key") ?? tlsNode?.optional("private_key")?.string()
        var tls: TLS?
        switch (certificate, privateKey) {
        case let (certificate?, privateKey?): tls = TLS(certificatePath: certificate, privateKeyPath: privateKey)
        case (nil, nil): tls = nil
        case (nil, _?): throw ConfigError(file: file, key: "api.tls.certificate", problem: "is required with api.tls.private_key")
        case (_?, nil): throw ConfigError(file: file, key: "api.tls.private_key", problem: "is required with api.tls.certificate")
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
            maxInFlight: try apiNode?.optional("max_in_flight")?.positiveInt() ?? 512,
            requestTimeoutMs: requestTimeoutMs, metricsListen: metricsListen, tls: tls)

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
