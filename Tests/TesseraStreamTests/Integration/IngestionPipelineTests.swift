import Foundation
import Metrics
import Testing
import TesseraCore
import TesseraKafka
import TesseraRedis
@testable import TesseraStream

/// The online path end to end: a Kafka-protocol broker (librdkafka's mock cluster),
/// real Redis, contract JSON in, packed vectors out.
@Suite struct IngestionPipelineTests {
    let hour: Int64 = 3_600_000
    /// Mid-tile for every tile size in the default config, so edges are where the test puts them.
    let start: Int64 = 1_763_719_950_000 + 75_000

    /// One broker, topic and Redis prefix of its own per test.
    final class Harness {
        let broker: DevKafkaBroker
        let producer: KafkaProducer
        let catalog: FeatureCatalog
        let store: OnlineStore
        let clock: ManualClock
        let status = IngestionStatus()
        let topic = "clickstream"
        let deadLetterTopic = "clickstream.dlq"

        init(start: Int64, partitions: Int32 = 3) throws {
            broker = try DevKafkaBroker()
            try broker.createTopic(topic, partitions: partitions)
            try broker.createTopic(deadLetterTopic, partitions: 1)
            producer = try KafkaProducer(brokers: broker.bootstrapServers, logger: TestServices.logger)
            catalog = try TestServices.catalog()
            clock = ManualClock(start)
            store = OnlineStore(
                url: try TestServices.redisURL(), keyspace: RedisKeyspace(prefix: TestServices.uniquePrefix()),
                catalog: catalog, futureToleranceMs: 300_000, logger: TestServices.logger)
        }

        deinit {
            producer.close()
            broker.shutdown()
        }

        func consumer(group: String = "tessera-online") throws -> KafkaConsumer {
            try KafkaConsumer(
                brokers: broker.bootstrapServers, groupID: group, topics: [topic], settings: TestServices.devBrokerConsumerSettings,
                logger: TestServices.logger)
        }

        func pipeline(consumer: KafkaConsumer, batchMaxEvents: Int = 500, validationPart: Int? = nil, metrics: (any MetricsFactory)? = nil) -> IngestionPipeline {
            var settings = IngestionPipeline.Settings(
                deadLetterTopic: deadLetterTopic, batchMaxEvents: batchMaxEvents, batchMaxWaitMs: 100,
                decoder: EventDecoder(futureToleranceMs: 300_000))
            if let metrics { settings.metrics = metrics }
            if let validationPart { settings.validationPart = validationPart }
            return IngestionPipeline(
                consumer: consumer, deadLetters: producer, store: store, catalog: catalog, settings: settings,
                clock: clock.read, status: status, logger: TestServices.logger)
        }

        func publish(_ values: [String], key: String = "u-1") throws {
            for value in values { try producer.send(topic: topic, key: Array(key.utf8), value: Array(value.utf8)) }
            try producer.flush(timeoutMs: 10_000)
        }

        /// Runs batches until `expected` messages are processed (bounded in time).
        func drain(_ pipeline: IngestionPipeline, expected: Int) throws {
            let deadline = Date().addingTimeInterval(30)
            var seen = 0
            while seen < expected && Date() < deadline { seen += try pipeline.processBatch().messages }
            #expect(seen == expected, "processed \(seen) of \(expected) messages")
        }

        func feature(_ view: String, _ name: String, _ key: String...) throws -> Double? {
            let streamView = catalog.streamView(named: view)!
            let reply = try store.run([["GET", store.keyspace.vectorKey(view: view, entity: EntityKey(values: key))]])[0]
            guard case .bytes(let bytes) = reply else { return nil }
            return try FeatureVector(decoding: bytes).values[streamView.featureIndex(named: name)!]
        }
    }

    static func json(_ type: String, at ms: Int64, user: String = "u-1", product: String = "p-1", extra: String = "") -> String {
        #"{"event_id":"e-\#(ms)-\#(type)-\#(user)","event_type":"\#(type)","timestamp":\#(ms),"user_id":"\#(user)","product_id":"\#(product)"\#(extra)}"#
    }

