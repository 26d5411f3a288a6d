import Synchronization
import TesseraRedis

/// The deadlines of the lookups' reads from Redis, the one step of a lookup that can stall.
/// A read not answered by its deadline fails with `Exceeded`, and its late result is
/// dropped. One sweeper task checks them every `tick` while any is watched, and ends when
/// none is: a timer task per lookup cost about a fifth of serve's CPU at 3,000 lookups a
/// second (docs/benchmarks.md).
final class ReadDeadlines: Sendable {
    struct Exceeded: Error, CustomStringConvertible {
        var timeout: Duration
        var description: String { "the online store did not answer within \(timeout)" }
    }

    let timeout: Duration
    private let tick: Duration
    private struct Watched {
        var read: PendingRead
        var deadline: ContinuousClock.Instant
    }
    private struct State {
        var watched: [Watched] = []
        var sweeping = false
    }
    private let state = Mutex(State())

    init(timeout: Duration, tick: Duration = .milliseconds(10)) {
        self.timeout = timeout
        self.tick = tick
    }

    func watch(_ read: PendingRead) {
        let deadline = ContinuousClock.now + timeout
        let startSweeper = state.withLock { state in
            state.watched.append(Watched(read: read, deadline: deadline))
            defer { state.sweeping = true }
            return !state.sweeping
        }
        if startSweeper { Task { await sweep() } }
    }

    private func sweep() async {
        while true {
            try? await Task.sleep(for: tick)
            let now = ContinuousClock.now
            var expired: [PendingRead] = []
            let done = state.withLock { state in
                state.watched.removeAll { watched in
                    guard watched.read.isPending else { return true }
                    guard watched.deadline <= now else { return false }
                    expired.append(watched.read)
                    return true
                }
                if state.watched.isEmpty { state.sweeping = false }
                return !state.sweeping
            }
            for read in expired { read.finish(.failure(Exceeded(timeout: timeout))) }
            if done { return }
        }
    }
}

/// One read's continuation, resumed once: by the read or by its deadline, whichever is first.
final class PendingRead: Sendable {
    private let continuation: Mutex<CheckedContinuation<ByteStrings, any Error>?>

    init(_ continuation: CheckedContinuation<ByteStrings, any Error>) { self.continuation = Mutex(continuation) }

    /// False once answered: the sweeper then lets go of it.
    var isPending: Bool { continuation.withLock { $0 != nil } }

    func finish(_ result: Result<ByteStrings, any Error>) {
        let waiting = continuation.withLock { stored in
            defer { stored = nil }
            return stored
        }
        waiting?.resume(with: result)
    }
}
