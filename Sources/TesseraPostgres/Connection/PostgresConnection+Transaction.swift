import CLibPQ

extension PostgresConnection {
    /// Runs `body` between BEGIN and COMMIT; ROLLBACK when it throws. Also refuses to
    /// commit when a statement inside failed and the error was swallowed: PostgreSQL
    /// would answer that COMMIT with a silent rollback, and the caller would believe
    /// its writes (say, events together with their consumer offsets) were stored.
    public func transaction<T>(_ body: () throws -> T) throws -> T {
        guard transactionStatus == PQTRANS_IDLE else {
            throw PostgresError(message: "a transaction is already open on this connection (transactions do not nest)")
        }
        try execute("BEGIN")
        let value: T
        do {
            value = try body()
        } catch {
            // A broken connection has rolled back already; the body's error is the one to report.
            _ = try? execute("ROLLBACK")
            throw error
        }
        switch transactionStatus {
        case PQTRANS_INTRANS:
            try execute("COMMIT")
            return value
        case PQTRANS_INERROR:
            _ = try? execute("ROLLBACK")
            throw PostgresError(message: "a statement in the transaction failed and its error was caught; rolled back instead of committing")
        default:
            throw PostgresError(message: "the transaction ended inside its body (COMMIT or ROLLBACK in the SQL, or a lost connection), so its work was not atomic")
        }
    }
}
