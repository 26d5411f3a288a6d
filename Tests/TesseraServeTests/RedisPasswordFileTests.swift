import Foundation
import Testing
import TesseraCore
import TesseraRedis

/// A password file named by the environment, through the config, to a Redis that
/// requires it; the URL the daemon prints has no password.
@Suite struct RedisPasswordFileTests {
    @Test func aPasswordFileLogsIntoARedisThatRequiresIt() throws {
        let redis = try RedisOutageTests.PrivateRedis()
        let password = "p@ss/w:rd %é"
        _ = try RedisConnection(url: redis.url).send(["CONFIG", "SET", "requirepass", password])
        var admin = redis.url
        admin.password = password
        // PrivateRedis shuts the server down without a password: take it off first.
        defer { _ = try? RedisConnection(url: admin).send(["CONFIG", "SET", "requirepass", ""]) }

        let yaml = "kafka: {brokers: 'k:9092'}\nredis: {url: 'redis://127.0.0.1:\(redis.port)/0'}\n"
        let config = try ServiceConfig.load(
            yaml: yaml, file: "tessera.yaml", environment: ["TESSERA_REDIS_PASSWORD_FILE": "/run/secrets/redis"],
            readFile: { path in
                guard path == "/run/secrets/redis" else { throw ConfigError(file: path, key: "", problem: "no such file") }
                return password + "\n"
            })
        let url = try RedisURL(parsing: config.redis.url)
        #expect(url.password == password)
        #expect(try RedisConnection(url: url).send(["PING"]).string == "PONG")
        #expect(!"\(url)".contains("p@ss"))

        // Without it the server refuses, and says so without the password.
        let anonymous = try RedisConnection(url: RedisURL(parsing: "redis://127.0.0.1:\(redis.port)/0"))
        #expect(try anonymous.send(["PING"]).errorMessage?.hasPrefix("NOAUTH") == true)
    }
}
