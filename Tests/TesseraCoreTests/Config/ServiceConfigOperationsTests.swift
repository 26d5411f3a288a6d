import Testing
@testable import TesseraCore

/// The operations settings of tessera.yaml: secrets from files or the environment, the
/// metrics address, request timeouts and TLS.
@Suite struct ServiceConfigOperationsTests {
    let yaml = "kafka: {brokers: 'k:9092'}\nredis: {url: 'redis://r:6379/0'}\npostgres: {url: 'postgresql://tessera@db:5432/tessera'}\n"

    func load(_ extra: String = "", environment: [String: String] = [:], files: [String: String] = [:]) throws -> ServiceConfig {
        try ServiceConfig.load(yaml: yaml + extra, file: "tessera.yaml", environment: environment, readFile: { path in
            guard let text = files[path] else { throw ConfigError(file: path, key: "", problem: "no such file") }
            return text
        })
    }

    @Test func passwordsComeFromFilesNamedInTheConfig() throws {
        #expect(try load().redis.url == "redis://r:6379/0")
        let withFiles = try ServiceConfig.load(
            yaml: """
                kafka: {brokers: 'k:9092', sasl_password_file: /run/secrets/kafka}
                redis: {url: 'redis://r:6379/0', password_file: /run/secrets/redis}
                postgres: {url: 'postgresql://tessera@db:5432/tessera?sslmode=require', password_file: pg-password}
                """,
            file: "tessera.yaml", environment: [:],
            readFile: { ["/run/secrets/kafka": "k-secret\n", "/run/secrets/redis": "p@ss/w:rd\n", "pg-password": "pg secret\r\n"][$0]! })
        #expect(withFiles.kafka.settings["sasl.password"] == "k-secret")
        // Percent-encoded into the URLs, one trailing newline dropped, the user kept.
        #expect(withFiles.redis.url == "redis://:p%40ss%2Fw%3Ard@r:6379/0")
        #expect(withFiles.postgresURL == "postgresql://tessera:pg%20secret@db:5432/tessera?sslmode=require")
    }

    @Test func environmentValuesWinOverFilesAndReplaceURLPasswords() throws {
        let config = try ServiceConfig.load(
            yaml: "kafka: {brokers: 'k:9092'}\nredis: {url: 'redis://user:old@r:6379/2', password_file: /nope}\n",
            file: "tessera.yaml",
            environment: ["TESSERA_REDIS_PASSWORD": "from-env", "TESSERA_KAFKA_SASL_PASSWORD_FILE": "/run/kafka"],
            readFile: { $0 == "/run/kafka" ? "k2" : "" })
        #expect(config.redis.url == "redis://user:from-env@r:6379/2")
        #expect(config.kafka.settings["sasl.password"] == "k2")
    }

    @Test func unreadableOrEmptySecretFilesNameTheKeyAndPathOnly() throws {
        #expect(throws: ConfigError(
            file: "tessera.yaml", key: "redis.password_file",
            problem: "cannot read the secret file '/run/missing': /run/missing: no such file")) {
            try ServiceConfig.load(
                yaml: "kafka: {brokers: 'k:9092'}\nredis: {url: 'redis://r:6379/0', password_file: /run/missing}\n",
                file: "tessera.yaml", environment: [:], readFile: { path in throw ConfigError(file: path, key: "", problem: "no such file") })
        }
        #expect(throws: ConfigError(
            file: "tessera.yaml", key: "postgres.password_file (from TESSERA_POSTGRES_PASSWORD_FILE)",
            problem: "the secret file '/run/empty' is empty")) {
            try load(environment: ["TESSERA_POSTGRES_PASSWORD_FILE": "/run/empty"], files: ["/run/empty": "\n"])
        }
    }

    @Test func metricsListenIsAnAddressOfItsOwn() throws {
        #expect(try load().api.metricsListen == nil)
        let config = try load("api: {listen: '0.0.0.0:8080', metrics_listen: '0.0.0.0:9090'}\n")
        #expect(config.api.metricsListen?.host == "0.0.0.0" && config.api.metricsListen?.port == 9090)
        let fromEnvironment = try load(environment: ["TESSERA_API_METRICS_LISTEN": "127.0.0.1:9100"])
        #expect(fromEnvironment.api.metricsListen?.port == 9100)
        #expect(throws: ConfigError(file: "tessera.yaml", key: "api.metrics_listen", problem: "'127.0.0.1:8080' is the API's own address (api.listen)")) {
            try load("api: {metrics_listen: '127.0.0.1:8080'}\n")
        }
        #expect(throws: ConfigError(file: "tessera.yaml", key: "api.metrics_listen", problem: "'9090' is not host:port")) {
            try load("api: {metrics_listen: '9090'}\n")
        }
    }

    @Test func requestTimeoutDefaultsToTwoSecondsAndTurnsOff() throws {
        #expect(try load().api.requestTimeoutMs == 2_000)
        #expect(try load("api: {request_timeout: 250ms}\n").api.requestTimeoutMs == 250)
        #expect(try load("api: {request_timeout: 'off'}\n").api.requestTimeoutMs == nil)
        #expect(throws: ConfigError(file: "tessera.yaml", key: "api.request_timeout", problem: "'soon' is not a duration (use e.g. 250ms, 30s, 5m, 1h, 7d)")) {
            try load("api: {request_timeout: soon}\n")
        }
    }

    @Test func theEventLogRunsTwoConsumersUnlessToldOtherwise() throws {
        #expect(try load().ingest.offlineConsumers == 2)
        #expect(try load("ingest: {offline_consumers: 1}\n").ingest.offlineConsumers == 1)
        #expect(throws: ConfigError.self) { try load("ingest: {offline_consumers: 0}\n") }
    }

    @Test func tlsNeedsBothFiles() throws {
        #expect(try load().api.tls == nil)
        let config = try load("api: {tls: {certificate: tls/cert.pem, private_key: tls/key.pem}}\n")
        #expect(config.api.tls == ServiceConfig.TLS(certificatePath: "tls/cert.pem", privateKeyPath: "tls/key.pem"))
        #expect(throws: ConfigError(file: "tessera.yaml", key: "api.tls.private_key", problem: "is required with api.tls.certificate")) {
            try load("api: {tls: {certificate: cert.pem}}\n")
        }
        let fromEnvironment = try load(environment: ["TESSERA_API_TLS_CERTIFICATE": "/tls/c.pem", "TESSERA_API_TLS_PRIVATE_KEY": "/tls/k.pem"])
        #expect(fromEnvironment.api.tls?.privateKeyPath == "/tls/k.pem")
    }
}
