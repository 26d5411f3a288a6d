import Foundation
import Testing
import TesseraCore
import TesseraPostgres
import TesseraRedis
import TesseraStream
@testable import TesseraBatch

/// `verify` on events applied online (OnlineStore, the real apply script) and written to
/// the log (OfflineDatabase, as the offline consumer does).
@Suite struct VerifyTests {
    let now: Int64 = 1_763_720_000_000
    let hour: Int64 = 3_600_000

    /// Events over the 9 days before `now` (some too old for every window: only the
    /// lifetime aggregate takes them), on two partitions, spread by index arithmetic.
    func events(count: Int) -> [SourcedEvent] {
        let types: [EventType] = [.view, .view, .view, .click, .click, .addToCart, .purchase]
        return (0..<count).map { index in
            let type = types[index % types.count]
            let event = EventLogFixtures.event(
                "e\(index)", type, at: now - Int64(index * 7_919_003) % (216 * hour),
                user: "u-\(index * 7 % 15)", product: "p-\(index / 2 % 6)", query: index % 3 == 0 ? "shoes" : nil,
                price: type == .purchase ? Double(index % 89) + 0.37 : nil, quantity: Int64(index % 3 + 1))
            return SourcedEvent(event: event, partition: Int32(index % 2), offset: Int64(index / 2))
        }
    }

    /// How many entities each view has in these events.
    func entityCounts(_ catalog: FeatureCatalog, _ events: [SourcedEvent]) -> [Int] {
        catalog.streamViews.map { view in Set(events.compactMap { view.entity.key(of: $0.event) }).count }
    }

    struct Harness {
        let catalog: FeatureCatalog
        let db: FreshDatabase
        let store: OnlineStore
        let redis: RedisConnection
        let postgres: PostgresConnection

        init() throws {
            catalog = try BatchTestServices.catalog()
            db = try BatchTestServices.freshDatabase()
            store = OnlineStore(
                url: try BatchTestServices.redisURL(), keyspace: RedisKeyspace(prefix: BatchTestServices.uniquePrefix()),
                catalog: catalog, futureToleranceMs: 300_000, logger: BatchTestServices.logger)
            redis = try RedisConnection(url: BatchTestServices.redisURL())
            postgres = try db.connect()
        }

        /// Ingestion's two paths for one batch: fold and apply online, then (unless the log
        /// is to lag) COPY into the log with the group's offsets.
        func ingest(_ batch: [SourcedEvent], nowMs: Int64, logged: Bool = true) throws {
            let deltas = catalog.streamViews.map { view in
                OnlineStore.ViewDeltas(view: view.name, deltas: TileFolder(view: view).fold(batch, nowMs: nowMs).deltas)
            }
            _ = try store.apply(deltas, nowMs: nowMs)
            if logged {
                try EventLogFixtures.log(batch.map { LoggedEvent(event: $0.event, payload: Array("{}".utf8), partition: $0.partition, offset: $0.offset) }, to: db)
            }
        }

        func verify(sample: Int = 1000) throws -> VerifyReport {
            try Verifier(keyspace: store.keyspace, offlineGroup: EventLogFixtures.group, topic: EventLogFixtures.topic)
                .verify(catalog.streamViews, sample: sample, redis: redis, postgres: postgres)
        }

        func vectorKey(_ view: String, _ entity: String) -> String { store.keyspace.vectorKey(view: view, entity: EntityKey(values: [entity])) }
    }

