import TesseraPostgres

enum SchemaCheck {
    /// The event log and batch views use tables the migrations create: refuse to start on
    /// a database behind this build, naming the command that fixes it.
    static func requireUpToDate(_ url: String) throws {
        do {
            let connection = try PostgresConnection(url: url)
            defer { connection.close() }
            try Migrator(directory: ConfigFiles.migrationsDirectory(nil)).requireUpToDate(on: connection)
        } catch let error as PostgresError {
            throw StartupError(message: error.description)
        } catch let error as MigrationError {
            throw StartupError(message: error.description)
        }
    }
}
