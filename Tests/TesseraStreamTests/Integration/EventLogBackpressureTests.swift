import Foundation
import Testing
import TesseraCore
import TesseraKafka
import TesseraPostgres
@testable import TesseraStream

/// PostgreSQL unreachable for longer than `max.poll.interval.ms`: the event log pauses its
/// partitions and keeps polling while it retries, so it keeps them; after the outage it
/// resumes and the log holds every event once. The outage is a database of the test's own
/// that stops taking connections (its sessions terminated), so other tests go on.
@Suite struct EventLogBackpressureTests {
    let now: Int64 = 1_763_720_025_000

    struct Observed: Sendable {
        var failures = 0
        var pausedThroughout = true
        var assignedThroughout = true
        var assignment: Set<TopicPartition> = []
        var revocations = 0
        var pausedAfter = true
        var pausedPartitionsAfter: Set<TopicPartition> = []
        var logged = 0
        var rows: [String?] = []
    }

    @Test func anOutagePausesThePartitionsAndKeepsThemUntilTheLogCatchesUp() async throws {
        let observed = try await onOwnThread { [now] in try Self.runOutage(now: now) }
        #expect(observed.failures > 5)
        #expect(observed.pausedThroughout)
        #expect(observed.assignedThroughout && !observed.assignment.isEmpty)
        #expect(observed.revocations == 0)
        #expect(!observed.pausedAfter && observed.pausedPartitionsAfter.isEmpty)
        #expect(observed.logged == 200)
        #expect(observed.rows == ["200", "200"])
    }

    static func runOutage(now: Int64) throws -> Observed {
        let admin = try EventLogWriterTests.migratedConnection()
        let database = "tessera_outage_\(UUID().uuidString.prefix(8).lowercased())"
        try admin.execute("create database \(database)")
        defer {
            _ = try? admin.execute("alter database \(database) allow_connections true")
            _ = try? admin.execute("select pg_terminate_backend(pid) from pg_stat_activity where datname = $1", [database])
            _ = try? admin.execute("drop database if exists \(database) with (force)")
        }
        let baseURL = try EventLogWriterTests.postgresURL()
        let url = String(baseURL[..<baseURL.lastIndex(of: "/")!]) + "/\(database)"
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../../migrations").standardized.path
        let setup = try PostgresConnection(url: url)
        try Migrator(directory: folder).migrate(on: setup)
        setup.close()

        let broker = try DevKafkaBroker()
        defer { broker.shutdown() }
        try broker.createTopic("clickstream", partitions: 2)
        let producer = try KafkaProducer(brokers: broker.bootstrapServers, logger: TestServices.logger)
        defer { producer.close() }
        func publish(_ range: Range<Int>) throws {
            for index in range {
                let json = #"{"event_id":"bp-\#(index)","event_type":"view","timestamp":\#(now - Int64(index)),"user_id":"u-\#(index % 5)","product_id":"p-1"}"#
                try producer.send(topic: "clickstream", key: Array("u-\(index % 5)".utf8), value: Array(json.utf8))
            }
            try producer.flush(timeoutMs: 10_000)
        }
        let status = IngestionStatus()
        let consumer = try KafkaConsumer(
            brokers: broker.bootstrapServers, groupID: "offline-outage", topics: ["clickstream"],
            settings: TestServices.devBrokerConsumerSettings.merging(["max.poll.interval.ms": "7000"]) { _, new in new },
            logger: TestServices.logger)
        defer { consumer.close() }
        let writer = EventLogWriter(
            consumer: consumer, database: OfflineDatabase(url: url),
            settings: .init(topic: "clickstream", consumerGroup: "offline-outage", batchMaxEvents: 50, batchMaxWaitMs: 100, decoder: EventDecoder()),
            clock: { now }, status: status, logger: TestServices.logger)
        var observed = Observed()
        consumer.onRevoke = { _ in observed.revocations += 1 }

        try publish(0..<100)
        let deadline = Date().addingTimeInterval(30)
        while status.loggedEvents < 100 && Date() < deadline { try writer.processBatch() }
        observed.assignment = consumer.assignment

        // The outage: no new sessions, the writer's own terminated.
        try admin.execute("alter database \(database) allow_connections false")
        try admin.execute("select pg_terminate_backend(pid) from pg_stat_activity where datname = $1", [database])
        try publish(100..<200)
        let outageEnd = Date().addingTimeInterval(10)  // longer than max.poll.interval.ms
        while Date() < outageEnd {
            do { try writer.processBatch() } catch {
                observed.failures += 1
                observed.pausedThroughout = observed.pausedThroughout && writer.isPaused && consumer.pausedPartitions == observed.assignment
                Thread.sleep(forTimeInterval: 0.5)  // the daemon's retry backoff, at most 5 s
            }
            observed.assignedThroughout = observed.assignedThroughout && consumer.assignment == observed.assignment
        }

        try admin.execute("alter database \(database) allow_connections true")
        let recovery = Date().addingTimeInterval(30)
        while status.loggedEvents < 200 && Date() < recovery {
            do { try writer.processBatch() } catch { Thread.sleep(forTimeInterval: 0.2) }
        }
        _ = try writer.processBatch()  // resumes the partitions before its poll
        observed.pausedAfter = writer.isPaused
        observed.pausedPartitionsAfter = consumer.pausedPartitions
        observed.logged = status.loggedEvents
        consumer.onRevoke = nil
        let check = try PostgresConnection(url: url)
        defer { check.close() }
        observed.rows = try check.execute("select count(*), count(distinct event_id) from tessera.events").rows[0]
        return observed
    }
}
