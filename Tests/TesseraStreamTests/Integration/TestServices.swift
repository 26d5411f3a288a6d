import Foundation
import Logging
import TesseraCore
import TesseraRedis

/// Addresses of the services `scripts/test` starts; a missing one fails the test.
enum TestServices {
    static func environment(_ name: String) throws -> String {
        guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else {
            throw RedisError("\(name) is not set: run the tests through scripts/test, which starts the services")
        }
        return value
    }

    static func redisURL() throws -> RedisURL { try RedisURL(parsing: environment("TESSERA_REDIS_URL")) }

    /// A key prefix of its own per test, so tests never see each other's data.
    static func uniquePrefix() -> String { "t\(UUID().uuidString.prefix(8).lowercased())" }

    static func catalog() throws -> FeatureCatalog {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../../config/features.yaml").standardized.path
        return try FeatureCatalog.load(yaml: String(contentsOfFile: path, encoding: .utf8), file: path)
    }

    /// The dev broker (librdkafka's mock) waits a session timeout before rebalancing a
    /// group that had members; a short one keeps a restart's rejoin to a few seconds.
    static let devBrokerConsumerSettings = ["session.timeout.ms": "6000", "heartbeat.interval.ms": "500"]

    static let logger: Logger = {
        var logger = Logger(label: "tessera.test")
        logger.logLevel = .warning
        return logger
    }()
}

/// A clock the test moves by hand.
final class ManualClock: @unchecked Sendable {
    // Tests set and read it from one task at a time; the lock only guards the ingestion thread's reads.
    private let lock = NSLock()
    private var current: Int64

    init(_ start: Int64) { current = start }

    var nowMs: Int64 {
        get { lock.withLock { current } }
        set { lock.withLock { current = newValue } }
    }

    var read: @Sendable () -> Int64 { { [self] in self.nowMs } }
}

/// A deterministic pseudo-random generator for test data (SplitMix64).
struct SeededRandom: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Runs a test's blocking calls on a thread of their own and returns what they observed;
/// assertions stay in the async test, where Swift Testing attributes them.
func onOwnThread<Observed: Sendable>(_ body: @escaping @Sendable () throws -> Observed) async throws -> Observed {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}
