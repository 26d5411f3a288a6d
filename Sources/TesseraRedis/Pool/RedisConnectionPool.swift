import Synchronization

/// A bounded set of connections shared across threads. A caller borrows one connection
/// exclusively for the length of `withConnection`; broken connections are dropped and
/// replaced on the next borrow.
public final class RedisConnectionPool: Sendable {
    public let url: RedisURL
    private let timeoutMs: Int
    private let maxIdle: Int
    // RedisConnection is not Sendable; idle ones are owned by the pool and handed to one borrower at a time.
    private let idle: Mutex<[UncheckedConnection]> = Mutex([])

    private struct UncheckedConnection: @unchecked Sendable {
        // Safe: a connection in the idle list is referenced by nothing else.
        let connection: RedisConnection
    }

    public init(url: RedisURL, maxIdle: Int = 8, timeoutMs: Int = 2_000) {
        self.url = url
        self.maxIdle = maxIdle
        self.timeoutMs = timeoutMs
    }

    public func withConnection<T>(_ body: (RedisConnection) throws -> T) throws -> T {
        let connection = try idle.withLock { $0.popLast()?.connection } ?? RedisConnection(url: url, timeoutMs: timeoutMs)
        defer {
            if !connection.isBroken {
                let kept = idle.withLock { list -> Bool in
                    guard list.count < maxIdle else { return false }
                    list.append(UncheckedConnection(connection: connection))
                    return true
                }
                if !kept { connection.close() }
            }
        }
        return try body(connection)
    }

    public func closeAll() {
        let connections = idle.withLock { list -> [UncheckedConnection] in
            defer { list.removeAll() }
            return list
        }
        connections.forEach { $0.connection.close() }
    }
}
