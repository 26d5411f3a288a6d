import NIOCore

/// The Redis end of one NIO channel: writes commands as they come, and answers them in order
/// as their replies arrive, so many can be in flight on one connection. While commands wait,
/// `replyTimeout` without a byte of reply closes the connection, failing every command on it,
/// as hiredis's socket timeout does.
final class RedisPipelineHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = Command
    typealias OutboundOut = ByteBuffer

    /// One command in Redis's wire format and who waits for its reply.
    struct Command: Sendable {
        var bytes: ByteBuffer
        var waiter: Waiter
    }

    enum Waiter: Sendable {
        /// Any reply, error replies included, as plain values.
        case reply(EventLoopPromise<RedisReply>)
        /// An MGET's values, packed; an error reply fails it.
        case strings(EventLoopPromise<ByteStrings>)

        func fail(_ error: any Error) {
            switch self {
            case .reply(let promise): promise.fail(error)
            case .strings(let promise): promise.fail(error)
            }
        }
    }

    /// A read answer, completed only once its waiter is off the queue: completing runs the
    /// waiter's callbacks, which may send the next command.
    private enum Answer {
        case reply(RedisReply)
        case strings(Result<ByteStrings, RedisError>)
    }

    private let replyTimeout: TimeAmount
    private let url: RedisURL
    private var waiting = CircularBuffer<Waiter>()
    /// Bytes received and not yet part of a whole reply.
    private var received: ByteBuffer?
    /// When the oldest waiting command was written or the last reply byte came, whichever is
    /// later: the reply timeout counts from it.
    private var lastProgress = NIODeadline.now()
    /// One check per timeout period, not a timer per reply: it re-arms itself while replies keep
    /// coming.
    private var replyDeadline: Scheduled<Void>?

    init(url: RedisURL, replyTimeout: TimeAmount) {
        self.url = url
        self.replyTimeout = replyTimeout
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let command = unwrapOutboundIn(data)
        guard context.channel.isActive else {
            command.waiter.fail(RedisError("connection to \(url) is closed"))
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        waiting.append(command.waiter)
        if waiting.count == 1 {
            lastProgress = .now()
            if replyDeadline == nil { armReplyDeadline(context, at: lastProgress + replyTimeout) }
        }
        context.write(wrapOutboundOut(command.bytes), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        lastProgress = .now()
        var incoming = unwrapInboundIn(data)
        if received == nil || received!.readableBytes == 0 {
            received = incoming
        } else {
            received!.writeBuffer(&incoming)
        }
        do {
            while let waiter = waiting.first, let answer = try nextAnswer(for: waiter) {
                waiting.removeFirst()
                switch (waiter, answer) {
                case (.reply(let promise), .reply(let reply)): promise.succeed(reply)
                case (.strings(let promise), .strings(let values)): promise.completeWith(values.mapError { $0 })
                default: preconditionFailure("an answer read for another kind of command")
                }
            }
        } catch {
            failAll(error)
            context.close(promise: nil)
            return
        }
        // A waiter's callback may have closed the channel, clearing everything.
        if (received?.readableBytes ?? 0) == 0 {
            received = nil
        } else if waiting.isEmpty {
            failAll(RedisError("Redis sent bytes no command waits for"))
            context.close(promise: nil)
            return
        } else if received?.readerIndex ?? 0 >= 64 * 1_024 {
            // Replies back to back may never leave it empty: drop what has been read.
            received?.discardReadBytes()
        }
    }

    /// The oldest waiter's reply, taken out of `received`, if all of it is there.
    private func nextAnswer(for waiter: Waiter) throws(RedisError) -> Answer? {
        guard received != nil, received!.readableBytes > 0 else { return nil }
        let read: (Answer, Int)? = try received!.withUnsafeReadableBytes { bytes throws(RedisError) in
            switch waiter {
            case .reply: try RESPReader.reply(in: bytes).map { (.reply($0.0), $0.consumed) }
            case .strings: try RESPReader.strings(in: bytes).map { (.strings($0.0), $0.consumed) }
            }
        }
        guard let (answer, consumed) = read else { return nil }
        received!.moveReaderIndex(forwardBy: consumed)
        return answer
    }

    private func armReplyDeadline(_ context: ChannelHandlerContext, at deadline: NIODeadline) {
        // Runs on this channel's event loop, as every call of the handler does.
        let bound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
        replyDeadline = context.eventLoop.scheduleTask(deadline: deadline) {
            bound.value.handler.replyDeadlinePassed(bound.value.context)
        }
    }

    private func replyDeadlinePassed(_ context: ChannelHandlerContext) {
        replyDeadline = nil
        guard !waiting.isEmpty else { return }
        let due = lastProgress + replyTimeout
        guard due <= .now() else { return armReplyDeadline(context, at: due) }
        errorCaught(context: context, error: RedisError("no reply from \(url) within \(replyTimeout.nanoseconds / 1_000_000) ms"))
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll(RedisError("lost connection to \(url)"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        failAll(error is RedisError ? error : RedisError("lost connection to \(url): \(error)"))
        context.close(promise: nil)
    }

    private func failAll(_ error: any Error) {
        replyDeadline?.cancel()
        replyDeadline = nil
        let failed = waiting
        waiting.removeAll()
        received = nil
        for waiter in failed { waiter.fail(error) }
    }
}
