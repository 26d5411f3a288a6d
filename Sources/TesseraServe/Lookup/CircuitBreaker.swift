import Synchronization

/// Fails fast while the online store is down: after `threshold` failures in a row the
/// breaker opens and calls fail at once for `openDuration`; then one trial call goes
/// through, and its outcome closes or reopens the breaker. Lookups answer 503 in
/// microseconds instead of each waiting for a connect timeout.
final class CircuitBreaker: Sendable {
    private struct State {
        var consecutiveFailures = 0
        var openUntil: ContinuousClock.Instant?
        var trialInFlight = false
    }

    private let threshold: Int
    private let openDuration: Duration
    private let state = Mutex(State())

    init(threshold: Int = 5, openDuration: Duration = .seconds(1)) {
        self.threshold = threshold
        self.openDuration = openDuration
    }

    struct OpenError: Error, CustomStringConvertible {
        var description: String { "the online store failed repeatedly; not trying again for a moment" }
    }

    func run<T>(_ body: () async throws -> T) async throws -> T {
        try admit()
        do {
            let result = try await body()
            state.withLock { $0 = State() }
            return result
        } catch {
            recordFailure()
            throw error
        }
    }

    private func recordFailure() {
        state.withLock { state in
            state.trialInFlight = false
            state.consecutiveFailures += 1
            if state.consecutiveFailures >= threshold { state.openUntil = .now + openDuration }
        }
    }

    var isOpen: Bool { state.withLock { $0.openUntil.map { .now < $0 } ?? false } }

    private func admit() throws {
        try state.withLock { state in
            guard let openUntil = state.openUntil else { return }
            // Open: refuse until the pause is over, then let a single trial through.
            guard ContinuousClock.now >= openUntil, !state.trialInFlight else { throw OpenError() }
            state.trialInFlight = true
        }
    }
}
