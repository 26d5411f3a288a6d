import NIOPosix
import TesseraRedis

/// Reads packed vectors from Redis for the lookup API. hiredis calls block, so they run
/// on a thread pool of their own, never on the event loops.
public struct VectorStore: Sendable {
    private let pool: RedisConnectionPool
    private let threads: NIOThreadPool
    private let breaker = CircuitBreaker()
    /// nil: reads wait as long as the pool's socket timeout lets them.
    private let deadlines: ReadDeadlines?

    /// `readTimeout`: a read not answered by then (waiting for a thread included) fails with
    /// `ReadDeadlines.Exceeded` and counts as a failure in the circuit breaker, so a Redis that
    /// accepts connections but does not answer trips it like one that is down.
    public init(pool: RedisConnectionPool, threads: NIOThreadPool, readTimeout: Duration? = nil) {
        self.pool = pool
        self.threads = threads
        self.deadlines = readTimeout.map { ReadDeadlines(timeout: $0) }
    }

    /// One MGET, one round trip; nil where a key has no value.
    func fetch(_ keys: ByteStrings) async throws -> ByteStrings {
        try await breaker.run {
            try await withCheckedThrowingContinuation { continuation in
                let read = PendingRead(continuation)
                deadlines?.watch(read)
                threads.submit { [pool] state in
                    // Past its deadline while queued: the lookup has its answer; spare Redis the call.
                    guard read.isPending else { return }
                    guard case .active = state else { return read.finish(.failure(NIOThreadPoolError.ThreadPoolInactive())) }
                    read.finish(Result { try pool.withConnection { try $0.mget(keys) } })
                }
            }
        }
    }

    /// True when Redis answers PING; for readiness.
    public func ping() async -> Bool {
        // While the breaker is open the answer is known; don't queue behind stuck lookups.
        guard !breaker.isOpen else { return false }
        return (try? await threads.runIfActive { [pool] in
            try pool.withConnection { try $0.send(["PING"]) }.string == "PONG"
        }) ?? false
    }
}
