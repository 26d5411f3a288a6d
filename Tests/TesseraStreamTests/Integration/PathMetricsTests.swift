import Foundation
import Metrics
import Prometheus
import Testing
import TesseraCore
import TesseraKafka
import TesseraPostgres
@testable import TesseraStream

/// The ingestion paths' metrics move as events flow: each test gives its path a registry
/// of its own, so suites running beside it cannot move the figures.
@Suite struct PathMetricsTests {
    let start: Int64 = 1_763_719_950_000 + 75_000

    /// One sample of a registry's text exposition, e.g. `tessera_events_total` with
    /// `["type": "view", "outcome": "applied"]`; nil when the series is absent.
    static func sample(_ registry: PrometheusCollectorRegistry, _ name: String, _ labels: [String: String] = [:]) -> Double? {
        let text = String(decoding: registry.emitToBuffer(), as: UTF8.self)
        for line in text.split(separator: "\n") where line.hasPrefix(name + "{") || line.hasPrefix(name + " ") {
            let series = line.prefix { $0 != " " }.dropFirst(name.count)
            let pairs = series.isEmpty ? [] : series.dropFirst().dropLast().split(separator: ",").map(String.init)
            guard Set(pairs) == Set(labels.map { "\($0.key)=\"\($0.value)\"" }) else { continue }
            return line.split(separator: " ").last.flatMap { Double($0) }
        }
        return nil
    }

