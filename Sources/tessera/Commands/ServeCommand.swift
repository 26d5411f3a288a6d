import ArgumentParser
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import ServiceLifecycle
import TesseraBatch
import TesseraCore
import TesseraRedis
import TesseraServe
import TesseraStream

/// `tessera serve`: ingestion, the window roller, batch view schedules and the lookup API in one process,
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
        if !config.postgresURL.isEmpty { try SchemaCheck.requireUpToDateIfReachable(config.postgresURL, logger: logger) }
        let keys = try config.api.authEnabled ? KeysCommand.loadStore(files.resolve(config.api.keysFile)) : nil
        if keys == nil { logger.warning("API authentication is off (api.auth / TESSERA_API_AUTH)") }
        let status = IngestionStatus()
        let gate = ShutdownGate()
        let stream = StreamService(
            config: config, catalog: files.catalog, status: status, migrationsDirectory: ConfigFiles.migrationsDirectory(nil), logger: logger)
        let keyspace = RedisKeyspace(prefix: config.redis.keyPrefix)
        var batch: [any Service] = []
        if !files.catalog.batchViews.isEmpty {
            if config.postgresURL.isEmpty {
                logger.warning("postgres.url is not set: batch views are not materialized")
            } else {
                batch.append(MaterializeService(
                    views: files.catalog.batchViews, postgresURL: config.postgresURL, redisURL: redisURL, keyspace: keyspace,
                    logger: logger))
            }
        }
        if !config.postgresURL.isEmpty { batch.append(BackfillProgressService(postgresURL: config.postgresURL, logger: logger)) }

        // Lookups read Redis on the event loops, pipelined on a connection per loop.
        let lookupRedis = RedisPipeline(url: redisURL)
        let vectors = VectorStore(redis: lookupRedis, readTimeout: config.api.requestTimeoutMs.map { Duration.milliseconds($0) })
        let metricsText: @Sendable () -> [UInt8] = { metrics.emitToBuffer() }
        let api = LookupAPI(
            catalog: files.catalog, keyspace: keyspace, store: vectors,
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
            // With a metrics address of its own, /metrics is served there only.
            metricsText: config.api.metricsListen == nil ? metricsText : nil)
        let app = Application(
            router: api.router(), server: try Self.server(config.api.tls, files: files),
            configuration: .init(address: .hostname(config.api.host, port: config.api.port), serverName: "tessera"),
            logger: logger)
        var servers: [any Service] = [app]
        if let (host, port) = config.api.metricsListen {
            servers.append(Application(
                router: MetricsRoute.router(metricsText: metricsText),
                configuration: .init(address: .hostname(host, port: port), serverName: "tessera-metrics"), logger: logger))
        }

        logger.info("tessera serve starting", metadata: [
            "api": "\(config.api.tls == nil ? "http" : "https")://\(config.api.host):\(config.api.port)",
            "metrics": "\(config.api.metricsListen.map { "http://\($0.host):\($0.port)/metrics" } ?? "on the API port")",
            "redis": "\(redisURL)", "kafka": "\(config.kafka.brokers)",
            "views": "\(files.catalog.streamViews.map(\.name).joined(separator: ","))",
            "batch_views": "\(files.catalog.batchViews.map(\.name).joined(separator: ","))",
        ])
        // Stopped in reverse order: the gate turns /readyz to 503 first, then the batch
        // schedule stops between runs, ingestion finishes and commits its batch, then the
        // API drains in-flight lookups.
        let services: [any Service] = servers + [stream] + batch + [gate]
        let group = ServiceGroup(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        let watchdog = ShutdownWatchdog.start(timeoutMs: config.shutdownTimeoutMs, logger: logger)
        do {
            try await group.run()
        } catch {
            // One service failed (the API's address taken, a broker that cannot be reached): the
            // group has stopped the others; say which error before exiting with it.
            logger.error("tessera serve stopped: a service failed", metadata: ["error": "\(error)", "api": "\(config.api.host):\(config.api.port)"])
            throw error
        }
        watchdog.cancel()
        await lookupRedis.close()
    }

    /// HTTP/1.1, or HTTPS when `api.tls` names a certificate and key.
    private static func server(_ tls: ServiceConfig.TLS?, files: ConfigFiles) throws -> HTTPServerBuilder {
        guard let tls else { return APIServer.builder() }
        do {
            let configuration = try APITLS.serverConfiguration(
                certificatePath: files.resolve(tls.certificatePath), privateKeyPath: files.resolve(tls.privateKeyPath))
            return APIServer.builder(tls: configuration)
        } catch let error as APITLS.LoadError {
            throw StartupError(message: "config error: \(error)")
        }
    }
}
