import ArgumentParser
import TesseraBatch
import TesseraCore
import TesseraPostgres
import TesseraRedis

/// `tessera verify`: online vectors against the event log, for a sample of entities.
struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Compare online feature vectors with features recomputed from the event log.",
        discussion: """
            For a sample of entities per stream view (SCAN order), recomputes every feature \
            from tessera.events as the online store saw it (the events up to its offset \
            fences, windows at the vector's computed-at time) and prints mismatches per \
            feature. Counts, min, max and last must be equal, sums within a relative 1e-9, \
            approx_distinct within max(2, 5 standard errors of a HyperLogLog). Entities the \
            event log has not caught up with are skipped. Exits 1 on any mismatch, 2 when \
            no entity could be compared (an empty online store is not a pass).
            """)

    @OptionGroup var options: ConfigOptions
    @Option(help: "Only this stream view (default: every stream view).") var view: String?
    @Option(help: "Entities to check per view.") var sample: Int = 1000

    func run() throws {
        let files = try ConfigFiles.load(configDir: options.configDir)
        let config = files.service
        let postgresURL = try ConfigFiles.requirePostgresURL(config)
        guard sample > 0 else { throw StartupError(message: "verify: --sample must be at least 1") }
        var views = files.catalog.streamViews
        if let view {
            guard let chosen = files.catalog.streamView(named: view) else {
                throw StartupError(message: "verify: no stream view '\(view)' (known: \(views.map(\.name).joined(separator: ", ")))")
            }
            views = [chosen]
        }
        let report: VerifyReport
        do {
            let redis = try RedisConnection(url: RedisURL(parsing: config.redis.url))
            defer { redis.close() }
            let postgres = try PostgresConnection(url: postgresURL)
            defer { postgres.close() }
            let verifier = Verifier(
                keyspace: RedisKeyspace(prefix: config.redis.keyPrefix), offlineGroup: config.kafka.offlineConsumerGroup,
                topic: config.kafka.topic)
            report = try verifier.verify(views, sample: sample, redis: redis, postgres: postgres)
        } catch let error as RedisError {
            throw StartupError(message: "verify: \(error)")
        } catch let error as PostgresError {
            throw StartupError(message: "verify: \(error)")
        }
        for line in report.lines { print(line) }
        if report.mismatches > 0 { throw ExitCode(1) }
        if report.checked == 0 { throw ExitCode(2) }
    }
}
