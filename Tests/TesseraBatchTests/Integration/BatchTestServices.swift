import Foundation
import Logging
import TesseraCore
import TesseraPostgres
import TesseraRedis

/// Addresses of the services `scripts/test` starts (TESSERA_REDIS_URL, TESSERA_POSTGRES_URL);
/// a missing one fails the test.
enum BatchTestServices {
    static func environment(_ name: String) throws -> String {
        guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else {
            throw PostgresError(message: "\(name) is not set: run the tests through scripts/test, which starts the services")
        }
        return value
    }

    static func redisURL() throws -> RedisURL { try RedisURL(parsing: environment("TESSERA_REDIS_URL")) }
    static func postgresURL() throws -> String { try environment("TESSERA_POSTGRES_URL") }

    /// A Redis key prefix of its own per test, so tests never see each other's data.
    static func uniquePrefix() -> String { "t\(UUID().uuidString.prefix(8).lowercased())" }

    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static var migrationsDirectory: String { repositoryRoot.appendingPathComponent("migrations").path }

    static func catalog() throws -> FeatureCatalog {
        let path = repositoryRoot.appendingPathComponent("config/features.yaml").path
        return try FeatureCatalog.load(yaml: String(contentsOfFile: path, encoding: .utf8), file: path)
    }

    /// A new, empty database with the project's migrations applied, dropped when the
    /// returned value goes away. Batch commands read the whole event log, so each test
    /// gets a log of its own.
    static func freshDatabase() throws -> FreshDatabase { try FreshDatabase() }

    static let logger: Logger = {
        var logger = Logger(label: "tessera.test")
        logger.logLevel = .warning
        return logger
    }()
}

final class FreshDatabase {
    let name: String
    let url: String
    private let adminURL: String

    init() throws {
        adminURL = try BatchTestServices.postgresURL()
        name = "tessera_t_\(UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(12))"
        let admin = try PostgresConnection(url: adminURL)
        defer { admin.close() }
        try admin.execute("create database \(name)")
        url = try Self.url(adminURL, database: name)
        let connection = try PostgresConnection(url: url)
        defer { connection.close() }
        _ = try Migrator(directory: BatchTestServices.migrationsDirectory).migrate(on: connection)
    }

    func connect() throws -> PostgresConnection { try PostgresConnection(url: url) }

    deinit {
        if let admin = try? PostgresConnection(url: adminURL) {
            _ = try? admin.execute("drop database if exists \(name) with (force)")
            admin.close()
        }
    }

    /// The same URL naming another database: `scheme://authority/<database>[?query]`.
    static func url(_ url: String, database: String) throws -> String {
        guard let schemeEnd = url.range(of: "://") else { throw PostgresError(message: "not a URL: \(url)") }
        let rest = url[schemeEnd.upperBound...]
        let query = rest.firstIndex(of: "?").map { String(rest[$0...]) } ?? ""
        let beforeQuery = rest.prefix { $0 != "?" }
        let authority = beforeQuery.prefix { $0 != "/" }
        return "\(url[..<schemeEnd.upperBound])\(authority)/\(database)\(query)"
    }
}
