import HummingbirdCore
import Logging
import NIOCore

/// A server child channel whose requests are handled on their connection's event loop
/// (`EventLoopTaskExecutor`) rather than on Swift's global pool. Handlers must not block:
/// while one runs, the other connections of its loop wait.
struct LoopBoundChildChannel<Base: ServerChildChannel>: ServerChildChannel {
    let base: Base

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Base.Value> {
        base.setup(channel: channel, logger: logger)
    }

    func handle(value: Base.Value, logger: Logger) async {
        await withTaskExecutorPreference(EventLoopTaskExecutor(value.channel.eventLoop)) {
            await base.handle(value: value, logger: logger)
        }
    }
}
