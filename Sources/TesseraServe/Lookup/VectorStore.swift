import NIOPosix
import TesseraRedis

/// Reads packed vectors from Redis for the lookup API. hiredis calls block, so they run
/// on a thread pool of their own, never on the event loops.
public struct VectorStore: Sendable {
    private let pool: RedisConnectionPool
    private let threads: NIOThreadPool
    private let breaker = CircuitBreaker()

    public init(pool: RedisConnectionPool, threads: NIOThreadPool) {
        self.pool = pool
        self.threads = threads
    }

    /// One MGET, one round trip; nil where a key has no value.
    func fetch(_ keys: ByteStrings) async throws -> ByteStrings {
        try await breaker.run {
            try await threads.runIfActive { [pool] in try pool.withConnection { try $0.mget(keys) } }
        }
    }

    /// A lookup that missed its deadline counts as a failure of the store.
    func recordTimeout() { breaker.recordFailure() }

    /// True when Redis answers PING; for readiness.
    public func ping() async -> Bool {
        // While the breaker is open the answer is known; don't queue behind stuck lookups.
        guard !breaker.isOpen else { return false }
        return (try? await threads.runIfActive { [pool] in
            try pool.withConnection { try $0.send(["PING"]) }.string == "PONG"
        }) ?? false
    }
}
