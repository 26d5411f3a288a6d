import ArgumentParser
import Foundation
import TesseraBatch
import TesseraPostgres

/// `tessera training-set`: point-in-time correct features for a spine of (keys, timestamp) rows.
struct TrainingSetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "training-set",
        abstract: "Write a training set: each spine row with its features as they were at its timestamp.",
        discussion: """
            The spine is a CSV file with a header: a `timestamp` column (RFC 3339 or epoch \
            milliseconds), the join-key columns of the requested views (product_id, user_id, \
            query), and any other columns (labels), which are copied through. Each output row \
            is the spine row followed by one column per feature, named view__feature, as a \
            lookup would have answered at the row's timestamp (empty = no value): stream views \
            recomputed from the event log with event time ≤ the timestamp under the online \
            window rules, batch views from the entity's latest source row with timestamp ≤ the \
            row's timestamp, none when that row is older than the view's ttl.
            """)

    @OptionGroup var options: ConfigOptions
    @Option(help: "The spine CSV file.") var spine: String
    @Option(help: "Features to add, comma-separated view:feature (e.g. product_stats:views_24h,product_catalog:price).")
    var features: String
    @Option(help: "Where to write the training set (CSV).") var out: String

    func run() throws {
        let files = try ConfigFiles.load(configDir: options.configDir)
        let url = try ConfigFiles.requirePostgresURL(files.service)
        let started = ContinuousClock.now
        do {
            let connection = try PostgresConnection(url: url)
            defer { connection.close() }
            let summary = try TrainingSetBuilder(catalog: files.catalog).build(spine: spine, features: features, output: out, on: connection)
            let elapsed = (ContinuousClock.now - started).components
            let seconds = Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18
            print("wrote \(summary.rows) rows with \(summary.features) features to \(out) in \(String(format: "%.2f", seconds)) s")
        } catch let error as TrainingSetError {
            throw StartupError(message: "training-set: \(error)")
        } catch let error as PostgresError {
            throw StartupError(message: "training-set: \(error)")
        } catch let error as CSVError {
            throw StartupError(message: "training-set: output \(error)")
        }
    }
}
