import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// How a dedicated thread competes for the CPU.
public enum ThreadPriority: Sendable {
    /// Latency-critical: online ingestion (freshness).
    case normal
    /// Work that may fall behind under load and catch up after: the event log, snapshots,
    /// batch views. Nice 10, so on a saturated machine the online path and lookups come first;
    /// the event log's backlog waits in Kafka (`tessera_event_log_lag_messages`).
    case background
}

/// Runs blocking work (librdkafka, hiredis and libpq calls) on a thread of its own and
/// awaits it, so it never holds a thread of the cooperative pool. `name` is also the
/// kernel's thread name (at most 15 bytes), so `top -H` and /proc show what uses the CPU.
public func onThread(
    _ name: String, priority: ThreadPriority = .normal, _ work: @escaping @Sendable () throws -> Void
) async throws {
    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, Error>) in
        let thread = Thread {
            #if canImport(Glibc)
            // The kernel's name, set by the thread itself (Glibc does not export
            // pthread_setname_np to Swift): Foundation's `Thread.name` setter passes it on only once
            // `start()` has stored the thread's handle, a race the online thread lost in a bench run
            // (it kept the pool's name, `oot.default-qos`).
            try? String(decoding: name.utf8.prefix(15), as: UTF8.self)
                .write(toFile: "/proc/thread-self/comm", atomically: false, encoding: .utf8)
            // On Linux the nice value is per thread, and `who` 0 is the calling thread.
            if priority == .background { _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 10) }
            #endif
            do {
                try work()
                continuation.resume()
            } catch {
                continuation.resume(throwing: error)
            }
        }
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
