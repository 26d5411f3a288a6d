import CHiredis

/// One blocking connection to Redis through hiredis. Not thread-safe: one caller at a
/// time (the pool hands it out exclusively). After an I/O error it is `broken` and the
/// pool replaces it.
public final class RedisConnection {
    private var context: UnsafeMutablePointer<redisContext>?
    public let url: RedisURL
    public private(set) var isBroken = false

    public init(url: RedisURL, timeoutMs: Int = 2_000) throws {
        self.url = url
        let started = ContinuousClock.now
        var connected = false
        defer { RedisCommandMetrics.record(command: "CONNECT", since: started, failed: !connected) }
        let timeout = timeval(tv_sec: timeoutMs / 1_000, tv_usec: (timeoutMs % 1_000) * 1_000)
        guard let context = redisConnectWithTimeout(url.host, Int32(url.port), timeout) else {
            throw RedisError("cannot allocate a connection to \(url)")
        }
        self.context = context
        if context.pointee.err != 0 {
            let message = Self.errorText(context)
            redisFree(context)
            self.context = nil
            throw RedisError("cannot connect to \(url): \(message)")
        }
        redisSetTimeout(context, timeout)
        for command in url.loginCommands { try expectOK(send(command.arguments), doing: command.name) }
        connected = true
    }

    deinit { close() }

    public func close() {
        if let context { redisFree(context) }
        context = nil
        isBroken = true
    }

    /// One command, one reply. Redis error replies come back as `.error`, not thrown;
    /// connection failures throw.
    public func send(_ arguments: [String]) throws -> RedisReply {
        try pipeline([arguments])[0]
    }

    /// All commands written in one go, then all replies read: one round trip.
    public func pipeline(_ commands: [[String]]) throws -> [RedisReply] {
        try pipeline(commands.map { $0.map(\.utf8) })
    }

    /// The same with arguments as raw bytes, e.g. a packed vector that is not UTF-8.
    public func pipeline<Argument: Collection<UInt8>>(_ commands: [[Argument]]) throws -> [RedisReply] {
        try pipeline(count: commands.count) { ByteStrings(arguments: commands[$0]) }
    }

    /// Bytes of commands queued before they are written out while later ones are built.
    static let flushBytes = 64 * 1024

    /// `count` commands built one at a time by `command(i)`, each its arguments packed, then
    /// all replies read: one round trip. Written out every `flushBytes`, so Redis starts on
    /// the first commands while the caller is still building the rest.
    public func pipeline(count: Int, command: (Int) throws -> ByteStrings) throws -> [RedisReply] {
        try replies(to: write(count: count, command: command))
    }

    /// Commands written and not yet answered: `replies(to:)` on the same connection reads
    /// their answers. Nothing else may use the connection in between.
    public struct Written {
        let count: Int
        let firstName: String
        /// Time spent writing: the round trip's metric adds the wait for the replies, not
        /// what the caller did in between.
        let writing: Duration
        let connection: ObjectIdentifier
    }

    /// Writes `count` commands built by `command(i)` (see `pipeline(count:command:)`) and
    /// returns without waiting, so the caller can work while Redis does.
    public func write(count: Int, command: (Int) throws -> ByteStrings) throws -> Written {
        guard let context, !isBroken else { throw RedisError("connection to \(url) is closed") }
        let started = ContinuousClock.now
        var firstName = "NONE"
        // Grows with the first chunk and keeps its capacity for the next ones.
        var formatted: [UInt8] = []
        do {
            for index in 0..<count {
                let arguments = try command(index)
                if index == 0 { firstName = RedisCommandMetrics.name(of: arguments) }
                RESPEncoder.append(arguments, to: &formatted)
                if formatted.count >= Self.flushBytes {
                    try queue(formatted, to: context)
                    try flush(context)
                    formatted.removeAll(keepingCapacity: true)
                }
            }
            try queue(formatted, to: context)
            try flush(context)
        } catch {
            // Part of the pipeline may be out: the connection cannot be used for another.
            isBroken = true
            RedisCommandMetrics.record(command: firstName, since: started, failed: true)
            throw error
        }
        return Written(count: count, firstName: firstName, writing: ContinuousClock.now - started, connection: ObjectIdentifier(self))
    }

