import Logging
import TesseraPostgres

enum SchemaCheck {
    /// The event log and batch views use tables the migrations create: refuse to run on a
    /// database behind this build, naming the command that fixes it.
    static func requireUpToDate(_ url: String) throws {
        let connection: PostgresConnection
        do { connection = try PostgresConnection(url: url) } catch let error as PostgresError {
            throw StartupError(message: error.description)
        }
        defer { connection.close() }
        try requireUpToDate(on: connection)
    }

    /// The same for `serve`, except that a database that does not answer does not stop it:
    /// the online path and lookups need only Redis and Kafka, and the offline side checks
    /// the schema itself on each connection once PostgreSQL is back.
    static func requireUpToDateIfReachable(_ url: String, logger: Logger) throws {
        let connection: PostgresConnection
        do { connection = try PostgresConnection(url: url) } catch let error as PostgresError {
            logger.warning(
                "PostgreSQL does not answer at start: the online path and lookups start without it; the event log, snapshots and batch views wait for it",
                metadata: ["error": "\(error)"])
            return
        }
        defer { connection.close() }
        try requireUpToDate(on: connection)
    }

    private static func requireUpToDate(on connection: PostgresConnection) throws {
        do {
            try Migrator(directory: ConfigFiles.migrationsDirectory(nil)).requireUpToDate(on: connection)
        } catch let error as PostgresError {
            throw StartupError(message: error.description)
        } catch let error as MigrationError {
            throw StartupError(message: error.description)
        }
    }
}
