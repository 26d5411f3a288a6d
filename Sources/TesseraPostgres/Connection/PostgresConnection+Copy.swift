import CLibPQ

extension PostgresConnection {
    /// `COPY table (columns) FROM STDIN` in text format: values escaped (backslash, tab,
    /// newline, carriage return), nil sent as `\N`, streamed in chunks. Returns the number of
    /// rows the server copied. A bad value fails the whole COPY with the server's error.
    @discardableResult
    public func copyIn(_ copyStatement: String, rows: some Sequence<[String?]>) throws -> Int {
        try PostgresQueryMetrics.measure("copy") { try copyRows(copyStatement, rows: rows) }
    }

    private func copyRows(_ copyStatement: String, rows: some Sequence<[String?]>) throws -> Int {
        let connection = try open()
        try Self.rejectNUL(in: copyStatement, what: "the COPY statement")
        guard let started = PQexec(connection, copyStatement) else {
            throw PostgresError(connection: connection, while: "no result from \(url)")
        }
        guard PQresultStatus(started) == PGRES_COPY_IN else {
            _ = try finish(started, on: connection)  // throws the server's error if there is one
            throw PostgresError(message: "copyIn needs a COPY ... FROM STDIN statement")
        }
        PQclear(started)

        var buffer: [UInt8] = []
        buffer.reserveCapacity(Self.copyChunkBytes + 4_096)
        for row in rows {
            CopyTextFormat.append(row, to: &buffer)
            if buffer.count >= Self.copyChunkBytes {
                try send(buffer, on: connection)
                buffer.removeAll(keepingCapacity: true)
            }
        }
        if !buffer.isEmpty { try send(buffer, on: connection) }
        guard PQputCopyEnd(connection, nil) == 1 else {
            throw PostgresError(connection: connection, while: "ending COPY")
        }
        // The COPY's own result, then NULL: libpq needs both read before the next command.
        let outcome = Swift.Result { try finish(PQgetResult(connection), on: connection) }
        while let extra = PQgetResult(connection) { PQclear(extra) }
        return try outcome.get().affectedRows
    }

    /// Big enough to amortise the calls, small enough not to hold a batch twice in memory.
    private static let copyChunkBytes = 256 * 1_024

    private func send(_ bytes: [UInt8], on connection: OpaquePointer) throws {
        let status = bytes.withUnsafeBytes { raw in
            PQputCopyData(connection, raw.baseAddress!.assumingMemoryBound(to: CChar.self), Int32(raw.count))
        }
        guard status == 1 else { throw PostgresError(connection: connection, while: "sending COPY data") }
    }
}

/// PostgreSQL's COPY text format: columns separated by tab, rows ended by newline, `\N`
/// for NULL, and the characters that would break that framing written as backslash escapes.
enum CopyTextFormat {
    static func append(_ row: [String?], to buffer: inout [UInt8]) {
        for (index, value) in row.enumerated() {
            if index > 0 { buffer.append(UInt8(ascii: "\t")) }
            guard let value else {
                buffer.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "N")])
                continue
            }
            for byte in value.utf8 {
                switch byte {
                case UInt8(ascii: "\\"): buffer.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
                case UInt8(ascii: "\t"): buffer.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
                case UInt8(ascii: "\n"): buffer.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
                case UInt8(ascii: "\r"): buffer.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
                default: buffer.append(byte)
                }
            }
        }
        buffer.append(UInt8(ascii: "\n"))
    }
}
