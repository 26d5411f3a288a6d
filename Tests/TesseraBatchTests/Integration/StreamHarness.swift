import Foundation
import Testing
import TesseraCore
import TesseraKafka
import TesseraRedis
import TesseraStream
@testable import TesseraBatch

/// How to reach one test's services: plain values, so a thread of its own can build its
/// pipelines (consumers, producers and connections belong to the thread that uses them).
struct StreamSetup: Sendable {
    let bootstrapServers: String
    let catalog: FeatureCatalog
    let databaseURL: String
    let nowMs: Int64
    let topic = "clickstream"
    let offlineGroup = "tessera-offline"
    let futureToleranceMs: Int64 = 300_000

    var clock: @Sendable () -> Int64 { { [nowMs] in nowMs } }

    func consumer(group: String) throws -> KafkaConsumer {
        try KafkaConsumer(
            brokers: bootstrapServers, groupID: group, topics: [topic],
            settings: ["session.timeout.ms": "6000", "heartbeat.interval.ms": "500"], logger: BatchTestServices.logger)
    }

    func store(prefix: String, url: RedisURL? = nil) throws -> OnlineStore {
        OnlineStore(url: try url ?? BatchTestServices.redisURL(), keyspace: RedisKeyspace(prefix: prefix), catalog: catalog,
                    futureToleranceMs: futureToleranceMs, logger: BatchTestServices.logger)
    }

    /// An online path: its own consumer group writing into `store`.
    func onlinePipeline(store: OnlineStore, group: String, status: IngestionStatus) throws -> IngestionPipeline {
        IngestionPipeline(
            consumer: try consumer(group: group), deadLetters: try KafkaProducer(brokers: bootstrapServers, logger: BatchTestServices.logger),
            store: store, catalog: catalog,
            settings: .init(deadLetterTopic: "\(topic).dlq", batchMaxEvents: 300, batchMaxWaitMs: 50,
                            decoder: EventDecoder(futureToleranceMs: futureToleranceMs)),
            clock: clock, status: status, logger: BatchTestServices.logger)
    }

    func eventLogWriter(status: IngestionStatus) throws -> EventLogWriter {
        EventLogWriter(
            consumer: try consumer(group: offlineGroup), database: OfflineDatabase(url: databaseURL),
            settings: .init(topic: topic, consumerGroup: offlineGroup, batchMaxEvents: 500, batchMaxWaitMs: 50,
                            decoder: EventDecoder(futureToleranceMs: futureToleranceMs)),
            clock: clock, status: status, logger: BatchTestServices.logger)
    }

    func backfill(store: OnlineStore) throws -> Backfill {
        Backfill(
            database: try BatchDatabase(url: databaseURL), store: store, catalog: catalog,
            settings: .init(offlineGroup: offlineGroup, topic: topic, futureToleranceMs: futureToleranceMs),
            clock: clock, logger: BatchTestServices.logger)
    }
}

/// A whole daemon's data path for batch tests: a Kafka-protocol broker (librdkafka's
/// mock cluster), online pipelines into real Redis and the event log writer into a fresh
/// PostgreSQL database, at a fixed clock.
final class StreamHarness {
    let broker: DevKafkaBroker
    let producer: KafkaProducer
    let database: FreshDatabase
    let setup: StreamSetup

    init(nowMs: Int64, partitions: Int32 = 3) throws {
        broker = try DevKafkaBroker()
        try broker.createTopic("clickstream", partitions: partitions)
        try broker.createTopic("clickstream.dlq", partitions: 1)
        producer = try KafkaProducer(brokers: broker.bootstrapServers, logger: BatchTestServices.logger)
        database = try BatchTestServices.freshDatabase()
        setup = StreamSetup(bootstrapServers: broker.bootstrapServers, catalog: try BatchTestServices.catalog(), databaseURL: database.url, nowMs: nowMs)
    }

    deinit {
        producer.close()
        broker.shutdown()
    }

    var catalog: FeatureCatalog { setup.catalog }

    func publish(_ events: [String]) throws {
        for (index, value) in events.enumerated() {
            try producer.send(topic: setup.topic, key: Array("k-\(index % 7)".utf8), value: Array(value.utf8))
        }
        try producer.flush(timeoutMs: 10_000)
    }

    /// One online path into `store` and the event log, fed by `ingest`.
    final class Paths {
        let store: OnlineStore
        let online = IngestionStatus()
        let logged = IngestionStatus()
        private let pipeline: IngestionPipeline
        private let writer: EventLogWriter?
        private let harness: StreamHarness
        private var published = 0

