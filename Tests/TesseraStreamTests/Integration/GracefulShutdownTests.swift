import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import Testing
import TesseraCore
import TesseraKafka
import TesseraPostgres
import TesseraRedis
@testable import TesseraStream

/// SIGTERM in the middle of ingestion, delivered to this process and handled by
/// swift-service-lifecycle as `tessera serve` handles it: both paths finish and commit
/// their current batch and stop within the shutdown bound; a second run resumes from the
/// commits, and every count online and in the event log is exact.
@Suite(.serialized) struct GracefulShutdownTests {
    let now: Int64 = 1_763_720_025_000
    let eventCount = 10_000
    let shutdownBound: Duration = .seconds(30)

    /// Everything one test owns: a broker, a Redis prefix, consumer groups and event ids.
    final class Rig: @unchecked Sendable {
        // Set up and read by the test's task; the services only read the immutable config.
        let broker: DevKafkaBroker
        let producer: KafkaProducer
        let catalog: FeatureCatalog
        let tag = "t\(UUID().uuidString.prefix(8).lowercased())"
        let config: ServiceConfig
        let reader: OnlineStore

        init(now: Int64) throws {
            broker = try DevKafkaBroker()
            try broker.createTopic("clickstream", partitions: 3)
            try broker.createTopic("clickstream.dlq", partitions: 1)
            producer = try KafkaProducer(brokers: broker.bootstrapServers, logger: TestServices.logger)
            catalog = try TestServices.catalog()
            let yaml = """
                kafka:
                  brokers: \(broker.bootstrapServers)
                  topic: clickstream
                  consumer_group: online-\(tag)
                  offline_consumer_group: offline-\(tag)
                  settings: {session.timeout.ms: "6000", heartbeat.interval.ms: "500"}
                redis: {url: "\(try TestServices.environment("TESSERA_REDIS_URL"))", key_prefix: \(tag)}
                postgres: {url: "\(try EventLogWriterTests.postgresURL())"}
                ingest: {batch_max_events: 50, offline_batch_max_events: 50, batch_max_wait: 20ms}
                snapshots: {interval: "off"}
                shutdown_timeout: 30s
                """
            config = try ServiceConfig.load(yaml: yaml, file: "test.yaml", environment: [:])
            reader = OnlineStore(
                url: try TestServices.redisURL(), keyspace: RedisKeyspace(prefix: tag), catalog: catalog,
                futureToleranceMs: 300_000, logger: TestServices.logger)
        }

        deinit {
            producer.close()
            broker.shutdown()
        }

        /// Event i: a click every fourth, else a view, all inside the last hour.
        func publish(count: Int, now: Int64) throws {
            for index in 0..<count {
                let type = index % 4 == 0 ? "click" : "view"
                let json = #"{"event_id":"\#(tag)-\#(index)","event_type":"\#(type)","timestamp":\#(now - Int64(index) * 100),"user_id":"u-\#(index % 7)","product_id":"p-\#(index % 10)"}"#
                try producer.send(topic: "clickstream", key: Array("u-\(index % 7)".utf8), value: Array(json.utf8))
            }
            try producer.flush(timeoutMs: 30_000)
        }

        func feature(_ view: String, _ name: String, _ key: String) throws -> Double {
            let reply = try reader.run([["GET", reader.keyspace.vectorKey(view: view, entity: EntityKey(values: [key]))]])[0]
            guard case .bytes(let bytes) = reply else { return 0 }
            return try FeatureVector(decoding: bytes).values[catalog.streamView(named: view)!.featureIndex(named: name)!]
        }

        /// Events applied online, as the products' vectors count them.
        func onlineTotal() throws -> Int {
            var total = 0.0
            for product in 0..<10 {
                total += try feature("product_stats", "views_1h", "p-\(product)") + feature("product_stats", "clicks_1h", "p-\(product)")
            }
            return Int(total)
        }

        /// (rows, distinct event ids) of this test's events in the log.
        func logged(_ connection: PostgresConnection) throws -> (rows: Int, distinct: Int) {
            let result = try connection.execute(
                "select count(*), count(distinct event_id) from tessera.events where event_id like $1", ["\(tag)-%"])
            return (Int(result.rows[0][0]!)!, Int(result.rows[0][1]!)!)
        }
    }

    /// Runs `tessera serve`'s stream service in a group that shuts down on SIGTERM; once
    /// `ready` holds, sends SIGTERM to this process. Returns how long the stop took.
    func runUntilSignalled(
        _ rig: Rig, status: IngestionStatus, clock: (@Sendable () -> Int64)? = nil, when ready: @escaping @Sendable () -> Bool
    ) async throws -> Duration {
        let stream = StreamService(config: rig.config, catalog: rig.catalog, status: status, clock: clock ?? { [now] in now }, logger: TestServices.logger)
        let group = ServiceGroup(services: [stream], gracefulShutdownSignals: [.sigterm], logger: TestServices.logger)
        let running = Task { try await group.run() }
        let deadline = ContinuousClock.now + .seconds(120)
        while !ready() && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
        let signalled = ContinuousClock.now
        kill(getpid(), SIGTERM)
        try await running.value
        return ContinuousClock.now - signalled
    }