    @Test func windowsAreExactAroundTheirEdges() throws {
        let harness = try Harness(start: start)
        let now = start
        try harness.publish([
            Self.json("view", at: now - 1_000),
            Self.json("view", at: now - hour + 60_000),  // inside 1h
            Self.json("view", at: now - hour - 200_000),  // more than a tile past 1h: 24h only
            Self.json("view", at: now - 23 * hour),  // 24h
            Self.json("view", at: now - 30 * hour),  // 7d only
            Self.json("click", at: now - 500),
            Self.json("purchase", at: now - 400, extra: #","price":19.99,"quantity":2"#),
            Self.json("view", at: now - 300, user: "u-2", extra: #","query":"  Running   SHOES ""#),
        ])
        let consumer = try harness.consumer()
        defer { consumer.close() }
        try harness.drain(harness.pipeline(consumer: consumer), expected: 8)

        #expect(try harness.feature("product_stats", "views_1h", "p-1") == 3)
        #expect(try harness.feature("product_stats", "views_24h", "p-1") == 5)
        #expect(try harness.feature("product_stats", "views_7d", "p-1") == 6)
        #expect(try harness.feature("product_stats", "clicks_1h", "p-1") == 1)
        #expect(try harness.feature("product_stats", "purchases_24h", "p-1") == 1)
        #expect(try harness.feature("product_stats", "revenue_7d", "p-1") == 39.98)
        #expect(try harness.feature("product_stats", "unique_users_24h", "p-1") == 2)
        #expect(try harness.feature("product_stats", "ctr_24h", "p-1") == (1.0 + 1) / (5 + 20))
        #expect(try harness.feature("product_stats", "last_event_at", "p-1") == Double(now - 300))
        #expect(try harness.feature("user_stats", "views_24h", "u-1") == 4)
        #expect(try harness.feature("user_stats", "spend_7d", "u-1") == 39.98)
        #expect(try harness.feature("query_product_stats", "views_7d", "running shoes", "p-1") == 1)
        #expect(harness.status.appliedEvents == 8)
    }

    @Test func lateEventsLandInTheirOwnTileAndTooOldOnesOnlyReachLifetimeAggregates() throws {
        let harness = try Harness(start: start)
        let consumer = try harness.consumer()
        defer { consumer.close() }
        let pipeline = harness.pipeline(consumer: consumer)
        try harness.publish([Self.json("view", at: start - 1_000)])
        try harness.drain(pipeline, expected: 1)

        harness.clock.nowMs = start + 10 * 60_000
        try harness.publish([
            Self.json("view", at: start - 3 * hour),  // late: its own tile in 24h and 7d, not 1h
            Self.json("view", at: start - 8 * 24 * hour),  // older than every window: lifetime aggregates only
        ])
        try harness.drain(pipeline, expected: 2)
        #expect(try harness.feature("product_stats", "views_1h", "p-1") == 1)
        #expect(try harness.feature("product_stats", "views_24h", "p-1") == 2)
        #expect(try harness.feature("product_stats", "views_7d", "p-1") == 2)
        #expect(try harness.feature("product_stats", "last_event_at", "p-1") == Double(start - 1_000))
        // last_event_at (a lifetime max) took the old event, so no view ignored it.
        #expect(harness.status.ignoredEvents == 0)
    }

    @Test func theRollerSlidesWindowsAsTimePasses() throws {
        let harness = try Harness(start: start)
        let consumer = try harness.consumer()
        defer { consumer.close() }
        let roller = WindowRoller(store: harness.store, catalog: harness.catalog, logger: TestServices.logger)
        try roller.tick(nowMs: start)
        try harness.publish([Self.json("view", at: start - 1_000), Self.json("click", at: start - 2 * hour)])
        try harness.drain(harness.pipeline(consumer: consumer), expected: 2)
        #expect(try harness.feature("product_stats", "views_1h", "p-1") == 1)

        harness.clock.nowMs = start + hour + 150_000
        try roller.tick(nowMs: harness.clock.nowMs)
        #expect(try harness.feature("product_stats", "views_1h", "p-1") == 0)
        #expect(try harness.feature("product_stats", "views_24h", "p-1") == 1)

        harness.clock.nowMs = start + 23 * hour
        try roller.tick(nowMs: harness.clock.nowMs)
        #expect(try harness.feature("product_stats", "clicks_24h", "p-1") == 0)
        #expect(try harness.feature("product_stats", "views_24h", "p-1") == 1)
        #expect(try harness.feature("product_stats", "clicks_7d", "p-1") == 1)
    }

    @Test func aCrashBetweenApplyAndCommitCountsNothingTwice() throws {
        let harness = try Harness(start: start)
        var events: [String] = []
        for index in 0..<300 {
            events.append(Self.json(index % 3 == 0 ? "click" : "view", at: start - Int64(index) * 1_000, user: "u-\(index % 7)", product: "p-\(index % 4)"))
        }
        for (index, event) in events.enumerated() { try harness.publish([event], key: "u-\(index % 7)") }

        // The "crashed" daemon: polls and applies to Redis, then dies before committing.
        let crashed = try harness.consumer()
        var applied = 0
        let deadline = Date().addingTimeInterval(20)
        while applied < 170 && Date() < deadline {
            let messages = try crashed.poll(maxMessages: 37, timeoutMs: 200)
            let sourced = messages.compactMap { message -> SourcedEvent? in
                guard case .success(let event) = EventDecoder().decode(message.value, nowMs: start) else { return nil }
                return SourcedEvent(event: event, partition: message.partition, offset: message.offset)
            }
            _ = try harness.store.apply(harness.catalog.streamViews.map {
                OnlineStore.ViewDeltas(view: $0.name, deltas: TileFolder(view: $0).fold(sourced, nowMs: start).deltas)
            }, nowMs: start)
            applied += messages.count
        }
        crashed.close()  // leaves the group with nothing committed

        // The restarted daemon replays everything, in batches of another size.
        let consumer = try harness.consumer()
        defer { consumer.close() }
        try harness.drain(harness.pipeline(consumer: consumer, batchMaxEvents: 53), expected: 300)

        for product in 0..<4 {
            let productEvents = (0..<300).filter { $0 % 4 == product }
            let clicks = productEvents.filter { $0 % 3 == 0 }.count
            let views = productEvents.count - clicks
            #expect(try harness.feature("product_stats", "views_24h", "p-\(product)") == Double(views))
            #expect(try harness.feature("product_stats", "clicks_24h", "p-\(product)") == Double(clicks))
        }
        let userEvents = (0..<300).filter { $0 % 7 == 0 }
        #expect(try harness.feature("user_stats", "views_1h", "u-0") == Double(userEvents.filter { $0 % 3 != 0 }.count))
    }

    /// A commit the group refuses while it rebalances is not a failed batch: Redis holds it
    /// behind its fences, so the pipeline counts it and goes on, and a replay changes nothing.
    @Test func aCommitRefusedWhileTheGroupRebalancesDoesNotFailTheBatch() throws {
        let harness = try Harness(start: start)
        let events = (0..<90).map { Self.json("view", at: start - Int64($0) * 1_000, product: "p-\($0 % 3)") }
        try harness.publish(events)
        // OffsetCommit (API key 8): the next three are refused with REBALANCE_IN_PROGRESS.
        harness.broker.pushRequestErrors(apiKey: 8, errors: [27, 27, 27])

        do {
            let consumer = try harness.consumer()
            defer { consumer.close() }
            try harness.drain(harness.pipeline(consumer: consumer, batchMaxEvents: 30), expected: 90)
        }
        #expect(harness.status.appliedEvents == 90)
        // The next member replays what was not committed; the fences skip it.
        let consumer = try harness.consumer()
        defer { consumer.close() }
        let pipeline = harness.pipeline(consumer: consumer)
        let replayUntil = Date().addingTimeInterval(5)  // the join, then the replay
        while Date() < replayUntil { _ = try pipeline.processBatch() }
        for product in 0..<3 {
            #expect(try harness.feature("product_stats", "views_24h", "p-\(product)") == 30)
        }
    }

    /// While Redis applies a batch the next one is polled and folded; it is applied next,
    /// once, and with prefetching off (a stop) the pipeline finishes it and takes no more.
    @Test func theNextBatchIsPreparedWhileRedisAppliesOne() throws {
        let harness = try Harness(start: start)
        let events = (0..<400).map { Self.json("view", at: start - Int64($0) * 1_000, user: "u-\($0 % 5)", product: "p-\($0 % 3)") }
        for (index, event) in events.enumerated() { try harness.publish([event], key: "u-\(index % 5)") }
        let consumer = try harness.consumer()
        defer { consumer.close() }
        let pipeline = harness.pipeline(consumer: consumer, batchMaxEvents: 40)
        var seen = 0
        var sawPrefetch = false
        let deadline = Date().addingTimeInterval(30)
        while seen < 200 && Date() < deadline {
            seen += try pipeline.processBatch().messages
            sawPrefetch = sawPrefetch || pipeline.hasPendingBatch
        }
        #expect(sawPrefetch, "no batch was prepared while Redis applied one")
        pipeline.prefetchesNextBatch = false
        seen += try pipeline.processBatch().messages
        #expect(!pipeline.hasPendingBatch)
        pipeline.prefetchesNextBatch = true
        try harness.drain(pipeline, expected: 400 - seen)
        for product in 0..<3 {
            #expect(try harness.feature("product_stats", "views_24h", "p-\(product)") == Double((0..<400).filter { $0 % 3 == product }.count))
        }
        #expect(harness.status.appliedEvents == 400)
    }

    /// A prepared batch takes, after its first poll, what librdkafka fetched while that was
    /// validated: never past `batch_max_events`, with its rejects dead-lettered and counted,
    /// and every event counted once.
    @Test func aPreparedBatchGrowsAcrossPollsUpToTheLimit() throws {
        let harness = try Harness(start: start)
        let good = (0..<290).map { Self.json("view", at: start - Int64($0) * 1_000, user: "u-\($0 % 7)", product: "p-\($0 % 4)") }
        let messages = good.enumerated().flatMap { index, event in index % 29 == 0 ? [event, "not json"] : [event] }
        for (index, message) in messages.enumerated() { try harness.publish([message], key: "u-\(index % 7)") }
        let consumer = try harness.consumer()
        defer { consumer.close() }
        let pipeline = harness.pipeline(consumer: consumer, batchMaxEvents: 70)
        var reports: [IngestionPipeline.BatchReport] = []
        let deadline = Date().addingTimeInterval(30)
        while reports.map(\.messages).reduce(0, +) < messages.count && Date() < deadline {
            let report = try pipeline.processBatch()
            if report.messages > 0 { reports.append(report) }
        }
        #expect(reports.map(\.messages).reduce(0, +) == messages.count)
        #expect(reports.allSatisfy { $0.messages <= 70 }, "batch sizes \(reports.map(\.messages))")
        #expect(reports.map(\.deadLettered).reduce(0, +) == 10)
        #expect(reports.map(\.applied).reduce(0, +) == 290)
        for product in 0..<4 {
            #expect(try harness.feature("product_stats", "views_24h", "p-\(product)") == Double((0..<290).filter { $0 % 4 == product }.count))
        }
    }

    /// A batch is polled and validated in parts (`validationPart`) so its raw payloads are
    /// not all held at once: batches still reach `batch_max_events`, whether polled directly
    /// or prepared while Redis applied one, with every part's rejects dead-lettered.
    @Test func batchesAreGatheredPartByPartUpToTheLimit() throws {
        let harness = try Harness(start: start)
        // Each round: 300 events, one reject after every 25th, on one partition.
        func messages(round: Int) -> [String] {
            (0..<300).flatMap { index -> [String] in
                let event = Self.json("view", at: start - Int64(round * 300 + index) * 1_000, user: "u-\(index % 5)", product: "p-\(index % 3)")
                return index % 25 == 0 ? [event, "not json"] : [event]
            }
        }
        let consumer = try harness.consumer()
        defer { consumer.close() }
        let pipeline = harness.pipeline(consumer: consumer, batchMaxEvents: 100, validationPart: 15)
        func drainRound(_ round: Int) throws -> [IngestionPipeline.BatchReport] {
            let published = messages(round: round)
            try harness.publish(published)
            var reports: [IngestionPipeline.BatchReport] = []
            let deadline = Date().addingTimeInterval(30)
            while reports.map(\.messages).reduce(0, +) < published.count && Date() < deadline {
                let report = try pipeline.processBatch()
                if report.messages > 0 { reports.append(report) }
            }
            #expect(reports.map(\.messages).reduce(0, +) == published.count)
            #expect(reports.allSatisfy { $0.messages <= 100 }, "batch sizes \(reports.map(\.messages))")
            #expect(reports.map(\.deadLettered).reduce(0, +) == 12)
            #expect(reports.map(\.applied).reduce(0, +) == 300)
            return reports
        }
        // How much one fetch brings is the broker's business (a first fetch may bring one
        // message), so each round asserts only that some batch filled up past one part.
        pipeline.prefetchesNextBatch = false
        let polled = try drainRound(0).map(\.messages)
        #expect(polled.contains(100), "directly polled batch sizes \(polled)")
        pipeline.prefetchesNextBatch = true
        let prepared = try drainRound(1).map(\.messages)
        // Every batch after a round's first was prepared while the one before it was applied.
        #expect(prepared.dropFirst().contains(100), "batch sizes with prefetching \(prepared)")
        #expect(!pipeline.hasPendingBatch)
        for product in 0..<3 {
            #expect(try harness.feature("product_stats", "views_24h", "p-\(product)") == Double(2 * (0..<300).filter { $0 % 3 == product }.count))
        }
    }

    /// Dead letters are sent as they are found and confirmed by one flush before the batch
    /// commits. When their delivery fails (the broker refuses two produce requests for good),
    /// the batch is not committed, and its letters, with those of the batch prepared
    /// meanwhile, go again: every reject reaches the topic, and every event counts once.
    @Test func deadLettersWhoseDeliveryFailedAreSentAgainBeforeTheBatchCommits() throws {
        let harness = try Harness(start: start)
        let good = (0..<200).map { Self.json("view", at: start - Int64($0) * 1_000, user: "u-\($0 % 5)", product: "p-\($0 % 3)") }
        var messages: [String] = []
        var bad: [String] = []
        for (index, event) in good.enumerated() {
            messages.append(event)
            if index % 10 == 0 {
                bad.append("not json \(index)")
                messages.append(bad.last!)
            }
        }
        for (index, message) in messages.enumerated() { try harness.publish([message], key: "u-\(index % 5)") }
        let consumer = try harness.consumer()
        defer { consumer.close() }
        let pipeline = harness.pipeline(consumer: consumer, batchMaxEvents: 40)
        let messageTooLarge: Int32 = 10  // a permanent produce error: the letters in that request are not delivered
        harness.broker.pushRequestErrors(apiKey: 0, errors: [messageTooLarge, messageTooLarge])
        var seen = 0
        var failures = 0
        let deadline = Date().addingTimeInterval(60)
        while seen < messages.count && Date() < deadline {
            do { seen += try pipeline.processBatch().messages } catch { failures += 1 }
        }
        #expect(seen == messages.count)
        #expect(failures >= 1, "no flush failed: the injected errors did not reach a dead letter")
        for product in 0..<3 {
            #expect(try harness.feature("product_stats", "views_24h", "p-\(product)") == Double((0..<200).filter { $0 % 3 == product }.count))
        }

        let reader = try KafkaConsumer(
            brokers: harness.broker.bootstrapServers, groupID: "dlq-reader", topics: [harness.deadLetterTopic],
            settings: TestServices.devBrokerConsumerSettings, logger: TestServices.logger)
        defer { reader.close() }
        var letters = Set<String>()
        let readUntil = Date().addingTimeInterval(30)
        while letters.count < bad.count && Date() < readUntil {
            for letter in try reader.poll(maxMessages: 100, timeoutMs: 500) { letters.insert(String(decoding: letter.value, as: UTF8.self)) }
        }
        #expect(letters == Set(bad), "missing: \(Set(bad).subtracting(letters).sorted())")
    }

    @Test func malformedEventsGoToTheDeadLetterTopicWithTheirReason() throws {
        let harness = try Harness(start: start)
        let bad: [(value: String, reason: String)] = [
            ("not json at all", "not_json"),
            ("[1,2,3]", "not_object"),
            (#"{"event_type":"view","timestamp":\#(start),"user_id":"u","product_id":"p"}"#, "missing_field"),
            (#"{"event_id":7,"event_type":"view","timestamp":\#(start),"user_id":"u","product_id":"p"}"#, "wrong_type"),
            (#"{"event_id":"e","event_type":"hover","timestamp":\#(start),"user_id":"u","product_id":"p"}"#, "unknown_event_type"),
            (#"{"event_id":"e","event_type":"view","timestamp":"yesterday","user_id":"u","product_id":"p"}"#, "bad_timestamp"),
            (#"{"event_id":"e","event_type":"view","timestamp":\#(start + hour),"user_id":"u","product_id":"p"}"#, "future_timestamp"),
            (#"{"event_id":"e","event_type":"purchase","timestamp":\#(start),"user_id":"u","product_id":"p","price":-1}"#, "invalid_value"),
            (#"{"event_id":"e","event_type":"view","timestamp":\#(start),"user_id":"u","product_id":"p","quantity":0}"#, "invalid_value"),
            ("{\"event_id\":\"" + String(repeating: "x", count: 70_000) + "\"}", "oversize"),
        ]
        var mixed: [String] = []
        for (index, item) in bad.enumerated() {
            mixed.append(Self.json("view", at: start - Int64(index) * 1_000))
            mixed.append(item.value)
        }
        try harness.publish(mixed)
        let consumer = try harness.consumer()
        defer { consumer.close() }
        try harness.drain(harness.pipeline(consumer: consumer), expected: mixed.count)
        #expect(harness.status.deadLetteredEvents == bad.count)
        #expect(try harness.feature("product_stats", "views_1h", "p-1") == Double(bad.count))

        let reader = try KafkaConsumer(
            brokers: harness.broker.bootstrapServers, groupID: "dlq-reader", topics: [harness.deadLetterTopic],
            settings: TestServices.devBrokerConsumerSettings, logger: TestServices.logger)
        defer { reader.close() }
        var letters: [KafkaMessage] = []
        let deadline = Date().addingTimeInterval(20)
        while letters.count < bad.count && Date() < deadline { letters += try reader.poll(maxMessages: 100, timeoutMs: 500) }
        #expect(letters.map { String(decoding: $0.value, as: UTF8.self) } == bad.map(\.value))
        for (letter, item) in zip(letters, bad) {
            let headers = Dictionary(letter.headers.map { ($0.key, String(decoding: $0.value, as: UTF8.self)) }, uniquingKeysWith: { a, _ in a })
            #expect(headers[DeadLetterHeaders.reason] == item.reason, "\(item.value.prefix(60))")
            #expect(headers[DeadLetterHeaders.detail]?.isEmpty == false)
            #expect(headers[DeadLetterHeaders.sourceTopic] == harness.topic)
            #expect(headers[DeadLetterHeaders.sourceOffset].flatMap(Int64.init) != nil)
        }
    }
}
