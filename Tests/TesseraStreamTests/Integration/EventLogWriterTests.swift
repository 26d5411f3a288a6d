import Foundation
import Synchronization
import Testing
import TesseraCore
import TesseraKafka
import TesseraPostgres
@testable import TesseraStream

/// The offline path end to end: the dev broker, real PostgreSQL with the project's migrations.
@Suite struct EventLogWriterTests {
    let now: Int64 = 1_763_720_025_000

    static func postgresURL() throws -> String { try TestServices.environment("TESSERA_POSTGRES_URL") }

    /// Applies the repository's migrations (idempotent) and returns a connection.
    static func migratedConnection() throws -> PostgresConnection {
        let connection = try PostgresConnection(url: postgresURL())
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../../migrations").standardized.path
        try Migrator(directory: folder).migrate(on: connection)
        return connection
    }

    final class Harness {
        let broker: DevKafkaBroker
        let producer: KafkaProducer
        let group = "offline-\(UUID().uuidString.prefix(8))"
        let tag = "t\(UUID().uuidString.prefix(8).lowercased())"
        let status = IngestionStatus()

        init() throws {
            broker = try DevKafkaBroker()
            try broker.createTopic("clickstream", partitions: 3)
            producer = try KafkaProducer(brokers: broker.bootstrapServers, logger: TestServices.logger)
        }

        deinit {
            producer.close()
            broker.shutdown()
        }

        func writer(now: Int64, batch: Int = 100) throws -> (EventLogWriter, KafkaConsumer) {
            let consumer = try KafkaConsumer(
                brokers: broker.bootstrapServers, groupID: group, topics: ["clickstream"],
                settings: TestServices.devBrokerConsumerSettings, logger: TestServices.logger)
            let writer = EventLogWriter(
                consumer: consumer, database: OfflineDatabase(url: try EventLogWriterTests.postgresURL()),
                settings: .init(topic: "clickstream", consumerGroup: group, batchMaxEvents: batch, batchMaxWaitMs: 100, decoder: EventDecoder()),
                clock: { now }, status: status, logger: TestServices.logger)
            return (writer, consumer)
        }

        func publish(_ values: [String]) throws {
            for (index, value) in values.enumerated() {
                try producer.send(topic: "clickstream", key: Array("u-\(index % 5)".utf8), value: Array(value.utf8))
            }
            try producer.flush(timeoutMs: 10_000)
        }

        /// Events of this test in the log, by event id.
        func loggedCounts(_ connection: PostgresConnection) throws -> [String: Int] {
            let result = try connection.execute(
                "select event_id, count(*) from tessera.events where event_id like $1 group by event_id", ["\(tag)-%"])
            return Dictionary(uniqueKeysWithValues: result.rows.map { ($0[0]!, Int($0[1]!)!) })
        }
    }

    func event(_ harness: Harness, _ index: Int, at time: Int64, extra: String = "") -> String {
        #"{"event_id":"\#(harness.tag)-\#(index)","event_type":"view","timestamp":\#(time),"user_id":"u-\#(index % 5)","product_id":"p-\#(index % 3)"\#(extra)}"#
    }

