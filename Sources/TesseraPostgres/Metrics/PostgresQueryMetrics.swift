import Metrics
import Synchronization

/// Time and failures of PostgreSQL statements, by their first SQL keyword (`select`,
/// `insert`, `copy`, `begin`, `commit`, …; `script` for migration files, `connect` for
/// new connections): `tessera_postgres_query_duration_seconds{operation}` and
/// `tessera_postgres_errors_total{operation}` (server errors and lost connections alike).
enum PostgresQueryMetrics {
    private struct Handles {
        let duration: Metrics.Timer
        let errors: Counter
    }

    // Few distinct keywords; one lookup under a lock per statement.
    private static let handles = Mutex<[String: Handles]>([:])

    static func measure<T>(_ operation: String, _ body: () throws -> T) throws -> T {
        let started = ContinuousClock.now
        do {
            let value = try body()
            handle(operation).duration.record(duration: ContinuousClock.now - started)
            return value
        } catch {
            let handle = handle(operation)
            handle.duration.record(duration: ContinuousClock.now - started)
            handle.errors.increment()
            throw error
        }
    }

    /// The statement's first keyword, lower case; at most 16 letters so labels stay few.
    static func operation(of sql: String) -> String {
        let keyword = sql.drop { !$0.isLetter }.prefix { $0.isLetter }.prefix(16).lowercased()
        return keyword.isEmpty ? "other" : keyword
    }

    private static func handle(_ operation: String) -> Handles {
        handles.withLock { cache in
            if let known = cache[operation] { return known }
            let made = Handles(
                duration: Metrics.Timer(label: "tessera_postgres_query_duration_seconds", dimensions: [("operation", operation)]),
                errors: Counter(label: "tessera_postgres_errors_total", dimensions: [("operation", operation)]))
            cache[operation] = made
            return made
        }
    }
}
