import Foundation
import Synchronization

/// Runs blocking work (librdkafka, hiredis and libpq calls) on a thread of its own and
/// awaits it, so it never holds a thread of the cooperative pool.
public func onThread(_ name: String, _ work: @escaping @Sendable () throws -> Void) async throws {
    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, Error>) in
        let thread = Thread {
            do {
                try work()
                continuation.resume()
            } catch {
                continuation.resume(throwing: error)
            }
        }
        thread.name = name
        thread.start()
    }
}

/// A flag the shutdown handler raises and the worker threads read between batches.
public final class StopSignal: Sendable {
    private let raised = Atomic<Bool>(false)
    public init() {}
    public var isRaised: Bool { raised.load(ordering: .relaxed) }
    public func raise() { raised.store(true, ordering: .relaxed) }
}
