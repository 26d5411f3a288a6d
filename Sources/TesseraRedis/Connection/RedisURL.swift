/// `redis://[user[:password]@]host[:port][/db]`.
public struct RedisURL: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var database: Int
    public var username: String?
    public var password: String?

    public init(parsing text: String) throws {
        guard text.hasPrefix("redis://") else { throw RedisError("URL must start with redis://") }
        var rest = Substring(text.dropFirst("redis://".count))
        if let at = rest.lastIndex(of: "@") {
            let credentials = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = credentials.firstIndex(of: ":") {
                let user = credentials[..<colon]
                username = user.isEmpty ? nil : String(user)
                password = String(credentials[credentials.index(after: colon)...])
            } else {
                password = String(credentials)
            }
        }
        var hostPort = rest
        database = 0
        if let slash = rest.firstIndex(of: "/") {
            hostPort = rest[..<slash]
            let db = rest[rest.index(after: slash)...]
            if !db.isEmpty {
                guard let number = Int(db), number >= 0 else { throw RedisError("bad database number in URL") }
                database = number
            }
        }
        port = 6379
        if let colon = hostPort.lastIndex(of: ":") {
            guard let number = Int(hostPort[hostPort.index(after: colon)...]), (1...65_535).contains(number) else {
                throw RedisError("bad port in URL")
            }
            port = number
            hostPort = hostPort[..<colon]
        }
        guard !hostPort.isEmpty else { throw RedisError("URL has no host") }
        host = String(hostPort)
    }

    /// Never shows the password.
    public var description: String { "redis://\(host):\(port)/\(database)" }
}
