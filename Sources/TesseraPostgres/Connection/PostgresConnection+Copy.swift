import CLibPQ

extension PostgresConnection {
    /// `COPY table (columns) FROM STDIN` in text format: values escaped (backslash, tab,
    /// newline, carriage return), nil sent as `\N`, streamed in chunks. Returns the number of
    /// rows the server copied. A bad value fails the whole COPY with the server's error.
    @discardableResult
    public func copyIn(_ copyStatement: String, rows: some Sequence<[String?]>) throws -> Int {
        try copyIn(copyStatement, rows: rows) { row, writer in
            for value in row { writer.field(value) }
        }
    }

    /// The same with each row written by `write`, field by field, straight into the bytes sent
    /// (the event log's hot path: no `String` per value).
    @discardableResult
    public func copyIn<Row>(_ copyStatement: String, rows: some Sequence<Row>, write: (Row, inout CopyTextWriter) -> Void) throws -> Int {
        try PostgresQueryMetrics.measure("copy") { try copyRows(copyStatement, rows: rows, write: write) }
    }

    private func copyRows<Row>(_ copyStatement: String, rows: some Sequence<Row>, write: (Row, inout CopyTextWriter) -> Void) throws -> Int {
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

        var writer = CopyTextWriter(reservingCapacity: Self.copyChunkBytes + 4_096)
        for row in rows {
            write(row, &writer)
            writer.endRow()
            if writer.bytes.count >= Self.copyChunkBytes {
                try send(writer.bytes, on: connection)
                writer.bytes.removeAll(keepingCapacity: true)
            }
        }
        if !writer.bytes.isEmpty { try send(writer.bytes, on: connection) }
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