    @Test func onlineCountsLagAndFreshnessFollowTheEvents() throws {
        let harness = try IngestionPipelineTests.Harness(start: start, partitions: 1)
        let registry = PrometheusCollectorRegistry()
        var events: [String] = []
        for index in 0..<12 { events.append(IngestionPipelineTests.json("view", at: start - 60_000 + Int64(index), product: "p-\(index)")) }
        for index in 0..<3 { events.append(IngestionPipelineTests.json("click", at: start - 50_000 + Int64(index))) }
        events.append("{not json")
        events.append(#"{"event_id":"e-x","event_type":"view","timestamp":1}"#)  // before 2000
        events.append(IngestionPipelineTests.json("teleport", at: start - 1_000))
        try harness.publish(events)
        let consumer = try harness.consumer()
        defer { consumer.close() }
        let pipeline = harness.pipeline(consumer: consumer, batchMaxEvents: 5, metrics: PrometheusMetricsFactory(registry: registry))

        // The first batch: the partition's lag is what is left of it.
        var processed = 0
        let deadline = Date().addingTimeInterval(30)
        while processed == 0 && Date() < deadline { processed = try pipeline.processBatch().messages }
        #expect(processed > 0 && processed <= 5)
        #expect(Self.sample(registry, "tessera_consumer_lag_messages", ["partition": "0"]) == Double(events.count - processed))

        try harness.drain(pipeline, expected: events.count - processed)
        #expect(Self.sample(registry, "tessera_events_total", ["type": "view", "outcome": "applied"]) == 12)
        #expect(Self.sample(registry, "tessera_events_total", ["type": "click", "outcome": "applied"]) == 3)
        #expect(Self.sample(registry, "tessera_events_total", ["type": "purchase", "outcome": "applied"]) == 0)
        #expect(Self.sample(registry, "tessera_events_dead_lettered_total", ["reason": "not_json"]) == 1)
        #expect(Self.sample(registry, "tessera_events_dead_lettered_total", ["reason": "bad_timestamp"]) == 1)
        #expect(Self.sample(registry, "tessera_events_dead_lettered_total", ["reason": "unknown_event_type"]) == 1)
        #expect(Self.sample(registry, "tessera_consumer_lag_messages", ["partition": "0"]) == 0)
        // Now (the test's clock) minus the newest event applied: the last click, 50 s - 2 ms old.
        #expect(Self.sample(registry, "tessera_freshness_seconds", ["partition": "0"]) == 49.998)
        // Every batch of at most 5 messages is one sample, and each apply was timed.
        let batches = try #require(Self.sample(registry, "tessera_ingest_batch_messages_count"))
        #expect(batches >= Double((events.count + 4) / 5))
        #expect(Self.sample(registry, "tessera_ingest_batch_messages_sum") == Double(events.count))
        #expect(try #require(Self.sample(registry, "tessera_ingest_apply_duration_seconds_count")) >= 1)
        #expect(Self.sample(registry, "tessera_ingest_paused") == 0)
    }

    @Test func theEventLogCountsEveryMessageOnceAndItsLagFallsToZero() throws {
        _ = try EventLogWriterTests.migratedConnection()
        let broker = try DevKafkaBroker()
        defer { broker.shutdown() }
        try broker.createTopic("clickstream", partitions: 1)
        let producer = try KafkaProducer(brokers: broker.bootstrapServers, logger: TestServices.logger)
        defer { producer.close() }
        let tag = TestServices.uniquePrefix()
        var values = (0..<40).map {
            #"{"event_id":"\#(tag)-\#($0)","event_type":"view","timestamp":\#(start - 1_000),"user_id":"u-1","product_id":"p-1"}"#
        }
        values += ["{not json", #"{"event_id":"\#(tag)-x","event_type":"teleport","timestamp":\#(start),"user_id":"u","product_id":"p"}"#]
        for value in values { try producer.send(topic: "clickstream", key: Array("u-1".utf8), value: Array(value.utf8)) }
        try producer.flush(timeoutMs: 10_000)

        let group = "offline-\(tag)"
        /// A writer for `group`'s stored offsets, consuming as Kafka group `kafkaGroup`, counting into `registry`.
        func writer(kafkaGroup: String, registry: PrometheusCollectorRegistry) throws -> (EventLogWriter, KafkaConsumer, IngestionStatus) {
            let consumer = try KafkaConsumer(
                brokers: broker.bootstrapServers, groupID: kafkaGroup, topics: ["clickstream"],
                settings: TestServices.devBrokerConsumerSettings, logger: TestServices.logger)
            var settings = EventLogWriter.Settings(topic: "clickstream", consumerGroup: group, batchMaxEvents: 15, batchMaxWaitMs: 100, decoder: EventDecoder())
            settings.metrics = PrometheusMetricsFactory(registry: registry)
            let status = IngestionStatus()
            let writer = EventLogWriter(
                consumer: consumer, database: OfflineDatabase(url: try EventLogWriterTests.postgresURL()), settings: settings,
                clock: { [start] in start }, status: status, logger: TestServices.logger)
            return (writer, consumer, status)
        }
        func messages(_ registry: PrometheusCollectorRegistry, _ outcome: String) -> Double {
            Self.sample(registry, "tessera_event_log_messages_total", ["outcome": outcome]) ?? 0
        }

        let registry = PrometheusCollectorRegistry()
        let (first, consumer, status) = try writer(kafkaGroup: group, registry: registry)
        defer { consumer.close() }
        let deadline = Date().addingTimeInterval(30)
        while status.loggedEvents == 0 && Date() < deadline { try first.processBatch() }
        let seen = messages(registry, "logged") + messages(registry, "invalid")
        #expect(seen > 0 && seen <= 15)
        #expect(Self.sample(registry, "tessera_event_log_lag_messages", ["partition": "0"]) == Double(values.count) - seen)
        while messages(registry, "logged") + messages(registry, "invalid") < Double(values.count) && Date() < deadline {
            try first.processBatch()
        }
        #expect(messages(registry, "logged") == 40)
        #expect(messages(registry, "invalid") == 2)
        #expect(messages(registry, "already_logged") == 0)
        #expect(Self.sample(registry, "tessera_event_log_lag_messages", ["partition": "0"]) == 0)
        #expect(Self.sample(registry, "tessera_event_log_paused") == 0)

        // A second consumer reading the topic again for the same log writes nothing and says so.
        let replayRegistry = PrometheusCollectorRegistry()
        let (replay, replayConsumer, _) = try writer(kafkaGroup: "replay-\(tag)", registry: replayRegistry)
        defer { replayConsumer.close() }
        let replayDeadline = Date().addingTimeInterval(30)
        while messages(replayRegistry, "already_logged") < Double(values.count) && Date() < replayDeadline { try replay.processBatch() }
        #expect(messages(replayRegistry, "already_logged") == Double(values.count))
        #expect(messages(replayRegistry, "logged") == 0)
        let rows = try EventLogWriterTests.migratedConnection().execute(
            "select count(*) from tessera.events where event_id like $1", ["\(tag)-%"]).rows
        #expect(rows == [["40"]])
    }
}
