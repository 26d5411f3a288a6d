import CLibPQ

/// A PostgreSQL failure: the server's SQLSTATE when it reported one (`42P01` undefined
/// table, `23505` unique violation, ...), nil for client-side and connection failures.
/// Messages never contain the connection password.
public struct PostgresError: Error, CustomStringConvertible, Sendable {
    public var sqlState: String?
    public var message: String
    public var detail: String?
    public var hint: String?

    public init(sqlState: String? = nil, message: String, detail: String? = nil, hint: String? = nil) {
        self.sqlState = sqlState
        self.message = message
        self.detail = detail
        self.hint = hint
    }

    public var description: String {
        var text = "postgres: \(message)"
        if let sqlState { text += " [SQLSTATE \(sqlState)]" }
        if let detail { text += " (\(detail))" }
        if let hint { text += " hint: \(hint)" }
        return text
    }

    /// The server's report carried by a failed result.
    init(result: OpaquePointer) {
        func field(_ code: Int32) -> String? {
            PQresultErrorField(result, code).map { String(cString: $0) }
        }
        self.init(
            sqlState: field(CLIBPQ_DIAG_SQLSTATE),
            message: field(CLIBPQ_DIAG_MESSAGE_PRIMARY) ?? Self.oneLine(String(cString: PQresultErrorMessage(result))),
            detail: field(CLIBPQ_DIAG_MESSAGE_DETAIL), hint: field(CLIBPQ_DIAG_MESSAGE_HINT))
    }

    /// The connection's last error: lost connections, protocol errors, out of memory.
    init(connection: OpaquePointer, while action: String) {
        self.init(message: "\(action): \(Self.oneLine(String(cString: PQerrorMessage(connection))))")
    }

    /// libpq ends messages with a newline and indents continuation lines; callers print one line.
    static func oneLine(_ text: String) -> String {
        text.split(whereSeparator: \.isNewline)
            .map { $0.trimmingPrefix(while: \.isWhitespace) }
            .filter { !$0.isEmpty }
            .joined(separator: " ")
    }
}
