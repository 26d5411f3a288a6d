import ArgumentParser
import Foundation
import TesseraBatch
import TesseraCore
import TesseraRedis

/// `tessera materialize`: copies the latest source row per entity of batch views into
/// Redis, from each view's watermark on (or from `--since`).
struct MaterializeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "materialize", abstract: "Copy the latest row per entity of batch views from PostgreSQL into Redis.")

    @OptionGroup var options: ConfigOptions
    @Option(help: "The batch view to materialize (default: every batch view).") var view: String?
    @Option(help: "Read source rows from this RFC 3339 time (e.g. 2026-05-01T00:00:00Z) instead of the watermark.")
    var since: String?

    func run() throws {
        let files = try ConfigFiles.load(configDir: options.configDir)
        let config = files.service
        let catalog = files.catalog
        guard !config.postgresURL.isEmpty else {
            throw StartupError(message: "config error: postgres.url is not set (tessera.yaml or TESSERA_POSTGRES_URL)")
        }
        let views: [BatchView]
        if let view {
            guard let found = catalog.batchView(named: view) else {
                let known = catalog.batchViews.map(\.name)
                throw StartupError(message: "no batch view '\(view)' in features.yaml (batch views: \(known.isEmpty ? "none" : known.joined(separator: ", ")))")
            }
            views = [found]
        } else {
            guard !catalog.batchViews.isEmpty else { throw StartupError(message: "features.yaml declares no batch_views") }
            views = catalog.batchViews
        }
        var sinceUs: Int64?
        if let since {
            guard let ms = RFC3339.epochMilliseconds(since) else {
                throw StartupError(message: "--since: '\(since)' is not an RFC 3339 time (e.g. 2026-05-01T00:00:00Z)")
            }
            sinceUs = ms * 1_000
        }
        let redisURL: RedisURL
        do { redisURL = try RedisURL(parsing: config.redis.url) } catch {
            throw StartupError(message: "config error: redis.url: \(error)")
        }
        try SchemaCheck.requireUpToDate(config.postgresURL)

        let materializer = BatchMaterializer(
            postgresURL: config.postgresURL, redisURL: redisURL, keyspace: RedisKeyspace(prefix: config.redis.keyPrefix),
            clock: { Int64(Date().timeIntervalSince1970 * 1_000) })
        var failures: [String] = []
        for view in views {
            do {
                print(try materializer.run(view, sinceUs: sinceUs).summary)
            } catch {
                failures.append("\(error)")
            }
        }
        // Every view is tried; the failures are reported together, one line each.
        if !failures.isEmpty { throw StartupError(message: failures.joined(separator: "\n")) }
    }
}
