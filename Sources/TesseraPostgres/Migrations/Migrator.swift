import Crypto
import Foundation

/// Applies the `NNNN_name.sql` files of a folder in version order, each in its own
/// transaction together with its row in the tracking table (version, name, checksum,
/// applied_at). A file changed after it ran stops everything: schema history is never
/// rewritten silently. Files therefore hold no BEGIN/COMMIT of their own, nor statements
/// that refuse to run in a transaction (CREATE INDEX CONCURRENTLY).
public struct Migrator: Sendable {
    public let directory: String
    /// `schema.table` recording applied migrations; created by the migrator, not by a file.
    public let trackingTable: String
    public let migrations: [Migration]
    private let trackingSchema: String
    /// Session advisory lock held while migrating, so two migrators (two daemons starting,
    /// a deploy job) take turns; derived from the tracking table so separate histories don't wait on each other.
    private let lockKey: Int64

    public init(directory: String, trackingTable: String = "tessera.schema_migrations") throws {
        let parts = trackingTable.split(separator: ".", omittingEmptySubsequences: false)
        // Spliced into SQL, so only plain lowercase identifiers are accepted.
        guard parts.count == 2, parts.allSatisfy(Self.isPlainIdentifier) else {
            throw MigrationError("tracking table '\(trackingTable)' must be schema.table in lowercase letters, digits and underscores")
        }
        self.directory = directory
        self.trackingTable = trackingTable
        trackingSchema = String(parts[0])
        lockKey = Array(SHA256.hash(data: Data("tessera.migrator:\(trackingTable)".utf8)).prefix(8))
            .reduce(0) { $0 << 8 | Int64($1) }
        migrations = try Self.read(directory)
    }

    /// Version → checksum of every applied migration; empty when nothing was ever migrated.
    public func applied(on connection: PostgresConnection) throws -> [Int: String] {
        let exists = try connection.execute("select to_regclass($1) is not null", [trackingTable]).rows.first?.first
        guard exists == "t" else { return [:] }
        var applied: [Int: String] = [:]
        for row in try connection.execute("select version, checksum from \(trackingTable)").rows {
            if let version = row[0].flatMap({ Int($0) }), let checksum = row[1] { applied[version] = checksum }
        }
        return applied
    }

    public func status(on connection: PostgresConnection) throws -> MigrationStatus {
        let applied = try applied(on: connection)
        let entries = migrations.map { migration -> MigrationStatus.Entry in
            let state: MigrationStatus.State = switch applied[migration.version] {
            case nil: .pending
            case migration.checksum: .applied
            case let other?: .changed(appliedChecksum: other)
            }
            return MigrationStatus.Entry(migration: migration, state: state)
        }
        let known = Set(migrations.map(\.version))
        return MigrationStatus(entries: entries, unknownVersions: applied.keys.filter { !known.contains($0) }.sorted())
    }

    /// Applies every pending migration in version order and returns them. Throws before
    /// applying anything when an applied file changed or the database knows versions the
    /// folder doesn't; a failing migration leaves nothing of itself behind.
    @discardableResult
    public func migrate(on connection: PostgresConnection) throws -> [Migration] {
        try connection.execute("select pg_advisory_lock($1)", [String(lockKey)])
        defer { _ = try? connection.execute("select pg_advisory_unlock($1)", [String(lockKey)]) }
        try connection.executeScript("""
            create schema if not exists \(trackingSchema);
            create table if not exists \(trackingTable) (
                version integer primary key,
                name text not null,
                checksum text not null,
                applied_at timestamptz not null default now());
            """)
        // Read under the lock: another migrator may have just finished.
        let status = try status(on: connection)
        if let divergence = status.divergence(from: directory) { throw divergence }
        for migration in status.pending {
            do {
                try connection.transaction {
                    try connection.executeScript(migration.sql)
                    // Recording it now would claim an atomic migration that wasn't.
                    guard connection.isInOpenTransaction else {
                        throw MigrationError("it ended the transaction itself (COMMIT or ROLLBACK in the file), so it is not "
                            + "recorded as applied and what ran before that point may be committed; remove that statement and check the schema by hand")
                    }
                    try connection.execute(
                        "insert into \(trackingTable) (version, name, checksum) values ($1, $2, $3)",
                        [String(migration.version), migration.name, migration.checksum])
                }
            } catch {
                throw MigrationError("\(directory)/\(migration.fileName) failed: \(error)")
            }
        }
        return status.pending
    }

    /// For services at startup: refuses a database that is behind the files or disagrees with them.
    public func requireUpToDate(on connection: PostgresConnection) throws {
        let status = try status(on: connection)
        if let divergence = status.divergence(from: directory) {
            throw MigrationError("the database schema disagrees with \(directory): \(divergence.message); `tessera migrate --status` shows each migration")
        }
        let pending = status.pending
        guard pending.isEmpty else {
            throw MigrationError("the database schema is behind: \(pending.count) pending migration(s) "
                + "(\(pending.map(\.label).joined(separator: ", "))); run `tessera migrate`")
        }
    }

    private static func read(_ directory: String) throws -> [Migration] {
        let fileNames: [String]
        do {
            fileNames = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            throw MigrationError("cannot read the migrations folder '\(directory)'")
        }
        var byVersion: [Int: Migration] = [:]
        for fileName in fileNames.sorted() where fileName.hasSuffix(".sql") && !fileName.hasPrefix(".") {
            guard let (version, name) = Migration.parseFileName(fileName) else {
                throw MigrationError("\(directory)/\(fileName): migration files are named NNNN_name.sql "
                    + "(four digits from 0001, then lowercase letters, digits and underscores)")
            }
            if let other = byVersion[version] {
                throw MigrationError("\(directory): \(other.fileName) and \(fileName) have the same version \(version)")
            }
            guard let data = FileManager.default.contents(atPath: "\(directory)/\(fileName)") else {
                throw MigrationError("cannot read \(directory)/\(fileName)")
            }
            let bytes = [UInt8](data)
            guard let sql = String(validating: bytes, as: UTF8.self) else {
                throw MigrationError("\(directory)/\(fileName) is not UTF-8 text")
            }
            byVersion[version] = Migration(version: version, name: name, sql: sql, checksum: SHA256.hash(data: Data(bytes)).map { String(format: "%02x", $0) }.joined())
        }
        guard !byVersion.isEmpty else { throw MigrationError("no NNNN_name.sql migration files in '\(directory)'") }
        return byVersion.values.sorted { $0.version < $1.version }
    }

    private static func isPlainIdentifier(_ text: Substring) -> Bool {
        guard let first = text.first, first == "_" || (first.isASCII && first.isLowercase) else { return false }
        return text.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "_") }
    }
}
