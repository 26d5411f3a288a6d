import ArgumentParser
import Foundation
import TesseraPostgres

/// `tessera migrate`: brings the PostgreSQL schema up to date, or shows where it stands.
struct MigrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate", abstract: "Apply pending PostgreSQL migrations, or list their status.")

    @OptionGroup var options: ConfigOptions
    @Option(help: "Folder with the NNNN_name.sql files (default: $TESSERA_MIGRATIONS_DIR or ./migrations).")
    var migrationsDir: String?
    @Flag(help: "List each migration as applied, pending or changed; apply nothing.")
    var status = false

    func run() throws {
        let files = try ConfigFiles.load(configDir: options.configDir)
        let url = try ConfigFiles.requirePostgresURL(files.service)
        let directory = ConfigFiles.migrationsDirectory(migrationsDir)
        // Failures that stop the command are reported as one line, like config errors.
        do {
            let migrator = try Migrator(directory: directory)
            let connection = try PostgresConnection(url: url)
            defer { connection.close() }
            if status {
                try printStatus(migrator.status(on: connection))
                return
            }
            let applied = try migrator.migrate(on: connection)
            for migration in applied {
                print("applied \(migration.label) (sha256 \(migration.checksum.prefix(8))…)")
            }
            if applied.isEmpty {
                let version = try migrator.status(on: connection).appliedVersion ?? 0
                print("database is up to date at version \(version)")
            }
        } catch let error as PostgresError {
            throw StartupError(message: error.description)
        } catch let error as MigrationError {
            throw StartupError(message: error.description)
        }
    }

    private func printStatus(_ status: MigrationStatus) {
        for entry in status.entries {
            let state = switch entry.state {
            case .applied: "applied"
            case .pending: "pending"
            case .changed(let appliedChecksum): "changed (applied as sha256 \(appliedChecksum.prefix(8))…)"
            }
            print("\(entry.migration.label)  sha256 \(entry.migration.checksum.prefix(8))…  \(state)")
        }
        for version in status.unknownVersions {
            print("\(version)  applied, but no file here (a newer tessera?)")
        }
    }
}