        init(_ harness: StreamHarness, store: OnlineStore, logging: Bool) throws {
            self.harness = harness
            self.store = store
            pipeline = try harness.setup.onlinePipeline(store: store, group: "tessera-online", status: online)
            writer = logging ? try harness.setup.eventLogWriter(status: logged) : nil
        }

        /// Publishes the events and runs both paths until each has them all.
        func ingest(_ events: [String]) throws {
            try harness.publish(events)
            published += events.count
            try harness.run(until: { online.appliedEvents + online.ignoredEvents >= published }) { _ = try pipeline.processBatch() }
            if let writer { try harness.run(until: { logged.loggedEvents >= published }) { try writer.processBatch() } }
        }
    }

    func paths(store: OnlineStore, logging: Bool = true) throws -> Paths { try Paths(self, store: store, logging: logging) }

    /// Runs batches of `step` until `done` holds (bounded in time).
    func run(until done: () throws -> Bool, _ step: () throws -> Void) throws {
        let deadline = Date().addingTimeInterval(60)
        while try !done() && Date() < deadline { try step() }
        #expect(try done(), "the stream did not catch up within 60 s")
    }

    /// Every vector of a store, decoded: entity key → vector, per view.
    static func vectors(_ store: OnlineStore, catalog: FeatureCatalog) throws -> [String: FeatureVector] {
        var vectors: [String: FeatureVector] = [:]
        var cursor = "0"
        repeat {
            let reply = try store.run([["SCAN", cursor, "MATCH", "\(store.keyspace.prefix):{*:v", "COUNT", "1000"]])[0]
            guard let parts = reply.array, parts.count == 2, let next = parts[0].string else { throw RedisError("SCAN returned \(reply)") }
            cursor = next
            let keys = (parts[1].array ?? []).compactMap(\.string)
            guard !keys.isEmpty else { continue }
            for (key, value) in zip(keys, try store.run(keys.map { ["GET", $0] })) {
                guard case .bytes(let bytes) = value else { continue }
                vectors[String(key.dropFirst(store.keyspace.prefix.count + 1))] = try FeatureVector(decoding: bytes)
            }
        } while cursor != "0"
        return vectors
    }

    /// Random contract events over the last eight days (and a little ahead), for a few
    /// users and products: every event type, prices, quantities and queries.
    static func events(count: Int, nowMs: Int64, seed: UInt64, tag: String) -> [String] {
        var random = SplitMix(state: seed)
        let types = ["view", "view", "view", "view", "click", "click", "add_to_cart", "purchase"]
        let queries = ["running shoes", "red dress", "laptop"]
        return (0..<count).map { index in
            let type = types[Int(random.next() % UInt64(types.count))]
            let ageMs = Int64(random.next() % (8 * 86_400_000)) - 240_000
            var json = #"{"event_id":"\#(tag)-\#(index)","event_type":"\#(type)","timestamp":\#(nowMs - ageMs),"#
                + #""user_id":"u-\#(random.next() % 9)","product_id":"p-\#(random.next() % 13)""#
            if random.next() % 3 == 0 { json += #","query":"\#(queries[Int(random.next() % 3)])""# }
            if type == "purchase" || random.next() % 4 == 0 {
                json += #","price":\#(Double(random.next() % 10_000) / 100),"quantity":\#(1 + random.next() % 3)"#
            }
            return json + "}"
        }
    }
}

/// Deterministic test data (SplitMix64).
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Two stores' vectors agree: same entities, same values (sums within a relative 1e-9:
/// Redis adds floats in a different order than PostgreSQL's sum).
func expectSameVectors(_ actual: [String: FeatureVector], _ expected: [String: FeatureVector], sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(Set(actual.keys) == Set(expected.keys), "entities differ: \(Set(actual.keys).symmetricDifference(expected.keys).sorted().prefix(5))",
            sourceLocation: sourceLocation)
    var mismatches: [String] = []
    for (key, want) in expected {
        guard let got = actual[key] else { continue }
        if got.newestEventMs != want.newestEventMs { mismatches.append("\(key) newest \(got.newestEventMs) vs \(want.newestEventMs)") }
        for (index, (a, b)) in zip(got.values, want.values).enumerated() where !(a.isNaN && b.isNaN) {
            if abs(a - b) > 1e-9 * max(abs(a), abs(b), 1) { mismatches.append("\(key) feature \(index): \(a) vs \(b)") }
        }
    }
    #expect(mismatches.isEmpty, "\(mismatches.count) mismatches, e.g. \(mismatches.prefix(5))", sourceLocation: sourceLocation)
}
