import Foundation
import Testing
@testable import TesseraPostgres

@Suite struct MigrationChecksumTests {
    /// A migration's checksum is the SHA-256 of the file's bytes, as PostgreSQL computes it too.
    @Test func checksumIsTheSHA256OfTheFile() throws {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../migrations").standardized
        let migrator = try Migrator(directory: folder.path)
        let connection = try TestDatabase.connect()
        for migration in migrator.migrations {
            let bytes = try Data(contentsOf: folder.appendingPathComponent(migration.fileName))
            let hex = bytes.map { String(format: "%02x", $0) }.joined()
            let expected = try connection.execute("select encode(sha256(decode($1, 'hex')), 'hex')", [hex]).rows
            #expect(expected == [[migration.checksum]], "\(migration.fileName)")
        }
    }
}
