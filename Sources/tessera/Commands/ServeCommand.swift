import ArgumentParser
import Hummingbird
import Logging
import NIOPosix
import ServiceLifecycle
import TesseraCore
import TesseraPostgres
import TesseraRedis
import TesseraServe
import TesseraStream

/// `tessera serve`: ingestion, the window roller and the lookup API in one process,
/// stopped gracefully by SIGTERM or SIGINT.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve", abstract: "Consume the clickstream, keep features in Redis, answer lookups.")

    @OptionGroup var options: ConfigOptions

    func run() async throws {
        let files = try ConfigFiles.load(configDir: options.configDir)
        let config = files.service
        let logger = LogSetup.logger("serve", level: config.logLevel)
        let metrics = MetricsSetup.prometheus()

        let redisURL: RedisURL
        do { redisURL = try RedisURL(parsing: config.redis.url) } catch {
            throw StartupError(message: "config error: redis.url: \(error)")
        }
        if !config.postgresURL.isEmpty { try Self.requireSchemaUpToDate(config.postgresURL) }
        let keys = try config.api.authEnabled ? KeysCommand.loadStore(files.resolve(config.api.keysFile)) : nil
        if keys == nil { logger.warning("API authentication is off (api.auth / TESSERA_API_AUTH)") }
        let status = IngestionStatus()
        let gate = ShutdownGate()
        let stream = StreamService(config: config, catalog: files.catalog, status: status, logger: logger)

        // hiredis blocks: lookups borrow pooled connections on threads of their own.
        let lookupThreads = NIOThreadPool(numberOfThreads: 8)
        lookupThreads.start()
        let vectors = VectorStore(pool: RedisConnectionPool(url: redisURL, maxIdle: 8), threads: lookupThreads)
        let api = LookupAPI(
            catalog: files.catalog, keyspace: RedisKeyspace(prefix: config.redis.keyPrefix), store: vectors,
            limits: .init(
                maxBodyBytes: config.api.maxBodyBytes, maxEntitiesPerRequest: config.api.maxEntitiesPerRequest,
                ratePerSecond: config.api.rateLimitPerSecond > 0 ? config.api.rateLimitPerSecond : nil,
                burst: config.api.rateLimitBurst, maxInFlight: config.api.maxInFlight),
            keys: keys,
            readinessChecks: {
                let redisUp = await vectors.ping()
                let partitions = status.assignedPartitions
                return [
                    .init(name: "shutdown", ok: !gate.isShuttingDown, detail: gate.isShuttingDown ? "shutting down" : "running"),
                    .init(name: "redis", ok: redisUp, detail: redisUp ? "answers PING" : "no answer from \(redisURL)"),
                    .init(name: "kafka", ok: partitions > 0, detail: "\(partitions) partitions assigned"),
                ]
            },
            metricsText: { metrics.emitToBuffer() })
        let app = Application(
            router: api.router(),
            configuration: .init(address: .hostname(config.api.host, port: config.api.port), serverName: "tessera"),
            logger: logger)

        logger.info("tessera serve starting", metadata: [
            "api": "\(config.api.host):\(config.api.port)", "redis": "\(redisURL)", "kafka": "\(config.kafka.brokers)",
            "views": "\(files.catalog.streamViews.map(\.name).joined(separator: ","))",
        ])
        // Stopped in reverse order: the gate turns /readyz to 503 first, then ingestion
        // finishes and commits its batch, then the API drains in-flight lookups.
        let group = ServiceGroup(services: [app, stream, gate], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        let watchdog = ShutdownWatchdog.start(timeoutMs: config.shutdownTimeoutMs, logger: logger)
        try await group.run()
        watchdog.cancel()
        try await lookupThreads.shutdownGracefully()
    }

    /// The event log writes into tables the migrations create: refuse to start on a
    /// database behind this build, naming the command that fixes it.
    private static func requireSchemaUpToDate(_ url: String) throws {
        do {
            let connection = try PostgresConnection(url: url)
            defer { connection.close() }
            try Migrator(directory: ConfigFiles.migrationsDirectory(nil)).requireUpToDate(on: connection)
        } catch let error as PostgresError {
            throw StartupError(message: error.description)
        } catch let error as MigrationError {
            throw StartupError(message: error.description)
        }
    }
}
