import Metrics
import Synchronization

/// Round-trip time and failures of Redis calls, by the first command of the call (a
/// pipeline is one round trip): `tessera_redis_command_duration_seconds{command}` and
/// `tessera_redis_command_errors_total{command}` (connections lost, timeouts, refused
/// connects as `CONNECT`). Error replies (NOSCRIPT, WRONGTYPE) are answers, not failures.
enum RedisCommandMetrics {
    private struct Handles {
        let duration: Metrics.Timer
        let errors: Counter
    }

    // Few distinct commands; one lookup under a lock per round trip.
    private static let handles = Mutex<[String: Handles]>([:])

    static func record(command: String, since started: ContinuousClock.Instant, failed: Bool) {
        record(command: command, took: ContinuousClock.now - started, failed: failed)
    }

    static func record(command: String, took elapsed: Duration, failed: Bool) {
        let handle = handles.withLock { cache in
            if let known = cache[command] { return known }
            let made = Handles(
                duration: Metrics.Timer(label: "tessera_redis_command_duration_seconds", dimensions: [("command", command)]),
                errors: Counter(label: "tessera_redis_command_errors_total", dimensions: [("command", command)]))
            cache[command] = made
            return made
        }
        handle.duration.record(duration: elapsed)
        if failed { handle.errors.increment() }
    }

    /// The command's name as metrics label it: upper case, at most 24 bytes (a malformed
    /// first argument cannot make an unbounded label).
    static func name(of command: ByteStrings) -> String {
        guard command.count > 0, let first = command[0] else { return "NONE" }
        let letters = first.prefix(24).filter { (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0 & 0xDF) }
        return letters.isEmpty ? "OTHER" : String(decoding: letters.map { $0 & 0xDF }, as: UTF8.self)
    }
}
