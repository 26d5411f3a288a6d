import NIOCore
import NIOPosix
import Synchronization

/// Non-blocking connections to Redis on NIO's event loops, each carrying many commands in
/// flight at once: the lookup API's reads. A blocking hiredis call needs a thread of its own
/// for each read in flight, and a hop to it and back; here a read is written from the
/// caller's task and answered on the event loop that received the reply, which decodes the
/// values straight into one buffer.
///
/// Connections are opened on first use (AUTH and SELECT from the URL first) and again after
/// one is lost. Each belongs to one event loop, spread evenly (by default one per core, as
/// the loops). A command sent from an event loop goes on that loop's connection, so its
/// reply is read on the thread that waits for it; from elsewhere, round-robin.
public final class RedisPipeline: Sendable {
    public let url: RedisURL
    private let connectTimeout: TimeAmount
    private let replyTimeout: TimeAmount
    private let slots: [Slot]
    private let nextSlot = Atomic<Int>(0)
    /// The loops the connections belong to, and the slots of each (by loop, as in `loops`).
    private let loops: [any EventLoop]
    private let slotsOfLoop: [[Int]]

    private enum State {
        case idle
        case connecting(EventLoopFuture<any Channel>)
        case connected(any Channel)
    }

    private final class Slot: Sendable {
        let eventLoop: any EventLoop
        let state = Mutex(State.idle)

        init(eventLoop: any EventLoop) {
            self.eventLoop = eventLoop
        }
    }

    /// `timeoutMs` bounds connecting and, once connected, how long commands wait without a
    /// byte of reply before their connection is closed.
    public init(url: RedisURL, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, connections: Int = System.coreCount, timeoutMs: Int = 2_000) {
        precondition(connections > 0, "a pipeline needs at least one connection")
        self.url = url
        connectTimeout = .milliseconds(Int64(timeoutMs))
        replyTimeout = .milliseconds(Int64(timeoutMs))
        let loops = Array(group.makeIterator())
        self.loops = loops
        slots = (0..<connections).map { Slot(eventLoop: loops[$0 % loops.count]) }
        slotsOfLoop = loops.indices.map { Array(stride(from: $0, to: connections, by: loops.count)) }
    }

    /// A pipeline let go of closes its connections: nothing else would.
    deinit {
        for slot in slots {
            slot.state.withLock { state in
                if case .connected(let channel) = state { channel.close(promise: nil) }
                state = .idle
            }
        }
    }

    /// `MGET` of every key, one round trip: the values packed the same way, nil where a key
    /// has none (or holds another type). `completion` runs on an event loop; an error reply
    /// (NOAUTH, a cluster's CROSSSLOT) fails it and leaves the connection in use.
    public func mget(_ keys: ByteStrings, completion: @escaping @Sendable (Result<ByteStrings, any Error>) -> Void) {
        let started = ContinuousClock.now
        var formatted: [UInt8] = []
        formatted.reserveCapacity(keys.bytes.count + 16 * keys.count + 16)
        RESPEncoder.append(keys, after: "MGET", to: &formatted)
        let bytes = ByteBuffer(bytes: formatted)
        channel().flatMap { channel in
            let promise = channel.eventLoop.makePromise(of: ByteStrings.self)
            Self.write(RedisPipelineHandler.Command(bytes: bytes, waiter: .strings(promise)), to: channel)
            return promise.futureResult
        }.whenComplete { result in
            RedisCommandMetrics.record(command: "MGET", since: started, failed: (try? result.get()) == nil)
            completion(result.mapError { $0 })
        }
    }

    /// One command, one reply; Redis's error replies come back as `.error`, not thrown.
    public func send(_ arguments: [String]) async throws -> RedisReply {
        let command = ByteStrings(arguments: arguments)
        let started = ContinuousClock.now
        do {
            let reply = try await channel().flatMap { Self.send(command, on: $0) }.get()
            RedisCommandMetrics.record(command: RedisCommandMetrics.name(of: command), since: started, failed: false)
            return reply
        } catch {
            RedisCommandMetrics.record(command: RedisCommandMetrics.name(of: command), since: started, failed: true)
            throw error
        }
    }

