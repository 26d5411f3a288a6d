import Testing
import TesseraRedis

/// Passwords in Redis URLs: decoded like any URL's, never in descriptions or errors.
@Suite struct RedisSecretTests {
    let password = "p@ss/w:rd%é"

    @Test func percentEscapesInTheUserInformationAreDecoded() throws {
        let url = try RedisURL(parsing: "redis://app:p%40ss%2Fw%3Ard%25%C3%A9@cache:6380/1")
        #expect(url.username == "app" && url.password == password)
        #expect(url.host == "cache" && url.port == 6380 && url.database == 1)
        #expect(url.description == "redis://cache:6380/1")
        let bad = try #require(throws: RedisError.self) { try RedisURL(parsing: "redis://:secret%zz@cache") }
        #expect(bad.message == "bad %-escape in the URL's user or password")
    }

    @Test func failedConnectsAndAuthNeverShowThePassword() throws {
        // Nothing listens on port 1.
        let refused = try #require(throws: RedisError.self) {
            try RedisConnection(url: RedisURL(parsing: "redis://app:p%40ss%2Fw%3Ard%25%C3%A9@127.0.0.1:1/0"), timeoutMs: 500)
        }
        #expect(!"\(refused)".contains("p@ss") && "\(refused)".contains("127.0.0.1:1"))

        // The test Redis has no password: AUTH fails, and the error names no secret.
        var url = try RedisConnectionTests.url
        url.username = nil
        url.password = password
        let denied = try #require(throws: RedisError.self) { try RedisConnection(url: url, timeoutMs: 2_000) }
        #expect("\(denied)".contains("AUTH failed"))
        #expect(!"\(denied)".contains("p@ss"))
    }
}