    @Test func onlineAndLogAgreeThenACorruptedVectorIsReported() throws {
        let harness = try Harness()
        let events = events(count: 700)
        for start in stride(from: 0, to: events.count, by: 100) {
            try harness.ingest(Array(events[start..<min(start + 100, events.count)]), nowMs: now)
        }
        // The roller's recompute two hours on: windows moved, the comparison follows the vector's time.
        try harness.store.recompute(view: "product_stats", entities: (0..<3).map { EntityKey(values: ["p-\($0)"]) }, nowMs: now + 2 * hour)

        let clean = try harness.verify()
        #expect(clean.mismatches == 0, "\(clean.lines.joined(separator: "\n"))")
        let counts = entityCounts(harness.catalog, events)
        #expect(clean.views.map(\.checked) == counts)
        #expect(clean.views.allSatisfy { $0.notYetLogged == 0 && $0.staleOrGone == 0 })
        #expect(clean.lines.last == "verify: ok, \(counts.reduce(0, +)) entities match the event log")

        // Overwrite one value in one packed vector (a Lua script: the vector is binary).
        let view = try #require(harness.catalog.streamView(named: "product_stats"))
        let views24h = try #require(view.featureIndex(named: "views_24h"))
        let overwrite = """
            local v = redis.call('GET', KEYS[1])
            local at = \(FeatureVector.headerBytes) + 8 * tonumber(ARGV[1])
            local x = struct.unpack('<d', v, at + 1)
            return redis.call('SET', KEYS[1], string.sub(v, 1, at) .. struct.pack('<d', x + 1) .. string.sub(v, at + 9))
            """
        let reply = try harness.redis.send(["EVAL", overwrite, "1", harness.vectorKey("product_stats", "p-4"), String(views24h)])
        #expect(reply == .bytes(Array("OK".utf8)))

        let corrupted = try harness.verify()
        let product = try #require(corrupted.views.first { $0.view == "product_stats" })
        let failing = product.features.filter { $0.mismatches > 0 }
        // ctr_24h reads views_24h inside Redis, not from the vector: only the overwritten value differs.
        #expect(failing.map(\.feature) == ["views_24h"])
        #expect(failing.first?.examples.first?.entity == EntityKey(values: ["p-4"]))
        #expect(corrupted.mismatches == 1)
        #expect(corrupted.lines.contains { $0.hasPrefix("      p-4: online ") })
        #expect(corrupted.lines.last == "verify: FAILED, 1 mismatched values in 1 features (\(counts.reduce(0, +)) entities checked)")
    }

    @Test func aCorruptedTileShowsInEveryFeatureThatReadsIt() throws {
        let harness = try Harness()
        let events = events(count: 300)
        try harness.ingest(events, nowMs: now)
        let view = try #require(harness.catalog.streamView(named: "user_stats"))
        let clicks7d = try #require(view.slots.first { $0.aggregation == .count && $0.eventTypes == [.click] && $0.tileMs == 7 * hour })
        let entity = EntityKey(values: ["u-3"])
        let field = RedisKeyspace.tileField(slot: clicks7d.storageName, tile: TileMath.tileIndex(timeMs: now, tileMs: 7 * hour))
        _ = try harness.redis.send(["HINCRBY", harness.store.keyspace.stateKey(view: "user_stats", entity: entity), field, "5"])
        // The roller's recompute keeps slots whose tiles have not moved: this one runs once the
        // 7 d windows' 7 h tile has moved on, so the slot is read again (verify follows the
        // vector's time).
        try harness.store.recompute(view: "user_stats", entities: [entity], nowMs: now + 7 * hour)

        let report = try harness.verify()
        let user = try #require(report.views.first { $0.view == "user_stats" })
        #expect(user.features.filter { $0.mismatches > 0 }.map(\.feature) == ["clicks_7d"])
        #expect(user.features.first { $0.feature == "clicks_7d" }?.examples.map(\.entity) == [entity])
        #expect(report.mismatches == 1)
    }

    @Test func entitiesTheLogHasNotCaughtUpWithAreSkipped() throws {
        let harness = try Harness()
        let events = events(count: 200)
        try harness.ingest(events, nowMs: now)
        // Applied online, not yet in the log: p-5's later events, by a user of their own.
        let lagging = (0..<5).map { index in
            SourcedEvent(event: EventLogFixtures.event("lag\(index)", .view, at: now - Int64(index), user: "u-lag", product: "p-5"),
                         partition: 0, offset: 1_000 + Int64(index))
        }
        try harness.ingest(lagging, nowMs: now, logged: false)

        let report = try harness.verify()
        #expect(report.mismatches == 0, "\(report.lines.joined(separator: "\n"))")
        let counts = entityCounts(harness.catalog, events)
        #expect(report.views.map(\.notYetLogged) == [1, 1, 0])
        #expect(report.views.map(\.checked) == [counts[0] - 1, counts[1], counts[2]])
        #expect(report.lines.first == "product_stats: \(counts[0] - 1) entities checked, 1 skipped (not yet in the event log), 0 skipped (stale layout or gone)")

        let sampled = try harness.verify(sample: 2)
        #expect(sampled.views.allSatisfy { $0.checked + $0.notYetLogged + $0.staleOrGone == 2 })
    }

    @Test func anEmptyOnlineStoreIsNotAPass() throws {
        let harness = try Harness()
        try EventLogFixtures.log(events(count: 50).map { LoggedEvent(event: $0.event, payload: Array("{}".utf8), partition: $0.partition, offset: $0.offset) },
                                 to: harness.db)
        let report = try harness.verify()
        #expect(report.checked == 0)
        #expect(report.mismatches == 0)
        #expect(report.lines.last == "verify: nothing checked, no online vector could be compared (empty online store? `tessera backfill --all` rebuilds it)")
    }
}