    @Test func everyValidEventIsLoggedOnceWithItsPayload() throws {
        let connection = try Self.migratedConnection()
        let harness = try Harness()
        var values = (0..<120).map { event(harness, $0, at: now - Int64($0) * 3_600_000) }  // five days, several partitions
        values.append(event(harness, 999, at: now - 30 * 86_400_000, extra: #","client":{"app":"ios"}"#))  // too old online, kept offline
        values.append("not json")
        try harness.publish(values)

        let (writer, consumer) = try harness.writer(now: now)
        defer { consumer.close() }
        let deadline = Date().addingTimeInterval(30)
        while harness.status.loggedEvents < 121 && Date() < deadline { try writer.processBatch() }

        let counts = try harness.loggedCounts(connection)
        #expect(counts.count == 121)
        #expect(counts.values.allSatisfy { $0 == 1 })
        let old = try connection.execute(
            "select payload->'client'->>'app', event_time = to_timestamp($2::double precision / 1000), tableoid::regclass::text from tessera.events where event_id = $1",
            ["\(harness.tag)-999", String(now - 30 * 86_400_000)])
        #expect(old.rows.first?[0] == "ios")
        #expect(old.rows.first?[1] == "t")
        // Its own day's partition, not the default one (the role's search path may drop the schema).
        #expect(old.rows.first?[2]?.hasSuffix("events_20251022") == true, "\(old.rows)")
    }

    @Test func aCrashBetweenThePostgresAndKafkaCommitsWritesNothingTwice() throws {
        let connection = try Self.migratedConnection()
        let harness = try Harness()
        try harness.publish((0..<200).map { event(harness, $0, at: now - Int64($0) * 1_000) })

        // The "crashed" writer: PostgreSQL commits, the process dies before Kafka's commit.
        let crashedConsumer = try KafkaConsumer(
            brokers: harness.broker.bootstrapServers, groupID: harness.group, topics: ["clickstream"],
            settings: TestServices.devBrokerConsumerSettings, logger: TestServices.logger)
        let database = OfflineDatabase(url: try Self.postgresURL())
        var written = 0
        let deadline = Date().addingTimeInterval(20)
        while written < 90 && Date() < deadline {
            let messages = try crashedConsumer.poll(maxMessages: 41, timeoutMs: 200)
            var next: [Int32: Int64] = [:]
            let rows = messages.compactMap { message -> LoggedEvent? in
                next[message.partition] = message.offset + 1
                guard case .success(let event) = EventDecoder().decode(message.value, nowMs: now) else { return nil }
                return LoggedEvent(event: event, payload: message.value, partition: message.partition, offset: message.offset)
            }
            if !next.isEmpty { try database.write(rows, nextOffsets: next, group: harness.group, topic: "clickstream") }
            written += rows.count
        }
        crashedConsumer.close()
        #expect(written >= 90)

        // The restarted writer replays from Kafka's (empty) commit and skips what PostgreSQL holds.
        let (writer, consumer) = try harness.writer(now: now, batch: 57)
        defer { consumer.close() }
        let restartDeadline = Date().addingTimeInterval(30)
        while try harness.loggedCounts(connection).count < 200 && Date() < restartDeadline { try writer.processBatch() }
        let counts = try harness.loggedCounts(connection)
        #expect(counts.count == 200)
        #expect(counts.values.allSatisfy { $0 == 1 }, "duplicates: \(counts.filter { $0.value > 1 }.count)")
    }

    /// A commit the group refuses while it rebalances is not a failed batch: the rows are in
    /// PostgreSQL with their offsets, so the writer goes on, and a member that replays from
    /// the last commit writes nothing twice.
    @Test func aCommitRefusedWhileTheGroupRebalancesDoesNotFailTheBatch() throws {
        let connection = try Self.migratedConnection()
        let harness = try Harness()
        try harness.publish((0..<60).map { event(harness, $0, at: now - Int64($0) * 1_000) })
        // OffsetCommit (API key 8): the next three are refused with REBALANCE_IN_PROGRESS.
        harness.broker.pushRequestErrors(apiKey: 8, errors: [27, 27, 27])

        do {
            let (writer, consumer) = try harness.writer(now: now, batch: 20)
            defer { consumer.close() }
            let deadline = Date().addingTimeInterval(30)
            while harness.status.loggedEvents < 60 && Date() < deadline { try writer.processBatch() }
        }
        #expect(harness.status.loggedEvents == 60)

        // The next member replays what was not committed; PostgreSQL's offsets skip it.
        let (writer, consumer) = try harness.writer(now: now, batch: 20)
        defer { consumer.close() }
        let replayUntil = Date().addingTimeInterval(5)  // the join, then the replay
        while Date() < replayUntil { try writer.processBatch() }
        let counts = try harness.loggedCounts(connection)
        #expect(counts.count == 60)
        #expect(counts.values.allSatisfy { $0 == 1 })
    }

    /// `tessera serve` runs two consumers in the offline group (`ingest.offline_consumers`),
    /// each writing on its own connection: they share the partitions, and the log still takes
    /// every event once.
    @Test func twoConsumersOfTheGroupShareThePartitionsAndLogEachEventOnce() async throws {
        let connection = try Self.migratedConnection()
        let harness = try Harness()
        try harness.publish((0..<300).map { event(harness, $0, at: now - Int64($0) * 1_000) })

        let written = WrittenByMember()
        let (servers, group, status, url, clockMs) = (harness.broker.bootstrapServers, harness.group, harness.status, try Self.postgresURL(), now)
        // A thread each, as the daemon gives them: both must be in the group at once.
        try await withThrowingTaskGroup(of: Void.self) { members in
            for member in 0..<2 {
                members.addTask {
                    try await onThread("test-log-\(member)") {
                        let consumer = try KafkaConsumer(
                            brokers: servers, groupID: group, topics: ["clickstream"],
                            settings: KafkaSettings.forMember(member + 1, of: 2, TestServices.devBrokerConsumerSettings),
                            logger: TestServices.logger)
                        defer { consumer.close() }
                        let writer = EventLogWriter(
                            consumer: consumer, database: OfflineDatabase(url: url),
                            settings: .init(
                                topic: "clickstream", consumerGroup: group, batchMaxEvents: 40, batchMaxWaitMs: 100, decoder: EventDecoder()),
                            clock: { clockMs }, status: status, logger: TestServices.logger)
                        let deadline = Date().addingTimeInterval(30)
                        // Each polls on until the whole topic is logged, as the daemon's members do.
                        // (A commit refused mid-rebalance does not throw; see the test above.)
                        while status.loggedEvents < 300 && Date() < deadline {
                            let count = try writer.processBatch()
                            written.counts.withLock { $0[member] += count }
                        }
                    }
                }
            }
            try await members.waitForAll()
        }
        let counts = try harness.loggedCounts(connection)
        #expect(counts.count == 300)
        #expect(counts.values.allSatisfy { $0 == 1 })
        // Both joined before the first assignment (the broker waits for members to gather), so
        // each held some of the three partitions.
        let perMember = written.counts.withLock { $0 }
        #expect(perMember.allSatisfy { $0 > 0 }, "\(perMember)")
    }

    /// Rows each member wrote, shared by the members' threads.
    final class WrittenByMember: Sendable {
        let counts = Mutex<[Int]>([0, 0])
    }
}
