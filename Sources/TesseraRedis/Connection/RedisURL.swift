/// `redis://[user[:password]@]host[:port][/db]`.
public struct RedisURL: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var database: Int
    public var username: String?
    public var password: String?

    /// What a new connection sends before anything else, by name: AUTH (with the URL's user,
    /// if any) when there is a password, SELECT when the database is not 0.
    var loginCommands: [(name: String, arguments: [String])] {
        var commands: [(name: String, arguments: [String])] = []
        if let password { commands.append(("AUTH", username.map { ["AUTH", $0, password] } ?? ["AUTH", password])) }
        if database != 0 { commands.append(("SELECT", ["SELECT", String(database)])) }
        return commands
    }

    public init(parsing text: String) throws {
        guard text.hasPrefix("redis://") else { throw RedisError("URL must start with redis://") }
        var rest = Substring(text.dropFirst("redis://".count))
        if let at = rest.lastIndex(of: "@") {
            let credentials = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = credentials.firstIndex(of: ":") {
                let user = credentials[..<colon]
                username = user.isEmpty ? nil : try Self.percentDecoded(user)
                password = try Self.percentDecoded(credentials[credentials.index(after: colon)...])
            } else {
                password = try Self.percentDecoded(credentials)
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

    /// `%XX` escapes decoded, as in any URL's user information (a password may hold `@` or `/`).
    private static func percentDecoded(_ text: Substring) throws -> String {
        var bytes: [UInt8] = []
        var index = text.utf8.startIndex
        let utf8 = text.utf8
        while index < utf8.endIndex {
            let byte = utf8[index]
            if byte == UInt8(ascii: "%") {
                let digits = utf8[utf8.index(after: index)...].prefix(2)
                // The error never quotes the text: it is (part of) a password.
                guard digits.count == 2, let value = UInt8(String(decoding: digits, as: UTF8.self), radix: 16) else {
                    throw RedisError("bad %-escape in the URL's user or password")
                }
                bytes.append(value)
                index = utf8.index(index, offsetBy: 3)
            } else {
                bytes.append(byte)
                index = utf8.index(after: index)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Never shows the password.
    public var description: String { "redis://\(host):\(port)/\(database)" }
}
