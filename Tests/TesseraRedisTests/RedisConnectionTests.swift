import Foundation
import Testing
import TesseraRedis

/// Talks to the Redis that `scripts/test` starts (TESSERA_REDIS_URL).
@Suite struct RedisConnectionTests {
    static var url: RedisURL {
        get throws {
            guard let text = ProcessInfo.processInfo.environment["TESSERA_REDIS_URL"] else {
                throw RedisError("TESSERA_REDIS_URL is not set: run the tests through scripts/test")
            }
            return try RedisURL(parsing: text)
        }
    }

    @Test func parsesURLs() throws {
        let full = try RedisURL(parsing: "redis://app:s3cret@cache.internal:7000/3")
        #expect(full.host == "cache.internal" && full.port == 7000 && full.database == 3)
        #expect(full.username == "app" && full.password == "s3cret")
        #expect(!full.description.contains("s3cret"))
        let bare = try RedisURL(parsing: "redis://localhost")
        #expect(bare.port == 6379 && bare.database == 0 && bare.password == nil)
        #expect(throws: RedisError.self) { try RedisURL(parsing: "http://localhost") }
        #expect(throws: RedisError.self) { try RedisURL(parsing: "redis://localhost:notaport") }
    }

    @Test func pipelinesCommandsInOrder() throws {
        let connection = try RedisConnection(url: try Self.url)
        let key = "test:pipeline:\(UUID().uuidString)"
        let replies = try connection.pipeline([
            ["DEL", key], ["RPUSH", key, "a", "b c", ""], ["LRANGE", key, "0", "-1"], ["GET", "\(key):missing"], ["INCR", key],
        ])
        #expect(replies[1] == .integer(3))
        #expect(replies[2] == .array([.bytes(Array("a".utf8)), .bytes(Array("b c".utf8)), .bytes([])]))
        #expect(replies[3] == .null)
        #expect(replies[4].errorMessage?.hasPrefix("WRONGTYPE") == true)
        _ = try connection.send(["DEL", key])
    }

    @Test func binarySafeValues() throws {
        let connection = try RedisConnection(url: try Self.url)
        let key = "test:binary:\(UUID().uuidString)"
        let value = String(decoding: [0x00, 0xFF, 0x0A] as [UInt8], as: UTF8.self)
        _ = try connection.send(["SET", key, value, "PX", "60000"])
        #expect(try connection.send(["GET", key]).string == value)
    }

    @Test func scriptsLoadAndRun() throws {
        let connection = try RedisConnection(url: try Self.url)
        let script = RedisScript(source: "return {tonumber(ARGV[1]) + 1, KEYS[1]}")
        let sha = try script.load(on: connection)
        let reply = try connection.send(["EVALSHA", sha, "1", "k", "41"])
        #expect(reply == .array([.integer(42), .bytes(Array("k".utf8))]))
        #expect(RedisScript.isMissingScript(try connection.send(["EVALSHA", String(repeating: "0", count: 40), "0"])))
    }

    @Test func refusedConnectionThrows() {
        #expect(throws: RedisError.self) { try RedisConnection(url: RedisURL(parsing: "redis://127.0.0.1:1/0"), timeoutMs: 500) }
    }

    @Test func poolReusesConnections() throws {
        let pool = RedisConnectionPool(url: try Self.url, maxIdle: 2)
        let first = try pool.withConnection { ObjectIdentifier($0) }
        let second = try pool.withConnection { ObjectIdentifier($0) }
        #expect(first == second)
        #expect(try pool.withConnection { try $0.send(["PING"]) }.string == "PONG")
    }
}
