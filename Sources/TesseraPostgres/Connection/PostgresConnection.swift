import CLibPQ

/// One blocking connection to PostgreSQL through libpq. Not thread-safe: one user at a
/// time. After a connection-level failure it is `isBroken`; open a new one.
public final class PostgresConnection {
    private var connection: OpaquePointer?
    public let url: PostgresURL

    /// `url`: `postgresql://user:password@host:port/database?sslmode=...`. The URL may set
    /// its own `connect_timeout` and `application_name`; the client encoding is always UTF-8
    /// because results are decoded as UTF-8.
    public init(url: String, connectTimeoutSeconds: Int = 10) throws {
        self.url = try PostgresURL(parsing: url)
        // Entries before `dbname` are defaults the URL can override; entries after it win.
        let settings: [(String, String)] = [
            ("connect_timeout", String(connectTimeoutSeconds)),
            ("fallback_application_name", "tessera"),
            ("dbname", self.url.text),
            ("client_encoding", "UTF8"),
        ]
        let parsedURL = self.url
        let connection = try PostgresQueryMetrics.measure("connect") { () throws -> OpaquePointer in
            let connection = withCStrings(settings.map(\.0) + [nil]) { keywords in
                withCStrings(settings.map(\.1) + [nil]) { values in
                    PQconnectdbParams(keywords, values, 1)
                }
            }
            guard let connection else { throw PostgresError(message: "cannot connect to \(parsedURL): out of memory") }
            guard PQstatus(connection) == CONNECTION_OK else {
                let reason = PostgresError.oneLine(String(cString: PQerrorMessage(connection)))
                PQfinish(connection)
                throw PostgresError(message: "cannot connect to \(parsedURL): \(parsedURL.scrub(reason))")
            }
            return connection
        }
        // libpq prints NOTICEs ("schema already exists, skipping") to stderr by default,
        // which would break the CLI's one-line output and the JSON logs.
        PQsetNoticeProcessor(connection, { _, _ in }, nil)
        self.connection = connection
    }

    deinit { close() }

    public func close() {
        if let connection { PQfinish(connection) }
        connection = nil
    }

    public var isBroken: Bool {
        guard let connection else { return true }
        return PQstatus(connection) != CONNECTION_OK
    }

    /// Rows of a query (all values in PostgreSQL's text format, NULL as nil) and the
    /// number of rows a command touched.
    public struct Result: Sendable {
        public var columns: [String]
        public var rows: [[String?]]
        public var affectedRows: Int
    }

    /// One statement with `$1...$n` parameters sent separately from the SQL (never spliced
    /// into it), in text format; nil is NULL.
    @discardableResult
    public func execute(_ sql: String, _ parameters: [String?] = []) throws -> Result {
        let connection = try open()
        try Self.rejectNUL(in: sql, what: "the SQL")
        for (index, parameter) in parameters.enumerated() {
            if let parameter { try Self.rejectNUL(in: parameter, what: "parameter $\(index + 1)") }
        }
        return try PostgresQueryMetrics.measure(PostgresQueryMetrics.operation(of: sql)) {
            let result = withCStrings(parameters) { values in
                PQexecParams(connection, sql, Int32(values.count), nil, values, nil, nil, 0)
            }
            return try finish(result, on: connection)
        }
    }

    /// Several statements separated by semicolons in one round trip (a migration file). Without
    /// BEGIN/COMMIT of its own the server runs them as one transaction.
    public func executeScript(_ sql: String) throws {
        let connection = try open()
        try Self.rejectNUL(in: sql, what: "the SQL")
        _ = try PostgresQueryMetrics.measure("script") { try finish(PQexec(connection, sql), on: connection) }
    }

    /// Where the session stands: idle, inside a transaction, or inside a failed one.
    var transactionStatus: PGTransactionStatusType {
        connection.map(PQtransactionStatus) ?? PQTRANS_UNKNOWN
    }

    /// True between BEGIN and COMMIT when no statement has failed.
    var isInOpenTransaction: Bool { transactionStatus == PQTRANS_INTRANS }

    func open() throws -> OpaquePointer {
        guard let connection else { throw PostgresError(message: "the connection to \(url) is closed") }
        return connection
    }

    /// Copies a finished command's result out of libpq and frees it.
    func finish(_ result: OpaquePointer?, on connection: OpaquePointer) throws -> Result {
        guard let result else { throw PostgresError(connection: connection, while: "no result from \(url)") }
        defer { PQclear(result) }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY:
            return Self.copy(result)
        case PGRES_COPY_IN, PGRES_COPY_OUT, PGRES_COPY_BOTH:
            // The session now waits for COPY data nobody will send: unusable from here on.
            close()
            throw PostgresError(message: "COPY runs only through copyIn(_:rows:) (FROM STDIN); the connection was closed")
        default:
            throw PostgresError(result: result)
        }
    }

    private static func copy(_ result: OpaquePointer) -> Result {
        let columnCount = PQnfields(result)
        let columns = (0..<columnCount).map { String(cString: PQfname(result, $0)) }
        let rows = (0..<PQntuples(result)).map { row in
            (0..<columnCount).map { column -> String? in
                guard PQgetisnull(result, row, column) == 0 else { return nil }
                let bytes = UnsafeRawBufferPointer(start: PQgetvalue(result, row, column), count: Int(PQgetlength(result, row, column)))
                return String(decoding: bytes, as: UTF8.self)
            }
        }
        // "" for commands that report no count (CREATE TABLE, SELECT's own count is in rows).
        let affected = Int(String(cString: PQcmdTuples(result))) ?? 0
        return Result(columns: columns, rows: rows, affectedRows: affected)
    }

    /// libpq takes C strings, which would silently end at a NUL byte; PostgreSQL text can't hold one anyway.
    static func rejectNUL(in text: String, what: String) throws {
        if text.utf8.contains(0) { throw PostgresError(message: "\(what) contains a NUL byte, which PostgreSQL text cannot hold") }
    }
}
