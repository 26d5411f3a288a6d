import Synchronization

/// Answers a request by its deadline even when the work behind it is stuck: the work
/// runs in a task of its own and the caller gets whichever comes first, its result or
/// the deadline (nil). Work past its deadline is cancelled and its result dropped; a
/// blocked Redis call still finishes on its thread, so it holds that thread until then.
enum RequestDeadline {
    static func run<T: Sendable>(within timeout: Duration, _ work: @escaping @Sendable () async throws -> T) async throws -> T? {
        let task = Task { try await work() }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T?, Error>) in
                let first = FirstOutcome(continuation)
                let timer = Task {
                    try await Task.sleep(for: timeout)  // cancelled (throws) when the work answers first
                    if first.resume(with: .success(nil)) { task.cancel() }
                }
                Task {
                    let result = await task.result
                    timer.cancel()
                    first.resume(with: result.map { $0 })
                }
            }
        } onCancel: {
            task.cancel()
        }
    }
}

/// Resumes a continuation once: the first outcome wins, later ones are dropped.
private final class FirstOutcome<T: Sendable>: Sendable {
    private let continuation: Mutex<CheckedContinuation<T, Error>?>

    init(_ continuation: CheckedContinuation<T, Error>) { self.continuation = Mutex(continuation) }

    /// True when this outcome was the first.
    @discardableResult
    func resume(with result: Result<T, Error>) -> Bool {
        let waiting = continuation.withLock { stored -> CheckedContinuation<T, Error>? in
            defer { stored = nil }
            return stored
        }
        waiting?.resume(with: result)
        return waiting != nil
    }
}
