import TesseraRedis

/// Reads packed vectors from Redis for the lookup API, without blocking a thread: each read
/// is one MGET pipelined on a connection of `RedisPipeline` and answered on an event loop.
public struct VectorStore: Sendable {
    private let redis: RedisPipeline
    private let breaker = CircuitBreaker()
    /// nil: reads wait as long as the pipeline's reply timeout lets them.
    private let deadlines: ReadDeadlines?

    /// `readTimeout`: a read not answered by then fails with `ReadDeadlines.Exceeded` and
    /// counts as a failure in the circuit breaker, so a Redis that accepts connections but
    /// does not answer trips it like one that is down.
    public init(redis: RedisPipeline, readTimeout: Duration? = nil) {
        self.redis = redis
        self.deadlines = readTimeout.map { ReadDeadlines(timeout: $0) }
    }

    /// One MGET, one round trip; nil where a key has no value.
    func fetch(_ keys: ByteStrings) async throws -> ByteStrings {
        try await breaker.run {
            try await withCheckedThrowingContinuation { continuation in
                let read = PendingRead(continuation)
                deadlines?.watch(read)
                redis.mget(keys) { read.finish($0) }
            }
        }
    }

    /// True when Redis answers PING; for readiness.
    public func ping() async -> Bool {
        // While the breaker is open the answer is known; don't wait behind stuck lookups.
        guard !breaker.isOpen else { return false }
        return (try? await redis.send(["PING"]))?.string == "PONG"
    }
}
