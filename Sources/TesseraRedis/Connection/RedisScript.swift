/// A Lua script run with EVALSHA, loaded on first use and again after Redis forgets it
/// (a restart or SCRIPT FLUSH answers NOSCRIPT).
public struct RedisScript: Sendable {
    public let source: String

    public init(source: String) { self.source = source }

    /// Loads the script and returns its SHA1 digest.
    public func load(on connection: RedisConnection) throws -> String {
        let reply = try connection.send(["SCRIPT", "LOAD", source])
        guard let sha = reply.string else {
            throw RedisError("SCRIPT LOAD failed: \(reply.errorMessage ?? "unexpected reply")")
        }
        return sha
    }

    public static func isMissingScript(_ reply: RedisReply) -> Bool {
        reply.errorMessage?.hasPrefix("NOSCRIPT") ?? false
    }
}
