/// Where a database stands against a folder of migrations.
public struct MigrationStatus: Sendable {
    public enum State: Sendable, Equatable {
        case applied
        case pending
        /// Applied, but the file's bytes differ from what ran.
        case changed(appliedChecksum: String)
    }

    public struct Entry: Sendable {
        public var migration: Migration
        public var state: State
    }

    /// Every migration file, in version order.
    public var entries: [Entry]
    /// Versions recorded as applied that have no file in the folder (a newer tessera ran them).
    public var unknownVersions: [Int]

    public var pending: [Migration] { entries.filter { $0.state == .pending }.map(\.migration) }

    /// The highest version recorded as applied, nil for an unmigrated database.
    public var appliedVersion: Int? {
        (entries.filter { $0.state != .pending }.map(\.migration.version) + unknownVersions).max()
    }

    /// What makes the database disagree with the files, nil when they agree (pending ones aside).
    func divergence(from directory: String) -> MigrationError? {
        var problems: [String] = []
        for entry in entries {
            if case .changed(let appliedChecksum) = entry.state {
                problems.append("\(entry.migration.fileName) changed after it was applied (sha256 \(appliedChecksum.prefix(8))… "
                    + "in the database, \(entry.migration.checksum.prefix(8))… on disk): restore the file and put the change in a new migration")
            }
        }
        if !unknownVersions.isEmpty {
            let versions = unknownVersions.map(String.init).joined(separator: ", ")
            problems.append("the database has migrations \(versions) that are not in \(directory) (applied by a newer tessera?)")
        }
        return problems.isEmpty ? nil : MigrationError(problems.joined(separator: "; "))
    }
}
