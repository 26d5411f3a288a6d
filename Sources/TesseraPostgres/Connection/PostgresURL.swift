import CLibPQ

/// `postgresql://[user[:password]@][host][:port][/database][?param=value&...]`, checked by
/// libpq's own parser (PQconninfoParse), so what passes here is exactly what PQconnectdb
/// accepts. The password stays inside: `description` and every message leave it out.
public struct PostgresURL: Sendable, CustomStringConvertible {
    /// The URL as given, password included: only for handing to libpq.
    let text: String
    public let user: String?
    /// One host, or several separated by commas (libpq tries them in turn).
    public let host: String?
    public let port: String?
    public let database: String?
    let password: String?

    public init(parsing text: String) throws {
        guard text.hasPrefix("postgresql://") || text.hasPrefix("postgres://") else {
            throw PostgresError(message: "the URL must start with postgresql:// or postgres://")
        }
        guard !text.utf8.contains(0) else { throw PostgresError(message: "the URL contains a NUL byte") }
        var failure: UnsafeMutablePointer<CChar>?
        guard let options = PQconninfoParse(text, &failure) else {
            let reason = failure.map { PostgresError.oneLine(String(cString: $0)) } ?? "out of memory"
            PQfreemem(failure)
            // The parser quotes the offending part, which may be (part of) the password.
            throw PostgresError(message: "invalid PostgreSQL URL: \(Self.scrub(reason, secret: Self.rawPassword(in: text)))")
        }
        defer { PQconninfoFree(options) }
        var values: [String: String] = [:]
        var option = options
        while let keyword = option.pointee.keyword {
            if let value = option.pointee.val { values[String(cString: keyword)] = String(cString: value) }
            option += 1
        }
        self.text = text
        user = values["user"]
        host = values["host"] ?? values["hostaddr"]
        port = values["port"]
        database = values["dbname"]
        password = values["password"]
        if let port, port.split(separator: ",").contains(where: { Int($0).map { !(1...65_535).contains($0) } ?? true }) {
            throw PostgresError(message: "invalid PostgreSQL URL: bad port '\(port)'")
        }
    }

    public var description: String {
        "postgresql://\(user.map { "\($0)@" } ?? "")\(host ?? "")\(port.map { ":\($0)" } ?? "")/\(database ?? "")"
    }

    /// Removes the password from a message that libpq built while using this URL.
    func scrub(_ message: String) -> String { Self.scrub(message, secret: password) }

    private static func scrub(_ message: String, secret: String?) -> String {
        guard let secret, !secret.isEmpty else { return message }
        return message.replacing(secret, with: "***")
    }

    /// The password as written in the URL (percent-encoded), for scrubbing parse errors.
    private static func rawPassword(in text: String) -> String? {
        let afterScheme = text[text.index(text.firstIndex(of: "/")!, offsetBy: 2)...]
        let authority = afterScheme.prefix { $0 != "/" && $0 != "?" }
        guard let at = authority.lastIndex(of: "@"), let colon = authority[..<at].firstIndex(of: ":") else { return nil }
        return String(authority[authority.index(after: colon)..<at])
    }
}
