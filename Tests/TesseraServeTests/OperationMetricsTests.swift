import Foundation
import Logging
import Testing
import TesseraCore
import TesseraPostgres
import TesseraRedis
import TesseraStream

/// The metrics of the stores' operations and the roller move when they work (and fail).
/// Labels no other test uses (ECHO, `values`, a view of its own), since every suite in
/// the process shares one registry.
@Suite struct OperationMetricsTests {
    /// The value of one sample line, e.g. `name{label="x"}`, or 0 when absent.
    static func sample(_ series: String) -> Double {
        let text = String(decoding: LookupAPITests.metricsRegistry.emitToBuffer(), as: UTF8.self)
        for line in text.split(separator: "\n") where line.hasPrefix(series + " ") {
            return Double(line.dropFirst(series.count + 1)) ?? .nan
        }
        return 0
    }

    @Test func redisCommandsAreTimedAndFailuresCounted() throws {
        _ = LookupAPITests.metricsRegistry
        let timed = #"tessera_redis_command_duration_seconds_count{command="ECHO"}"#
        let before = Self.sample(timed)
        let connection = try RedisConnection(url: LookupAPITests.redisURL())
        _ = try connection.pipeline([["ECHO", "a"], ["PING"]])
        _ = try connection.send(["ECHO", "b"])
        #expect(Self.sample(timed) == before + 2)

        // A connection the server drops: the next ECHO fails on the wire.
        let failed = #"tessera_redis_command_errors_total{command="ECHO"}"#
        let failedBefore = Self.sample(failed)
        let id = try #require(try connection.send(["CLIENT", "ID"]).integer)
        _ = try RedisConnection(url: LookupAPITests.redisURL()).send(["CLIENT", "KILL", "ID", String(id)])
        #expect(throws: RedisError.self) { try connection.send(["ECHO", "c"]) }
        #expect(Self.sample(failed) == failedBefore + 1)
        #expect(Self.sample(timed) == before + 3)
    }

    @Test func postgresStatementsAreTimedAndErrorsCounted() throws {
        _ = LookupAPITests.metricsRegistry
        let timed = #"tessera_postgres_query_duration_seconds_count{operation="values"}"#
        let errors = #"tessera_postgres_errors_total{operation="values"}"#
        let (timedBefore, errorsBefore) = (Self.sample(timed), Self.sample(errors))
        guard let url = ProcessInfo.processInfo.environment["TESSERA_POSTGRES_URL"] else {
            throw PostgresError(message: "TESSERA_POSTGRES_URL is not set: run the tests through scripts/test")
        }
        let connection = try PostgresConnection(url: url)
        defer { connection.close() }
        #expect(try connection.execute("values (1)").rows == [["1"]])
        #expect(throws: PostgresError.self) { try connection.execute("values (1 / 0)") }
        #expect(Self.sample(timed) == timedBefore + 2)
        #expect(Self.sample(errors) == errorsBefore + 1)
    }

    @Test func rollerLagIsHowFarTheCursorWasBehind() throws {
        _ = LookupAPITests.metricsRegistry
        let yaml = """
            entities:
              product: {join_keys: [product_id]}
            stream_views:
              roller_lag_probe:
                entity: product
                ttl: 30d
                features:
                  views_1h: {aggregation: count, where: {event_type: view}, window: 1h}
            """
        let catalog = try FeatureCatalog.load(yaml: yaml, file: "features.yaml")
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let store = OnlineStore(
            url: try LookupAPITests.redisURL(), keyspace: RedisKeyspace(prefix: "t\(UUID().uuidString.prefix(8).lowercased())"),
            catalog: catalog, futureToleranceMs: 300_000, logger: logger)
        let roller = WindowRoller(store: store, catalog: catalog, logger: logger)
        let start: Int64 = 1_763_720_025_000
        try roller.tick(nowMs: start)  // the first tick only places the cursor
        try roller.tick(nowMs: start + 12_500)
        #expect(Self.sample(#"tessera_roller_lag_seconds{view="roller_lag_probe"}"#) == 12.5)
        try roller.tick(nowMs: start + 13_000)
        #expect(Self.sample(#"tessera_roller_lag_seconds{view="roller_lag_probe"}"#) == 0.5)
    }
}