    /// Closes every connection, and any being opened; commands in flight fail, later ones
    /// connect again.
    public func close() async {
        let open = slots.compactMap { slot in
            slot.state.withLock { state -> EventLoopFuture<any Channel>? in
                defer { state = .idle }
                switch state {
                case .idle: return nil
                case .connecting(let future): return future
                case .connected(let channel): return channel.eventLoop.makeSucceededFuture(channel)
                }
            }
        }
        for future in open {
            if let channel = try? await future.get() { try? await channel.close() }
        }
    }

    private static func send(_ command: ByteStrings, on channel: any Channel) -> EventLoopFuture<RedisReply> {
        var formatted: [UInt8] = []
        RESPEncoder.append(command, to: &formatted)
        let promise = channel.eventLoop.makePromise(of: RedisReply.self)
        write(RedisPipelineHandler.Command(bytes: ByteBuffer(bytes: formatted), waiter: .reply(promise)), to: channel)
        return promise.futureResult
    }

    /// A write that fails before reaching the handler (the channel closed and its handlers
    /// gone) fails the waiter too; one the handler took is answered by it.
    private static func write(_ command: RedisPipelineHandler.Command, to channel: any Channel) {
        let written = channel.eventLoop.makePromise(of: Void.self)
        written.futureResult.whenFailure { command.waiter.fail($0) }
        channel.writeAndFlush(command, promise: written)
    }

    /// A connection of the caller's event loop if it is on one, else the next slot's; opened
    /// if the slot has none or lost it.
    private func channel() -> EventLoopFuture<any Channel> {
        let turn = nextSlot.wrappingAdd(1, ordering: .relaxed).oldValue
        let slot: Slot
        if let loop = loops.firstIndex(where: { $0.inEventLoop }), !slotsOfLoop[loop].isEmpty {
            slot = slots[slotsOfLoop[loop][turn % slotsOfLoop[loop].count]]
        } else {
            slot = slots[turn % slots.count]
        }
        let (future, opened) = slot.state.withLock { state -> (EventLoopFuture<any Channel>, Bool) in
            switch state {
            case .connected(let channel) where channel.isActive:
                return (channel.eventLoop.makeSucceededFuture(channel), false)
            case .connecting(let future):
                return (future, false)
            case .idle, .connected:
                let future = connect(on: slot.eventLoop)
                state = .connecting(future)
                return (future, true)
            }
        }
        // Outside the lock: a future already complete runs this at once.
        if opened {
            future.whenComplete { [weak slot] result in
                slot?.state.withLock { state in
                    guard case .connecting(let pending) = state, pending === future else { return }
                    switch result {
                    case .success(let channel): state = .connected(channel)
                    case .failure: state = .idle
                    }
                }
            }
        }
        return future
    }

    private func connect(on eventLoop: any EventLoop) -> EventLoopFuture<any Channel> {
        let started = ContinuousClock.now
        let url = url
        let replyTimeout = replyTimeout
        return ClientBootstrap(group: eventLoop)
            .connectTimeout(connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            // A lookup's reply is some 30 KB: read it in one go rather than growing from 2 KB.
            .channelOption(.recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 1_024, initial: 64 * 1_024, maximum: 1_024 * 1_024))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(RedisPipelineHandler(url: url, replyTimeout: replyTimeout))
                }
            }
            .connect(host: url.host, port: url.port)
            .flatMapError { error in
                channelFailure(RedisError("cannot connect to \(url): \(error)"), on: nil)
            }
            .flatMap { channel in
                Self.handshake(url, on: channel).map { channel }.flatMapError { error in
                    channelFailure(error, on: channel)
                }
            }
            .always { result in
                RedisCommandMetrics.record(command: "CONNECT", since: started, failed: (try? result.get()) == nil)
            }

        /// Fails the connect; a channel already open is closed first.
        @Sendable func channelFailure(_ error: any Error, on channel: (any Channel)?) -> EventLoopFuture<any Channel> {
            guard let channel else { return eventLoop.makeFailedFuture(error) }
            channel.close(promise: nil)
            return channel.eventLoop.makeFailedFuture(error)
        }
    }

    /// AUTH and SELECT as the URL asks, before the connection takes commands.
    private static func handshake(_ url: RedisURL, on channel: any Channel) -> EventLoopFuture<Void> {
        url.loginCommands.reduce(channel.eventLoop.makeSucceededVoidFuture()) { previous, step in
            previous.flatMap {
                send(ByteStrings(arguments: step.arguments), on: channel).flatMapThrowing { reply in
                    if let message = reply.errorMessage { throw RedisError("\(step.name) failed: \(message)") }
                }
            }
        }
    }
}