    /// The answers to written commands, in order.
    public func replies(to written: Written) throws -> [RedisReply] {
        precondition(written.connection == ObjectIdentifier(self), "replies read on another connection than the commands were written to")
        let started = ContinuousClock.now
        var answered = false
        defer { RedisCommandMetrics.record(command: written.firstName, took: written.writing + (ContinuousClock.now - started), failed: !answered) }
        guard let context, !isBroken else { throw RedisError("connection to \(url) is closed") }
        var replies: [RedisReply] = []
        replies.reserveCapacity(written.count)
        for _ in 0..<written.count {
            let raw = try nextReply(context)
            let reply = raw.assumingMemoryBound(to: redisReply.self)
            replies.append(Self.copy(reply))
            freeReplyObject(raw)
        }
        answered = true
        return replies
    }

    /// The next reply, to be freed by the caller; a lost connection breaks this one.
    private func nextReply(_ context: UnsafeMutablePointer<redisContext>) throws -> UnsafeMutableRawPointer {
        var raw: UnsafeMutableRawPointer?
        guard redisGetReply(context, &raw) == REDIS_OK, let raw else {
            isBroken = true
            throw RedisError("lost connection to \(url): \(Self.errorText(context))")
        }
        return raw
    }

    /// hiredis could not queue a command (out of memory): the connection's buffer is unknown.
    private func checkQueued(_ status: Int32, _ context: UnsafeMutablePointer<redisContext>) throws {
        guard status != REDIS_OK else { return }
        isBroken = true
        throw RedisError("cannot queue command: \(Self.errorText(context))")
    }

    /// Writes out everything queued (blocking, within the connection's timeout).
    private func flush(_ context: UnsafeMutablePointer<redisContext>) throws {
        var done: Int32 = 0
        while done == 0 {
            guard redisBufferWrite(context, &done) == REDIS_OK else {
                isBroken = true
                throw RedisError("lost connection to \(url): \(Self.errorText(context))")
            }
        }
    }

    /// Queues commands already in Redis's wire format; hiredis copies them before returning.
    private func queue(_ formatted: [UInt8], to context: UnsafeMutablePointer<redisContext>) throws {
        guard !formatted.isEmpty else { return }
        let status = formatted.withUnsafeBytes { bytes in
            redisAppendFormattedCommand(context, bytes.baseAddress!.assumingMemoryBound(to: CChar.self), bytes.count)
        }
        try checkQueued(status, context)
    }

    private func expectOK(_ reply: RedisReply, doing what: String) throws {
        if let message = reply.errorMessage { throw RedisError("\(what) failed: \(message)") }
    }

    private static func copy(_ reply: UnsafeMutablePointer<redisReply>) -> RedisReply {
        let value = reply.pointee
        switch Int32(value.type) {
        case REDIS_REPLY_STRING, REDIS_REPLY_STATUS:
            return .bytes(bytes(value.str, value.len))
        case REDIS_REPLY_INTEGER:
            return .integer(Int64(value.integer))
        case REDIS_REPLY_ARRAY:
            return .array((0..<Int(value.elements)).map { copy(value.element[$0]!) })
        case REDIS_REPLY_ERROR:
            return .error(String(decoding: bytes(value.str, value.len), as: UTF8.self))
        default:
            return .null
        }
    }

    private static func bytes(_ pointer: UnsafeMutablePointer<CChar>?, _ length: Int) -> [UInt8] {
        guard let pointer, length > 0 else { return [] }
        return Array(UnsafeRawBufferPointer(start: pointer, count: length).bindMemory(to: UInt8.self))
    }

    private static func errorText(_ context: UnsafeMutablePointer<redisContext>) -> String {
        withUnsafeBytes(of: context.pointee.errstr) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
    }
}
