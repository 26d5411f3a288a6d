import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import UnixSignals

/// The first service the group stops: it marks the daemon as shutting down, so /readyz
/// answers 503 while ingestion finishes its batch and in-flight lookups complete.
struct ShutdownGate: Service {
    private let flag = ShutdownFlag()

    var isShuttingDown: Bool { flag.isRaised }

    func run() async throws {
        try? await gracefulShutdown()
        flag.raise()
    }
}

final class ShutdownFlag: Sendable {
    private let raised = Atomic<Bool>(false)
    var isRaised: Bool { raised.load(ordering: .relaxed) }
    func raise() { raised.store(true, ordering: .relaxed) }
}

/// What swift-service-lifecycle leaves to us: a second SIGTERM/SIGINT exits at once, and
/// a graceful shutdown that overruns its bound exits too. Committed offsets and the Redis
/// fences make an abrupt exit safe: the next owner replays what was not committed.
enum ShutdownWatchdog {
    static func start(timeoutMs: Int64, logger: Logger) -> Task<Void, Never> {
        Task {
            var signalsSeen = 0
            for await _ in await UnixSignalsSequence(trapping: .sigterm, .sigint) {
                signalsSeen += 1
                if signalsSeen > 1 {
                    logger.warning("second signal: exiting now without waiting for the current batch")
                    exit(130)
                }
                Task {
                    try? await Task.sleep(for: .milliseconds(timeoutMs))
                    logger.error("graceful shutdown took longer than \(timeoutMs) ms; exiting now")
                    exit(1)
                }
            }
        }
    }
}
