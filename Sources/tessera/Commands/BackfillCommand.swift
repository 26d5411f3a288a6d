import ArgumentParser
import Foundation
import TesseraBatch
import TesseraCore
import TesseraPostgres
import TesseraRedis
import TesseraStream

/// `tessera backfill`: recomputes stream views' tiles and vectors from the event log.
struct BackfillCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backfill",
        abstract: "Recompute stream features from the event log (tessera.events) into Redis, safely while serve runs.",
        subcommands: [Run.self, Status.self],
        defaultSubcommand: Run.self)

    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "run",
            abstract: "Rebuild one view (or everything with --all); an interrupted run resumes when asked again.",
            discussion: """
                Times are RFC 3339 (2026-11-20T00:00:00Z), epoch milliseconds, now, or now-<duration> (now-7d).
                Tiles overlapping [--from, --to) that a window still reads are rebuilt; lifetime features from the
                entity's whole history. --all rebuilds every stream view from the log: the recovery after Redis
                lost its data.
                """)

        @OptionGroup var options: ConfigOptions
        @Option(help: "The stream view to rebuild.") var view: String?
        @Option(help: "Only these features (comma-separated); ratios bring their operands.") var features: String?
        @Option(help: "Start of the event-time range (included).") var from: String?
        @Option(help: "End of the event-time range (excluded).") var to: String?
        @Flag(help: "Rebuild every stream view and every tile a window reads.") var all = false
        @Flag(help: "Print the plan (range, chunks, entities, events) and write nothing.") var dryRun = false

        func run() throws {
            let files = try ConfigFiles.load(configDir: options.configDir)
            let logger = LogSetup.logger("backfill", level: files.service.logLevel)
            let nowMs = TimeArgument.nowMs()
            let request = try makeRequest(files.catalog, nowMs: nowMs)
            do {
                let database = try BatchDatabase(url: files.service.postgresURL)
                try database.requireMigrations(in: ConfigFiles.migrationsDirectory(nil))
                let store = OnlineStore(
                    url: try RedisURL(parsing: files.service.redis.url), keyspace: RedisKeyspace(prefix: files.service.redis.keyPrefix),
                    catalog: files.catalog, futureToleranceMs: files.service.ingest.futureToleranceMs,
                    tracksChanges: files.service.snapshotIntervalMs != nil, logger: logger)
                let backfill = Backfill(
                    database: database, store: store, catalog: files.catalog,
                    settings: .init(offlineGroup: files.service.kafka.offlineConsumerGroup, topic: files.service.kafka.topic,
                                    futureToleranceMs: files.service.ingest.futureToleranceMs),
                    clock: TimeArgument.nowMs, logger: logger)
                if dryRun {
                    printPlan(try backfill.plan(request), request: request, nowMs: nowMs)
                    return
                }
                let interrupt = InterruptFlag()
                let reporter = ProgressReporter(logger: logger)
                let job = try backfill.run(request, shouldStop: interrupt.isSet, progress: reporter.report)
                reporter.finish()
                print(BackfillReport.line(job))
                if job.status == "interrupted" {
                    print("interrupted: run the same command again to resume at chunk \(job.chunksDone + 1) of \(job.chunksTotal)")
                    throw ExitCode(130)
                }
            } catch let error as BackfillError {
                throw StartupError(message: "backfill: \(error)")
            } catch let error as PostgresError {
                throw StartupError(message: "backfill: PostgreSQL: \(error)")
            } catch let error as MigrationError {
                throw StartupError(message: "backfill: \(error)")
            } catch let error as RedisError {
                throw StartupError(message: "backfill: Redis: \(error)")
            }
        }

        private func makeRequest(_ catalog: FeatureCatalog, nowMs: Int64) throws -> BackfillRequest {
            if all {
                guard view == nil, features == nil, from == nil, to == nil else {
                    throw StartupError(message: "backfill: --all rebuilds everything; it takes no --view, --features, --from or --to")
                }
                return BackfillRequest(rebuildingEverythingIn: catalog)
            }
            guard let view else { throw StartupError(message: "backfill: name a stream view with --view, or rebuild everything with --all") }
            guard let from, let to else { throw StartupError(message: "backfill: --view needs --from and --to (for example --from now-7d --to now)") }
            let names = features.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } } ?? []
            do {
                return try BackfillRequest(
                    catalog: catalog, view: view, features: names,
                    fromMs: TimeArgument.milliseconds(from, option: "--from", nowMs: nowMs),
                    toMs: TimeArgument.milliseconds(to, option: "--to", nowMs: nowMs))
            } catch let error as BackfillError {
                throw StartupError(message: "backfill: \(error)")
            }
        }

        private func printPlan(_ plan: BackfillPlan, request: BackfillRequest, nowMs: Int64) {
            print("backfill plan (dry run: nothing written)")
            if let fromMs = request.fromMs, let toMs = request.toMs {
                print("  event time  \(RFC3339.string(epochMilliseconds: fromMs)) .. \(RFC3339.string(epochMilliseconds: toMs)) (tiles a window still reads)")
            } else {
                print("  event time  every tile a window reads at \(RFC3339.string(epochMilliseconds: nowMs)); lifetime values from all history")
            }
            for target in request.targets {
                let chunks = plan.chunks(of: target.view.name)
                let features = target.features.isEmpty ? "all features" : target.features.joined(separator: ",")
                print("  \(target.view.name) (\(features)): \(chunks.count) chunks, \(chunks.reduce(0) { $0 + $1.entities }) entities, "
                    + "\(chunks.reduce(0) { $0 + $1.events }) events")
            }
            print("  total: \(plan.chunks.count) chunks, \(plan.entities) entities, \(plan.events) events")
        }
    }

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "status", abstract: "List backfill jobs, newest first.")

        @OptionGroup var options: ConfigOptions
        @Option(help: "How many jobs to list.") var limit = 20

        func run() throws {
            let files = try ConfigFiles.load(configDir: options.configDir)
            do {
                let jobs = try Backfill.jobs(in: BatchDatabase(url: files.service.postgresURL), limit: limit)
                if jobs.isEmpty { print("no backfill jobs") }
                for job in jobs { print(BackfillReport.line(job)) }
            } catch let error as PostgresError {
                throw StartupError(message: "backfill status: PostgreSQL: \(error)")
            }
        }
    }
}