    /// The window roller runs in the service beside the online path (on a thread of its
    /// own): once the clock passes the hour, the 1 h windows of what was applied slide to
    /// zero with no new event, while the 24 h windows keep it.
    @Test func theServiceSlidesWindowsWithNoNewEvents() async throws {
        let rig = try Rig(now: now)
        try rig.publish(count: 40, now: now)
        let clock = ManualClock(now)
        let status = IngestionStatus()
        let hour: Int64 = 3_600_000
        let cursor = rig.reader.keyspace.rollerCursorKey(view: "product_stats")
        _ = try await runUntilSignalled(rig, status: status, clock: clock.read) {
            // The roller's first tick sets its cursor at the clock; only then may time jump.
            guard status.appliedEvents == 40, (try? rig.reader.run([["GET", cursor]])[0].integer) != nil else { return false }
            if clock.nowMs == now { clock.nowMs = now + hour + 600_000 }
            return (try? rig.onlineTotal()) == 0
        }
        #expect(try rig.onlineTotal() == 0, "the 1 h windows did not slide")
        #expect(try rig.feature("product_stats", "views_24h", "p-1") == 4)
        #expect(try rig.feature("product_stats", "clicks_24h", "p-0") == 2)
    }

    @Test func sigtermMidStreamLosesAndDoubleCountsNothing() async throws {
        let connection = try EventLogWriterTests.migratedConnection()
        let rig = try Rig(now: now)
        try rig.publish(count: eventCount, now: now)

        // First run: stopped by SIGTERM after a fifth of the stream is applied.
        let first = IngestionStatus()
        let firstStop = try await runUntilSignalled(rig, status: first) { [eventCount] in
            first.appliedEvents >= eventCount / 5 && first.loggedEvents > 0
        }
        #expect(firstStop < shutdownBound, "the first run took \(firstStop) to stop")
        #expect(first.appliedEvents < eventCount, "the signal came after the whole stream was applied")
        // The batch in progress was applied and committed: Redis holds exactly what was committed.
        #expect(try rig.onlineTotal() == first.appliedEvents)
        #expect(try rig.logged(connection) == (first.loggedEvents, first.loggedEvents))

        // Second run: resumes from the commits and takes the rest.
        let second = IngestionStatus()
        let secondStop = try await runUntilSignalled(rig, status: second) { [eventCount] in
            first.appliedEvents + second.appliedEvents >= eventCount && first.loggedEvents + second.loggedEvents >= eventCount
        }
        #expect(secondStop < shutdownBound, "the second run took \(secondStop) to stop")
        #expect(first.appliedEvents + second.appliedEvents == eventCount)
        #expect(first.loggedEvents + second.loggedEvents == eventCount)

        // Exact per entity: nothing lost, nothing counted twice.
        for product in 0..<10 {
            let indices = (0..<eventCount).filter { $0 % 10 == product }
            let clicks = indices.filter { $0 % 4 == 0 }.count
            #expect(try rig.feature("product_stats", "clicks_1h", "p-\(product)") == Double(clicks))
            #expect(try rig.feature("product_stats", "views_1h", "p-\(product)") == Double(indices.count - clicks))
        }
        for user in 0..<7 {
            let indices = (0..<eventCount).filter { $0 % 7 == user }
            #expect(try rig.feature("user_stats", "views_1h", "u-\(user)") == Double(indices.filter { $0 % 4 != 0 }.count))
        }
        #expect(try rig.logged(connection) == (eventCount, eventCount))
    }

    /// A service that fails (as the API does when its port is taken) makes the group cancel
    /// the others: the stream service stops too and the group ends with the error, rather
    /// than ingesting on with no API and ignoring a later SIGTERM.
    @Test func aFailingServiceStopsTheStreamServiceToo() async throws {
        struct PortTaken: Error {}
        struct FailsAfterAWhile: Service {
            let started: @Sendable () -> Bool
            func run() async throws {
                while !started() { try await Task.sleep(for: .milliseconds(5)) }
                throw PortTaken()
            }
        }
        let rig = try Rig(now: now)
        try rig.publish(count: 100, now: now)
        let status = IngestionStatus()
        let stream = StreamService(config: rig.config, catalog: rig.catalog, status: status, clock: { [now] in now }, logger: TestServices.logger)
        let group = ServiceGroup(
            services: [FailsAfterAWhile(started: { status.appliedEvents > 0 }), stream], gracefulShutdownSignals: [],
            logger: TestServices.logger)
        // What the group ended with: nil while it runs, .some(nil) for no error.
        let ended = Mutex<(any Error)??>(nil)
        let running = Task {
            var failure: (any Error)?
            do { try await group.run() } catch { failure = error }
            ended.withLock { $0 = .some(failure) }
        }
        // Bounded: if the stream service ignored the cancellation, the group would wait forever.
        let deadline = ContinuousClock.now + shutdownBound + .seconds(60)
        while ended.withLock({ $0 == nil }) && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        guard let outcome = ended.withLock({ $0 }) else {
            // Left running: a cancelled group passes no graceful shutdown on, so nothing here could stop it.
            Issue.record("the group was still running \(shutdownBound + .seconds(60)) after a service failed")
            running.cancel()
            return
        }
        #expect(outcome is PortTaken, "the group ended with \(String(describing: outcome))")
        #expect(status.appliedEvents > 0 && status.assignedPartitions == 0)
    }
}
