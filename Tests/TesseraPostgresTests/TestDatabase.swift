import Foundation
import TesseraPostgres

/// The PostgreSQL that `scripts/test` starts (TESSERA_POSTGRES_URL). Tests fail, not skip,
/// without it. Each test works in objects named with a random suffix, so tests run in parallel.
enum TestDatabase {
    static var url: String {
        get throws {
            guard let url = ProcessInfo.processInfo.environment["TESSERA_POSTGRES_URL"] else {
                throw PostgresError(message: "TESSERA_POSTGRES_URL is not set: run the tests through scripts/test")
            }
            return url
        }
    }

    static func connect() throws -> PostgresConnection {
        try PostgresConnection(url: url)
    }

    /// `prefix_` plus random lowercase hex: a table or schema name no other test uses.
    static func uniqueName(_ prefix: String) -> String {
        "\(prefix)_\(UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(12))"
    }

    /// The repository's own migrations folder.
    static let migrationsDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("migrations").path
}

struct ExpectedFailure: Error {}
