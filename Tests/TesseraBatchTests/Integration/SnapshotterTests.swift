import Foundation
import Testing
import TesseraCore
import TesseraPostgres
import TesseraRedis
@testable import TesseraBatch
@testable import TesseraStream

/// Snapshots on a real Redis and PostgreSQL: the changed entities' vectors land in
/// tessera.feature_snapshots once per change, and an outage or a crash loses none.
@Suite struct SnapshotterTests {
    let now: Int64 = 1_763_720_000_000
    let minute: Int64 = 60_000

    /// One test's Redis prefix, database and online store (tracking changes, as `serve` does with snapshots on).
    struct Fixture {
        let catalog: FeatureCatalog
        let database: FreshDatabase
        let store: OnlineStore
        var keyspace: RedisKeyspace { store.keyspace }

        init() throws {
            catalog = try BatchTestServices.catalog()
            database = try BatchTestServices.freshDatabase()
            store = OnlineStore(
                url: try BatchTestServices.redisURL(), keyspace: RedisKeyspace(prefix: BatchTestServices.uniquePrefix()),
                catalog: catalog, futureToleranceMs: 300_000, tracksChanges: true, logger: BatchTestServices.logger)
        }

        func snapshotter(postgresURL: String? = nil, asOfMs: Int64) throws -> Snapshotter {
            Snapshotter(
                redisURL: try BatchTestServices.redisURL(), keyspace: keyspace, catalog: catalog,
                database: OfflineDatabase(url: postgresURL ?? database.url), settings: .init(chunkSize: 3),
                clock: { asOfMs }, logger: BatchTestServices.logger)
        }

        /// Applies the events through the store, as the ingestion pipeline does.
        func ingest(_ events: [ClickEvent], nowMs: Int64, firstOffset: Int64) throws {
            let sourced = events.enumerated().map { SourcedEvent(event: $1, partition: 0, offset: firstOffset + Int64($0)) }
            let batches = catalog.streamViews.map { view in
                OnlineStore.ViewDeltas(view: view.name, deltas: TileFolder(view: view).fold(sourced, nowMs: nowMs).deltas)
            }
            _ = try store.apply(batches, nowMs: nowMs)
        }

        /// Every (view, entity) the events touch.
        func entities(of events: [ClickEvent]) -> Set<ViewEntity> {
            Set(catalog.streamViews.flatMap { view in
                events.compactMap { view.entity.key(of: $0).map { ViewEntity(view: view, entity: $0) } }
            })
        }

        func vector(_ target: ViewEntity) throws -> FeatureVector {
            let reply = try store.run([["GET", keyspace.vectorKey(view: target.view.name, entity: target.entity)]])[0]
            guard case .bytes(let bytes) = reply else { throw RedisError("no vector for \(target)") }
            return try FeatureVector(decoding: bytes)
        }

        func rowCount() throws -> Int {
            let connection = try database.connect()
            defer { connection.close() }
            return Int(try connection.execute("select count(*) from tessera.feature_snapshots").rows[0][0] ?? "") ?? -1
        }

        /// The entity's snapshots, oldest first: the history query the README shows.
        func history(_ target: ViewEntity) throws -> [SnapshotHistoryRow] {
            let connection = try database.connect()
            defer { connection.close() }
            var keys: [String: String] = [:]
            for (field, value) in zip(target.view.entity.joinKeys, target.entity.values) { keys[field.rawValue] = value }
            let entityJSON = String(decoding: try JSONEncoder().encode(keys), as: UTF8.self)
            let rows = try connection.execute(
                """
                select (extract(epoch from as_of) * 1000)::bigint, (extract(epoch from computed_at) * 1000)::bigint,
                       (extract(epoch from newest_event_at) * 1000)::bigint,
                       (select jsonb_object_agg(key, value::text) from jsonb_each(features))::text
                from tessera.feature_snapshots where view = $1 and entity = $2::jsonb order by as_of
                """,
                [target.view.name, entityJSON]).rows
            return try rows.map { row in
                let features = try JSONDecoder().decode([String: String].self, from: Data((row[3] ?? "{}").utf8))
                return SnapshotHistoryRow(
                    asOfMs: Int64(row[0] ?? "") ?? -1, computedAtMs: Int64(row[1] ?? "") ?? -1,
                    newestEventMs: Int64(row[2] ?? "") ?? -1, features: features)
            }
        }

        /// The row holds exactly the vector Redis serves: header times and every feature
        /// (PostgreSQL prints jsonb numbers with every digit written, so they parse back exactly).
        func expect(_ row: SnapshotHistoryRow, equals target: ViewEntity, asOfMs: Int64) throws {
            let vector = try vector(target)
            #expect(row.asOfMs == asOfMs)
            #expect(row.computedAtMs == vector.computedAtMs && row.newestEventMs == vector.newestEventMs)
            #expect(row.features.count == target.view.features.count)
            for (feature, value) in zip(target.view.features, vector.values) {
                let stored = try #require(row.features[feature.name], "\(target) lacks \(feature.name)")
                if value.isNaN {
                    #expect(stored == "null", "\(target).\(feature.name)")
                } else {
                    #expect(Double(stored) == value, "\(target).\(feature.name): \(stored) vs \(value)")
                }
            }
        }

        func keyExists(_ key: String) throws -> Bool { try store.run([["EXISTS", key]])[0].integer == 1 }
    }

    struct ViewEntity: Hashable, CustomStringConvertible {
        let view: StreamView
        let entity: EntityKey
        var description: String { "\(view.name) \(entity)" }
    }

    struct SnapshotHistoryRow {
        let asOfMs: Int64
        let computedAtMs: Int64
        let newestEventMs: Int64
        let features: [String: String]
    }

    func events(_ specs: [(type: EventType, user: String, product: String, query: String?)], at timeMs: Int64) -> [ClickEvent] {
        specs.enumerated().map { index, spec in
            ClickEvent(
                eventID: "e\(timeMs)-\(index)", type: spec.type, timestampMs: timeMs - Int64(index) * 1_000, userID: spec.user,
                productID: spec.product, query: spec.query, price: spec.type == .purchase ? 19.99 : nil)
        }
    }

    @Test func writesEachChangedEntityOnceWithItsServedVector() throws {
        let fixture = try Fixture()
        let first = events([
            (.view, "u-1", "p-1", "shoes"), (.click, "u-1", "p-1", "shoes"), (.view, "u-2", "p-2", nil),
            (.purchase, "u-2", "p-1", nil), (.view, "u-3", "p-3", "red shoes"),
        ], at: now)
        try fixture.ingest(first, nowMs: now, firstOffset: 0)
        let changed = fixture.entities(of: first)
        #expect(changed.count == 8)  // 3 products, 3 users, 2 (query, product) pairs

        let asOf = now + minute
        let report = try fixture.snapshotter(asOfMs: asOf).run()
        #expect(report.written == changed.count && report.missing == 0 && report.otherLayout == 0)
        #expect(try fixture.rowCount() == changed.count)
        for target in changed {
            let history = try fixture.history(target)
            #expect(history.count == 1, "\(target)")
            if let row = history.first { try fixture.expect(row, equals: target, asOfMs: asOf) }
        }
        for view in fixture.catalog.streamViews {
            #expect(try !fixture.keyExists(fixture.keyspace.changedKey(view: view.name)))
            #expect(try !fixture.keyExists(fixture.keyspace.snapshotProcessingKey(view: view.name)))
            #expect(try !fixture.keyExists(fixture.keyspace.snapshotLeaseKey(view: view.name)))
        }

        // Nothing changed: nothing written.
        #expect(try fixture.snapshotter(asOfMs: asOf + minute).run().written == 0)
        #expect(try fixture.rowCount() == changed.count)

        // p-2 changes again: a second row for it (history kept), only for what the event touched.
        let second = events([(.click, "u-2", "p-2", nil)], at: now + 2 * minute)
        try fixture.ingest(second, nowMs: now + 2 * minute, firstOffset: 100)
        let laterAsOf = now + 3 * minute
        #expect(try fixture.snapshotter(asOfMs: laterAsOf).run().written == 2)
        #expect(try fixture.rowCount() == changed.count + 2)
        let product = ViewEntity(view: try #require(fixture.catalog.streamView(named: "product_stats")), entity: EntityKey(values: ["p-2"]))
        let history = try fixture.history(product)
        #expect(history.map(\.asOfMs) == [asOf, laterAsOf])
        #expect(history.first?.features["clicks_24h"] == "0" && history.last?.features["clicks_24h"] == "1")
        try fixture.expect(try #require(history.last), equals: product, asOfMs: laterAsOf)

        // The roller's recomputes (windows sliding) change vectors too.
        try fixture.store.recompute(view: product.view.name, entities: [product.entity], nowMs: now + 2 * 3_600_000)
        let rolledAsOf = now + 2 * 3_600_000 + minute
        #expect(try fixture.snapshotter(asOfMs: rolledAsOf).run().written == 1)
        let rolled = try #require(try fixture.history(product).last)
        try fixture.expect(rolled, equals: product, asOfMs: rolledAsOf)
        #expect(rolled.features["views_1h"] == "0" && rolled.features["views_24h"] == "1")
    }

    @Test func aPostgresOutageLosesNothing() throws {
        let fixture = try Fixture()
        let before = events([(.view, "u-1", "p-1", nil), (.view, "u-2", "p-2", "hat"), (.click, "u-3", "p-3", nil)], at: now)
        try fixture.ingest(before, nowMs: now, firstOffset: 0)

        // Port 1: nothing listens there, so the connection is refused.
        let down = try fixture.snapshotter(postgresURL: "postgresql://tessera@127.0.0.1:1/tessera", asOfMs: now + minute)
        #expect(throws: PostgresError.self) { try down.run() }
        #expect(try fixture.rowCount() == 0)

        // More changes while PostgreSQL is down, then it is back.
        let during = events([(.view, "u-4", "p-4", nil)], at: now + minute)
        try fixture.ingest(during, nowMs: now + minute, firstOffset: 100)
        let asOf = now + 5 * minute
        let report = try fixture.snapshotter(asOfMs: asOf).run()
        let changed = fixture.entities(of: before + during)
        #expect(report.written == changed.count)
        for target in changed {
            let history = try fixture.history(target)
            #expect(history.count == 1, "\(target)")
            if let row = history.first { try fixture.expect(row, equals: target, asOfMs: asOf) }
        }
    }

    @Test func aLeftoverProcessingSetIsFinishedFirst() throws {
        let fixture = try Fixture()
        let beforeCrash = events([(.view, "u-1", "p-1", nil), (.view, "u-2", "p-2", nil)], at: now)
        try fixture.ingest(beforeCrash, nowMs: now, firstOffset: 0)
        // A daemon took the changed sets and died before writing them (its lease expired since).
        for view in fixture.catalog.streamViews {
            _ = try fixture.store.run([["RENAME", fixture.keyspace.changedKey(view: view.name), fixture.keyspace.snapshotProcessingKey(view: view.name)]])
        }
        let afterCrash = events([(.view, "u-3", "p-3", nil)], at: now + minute)
        try fixture.ingest(afterCrash, nowMs: now + minute, firstOffset: 100)
        // One vector expired meanwhile: counted, not written, and not left behind.
        let productView = try #require(fixture.catalog.streamView(named: "product_stats"))
        _ = try fixture.store.run([["DEL", fixture.keyspace.vectorKey(view: productView.name, entity: EntityKey(values: ["p-1"]))]])

        let asOf = now + 2 * minute
        let report = try fixture.snapshotter(asOfMs: asOf).run()
        let changed = fixture.entities(of: beforeCrash + afterCrash)
        #expect(report.missing == 1 && report.written == changed.count - 1)
        #expect(try fixture.rowCount() == changed.count - 1)
        for target in changed where !(target.view.name == productView.name && target.entity.values == ["p-1"]) {
            #expect(try fixture.history(target).count == 1, "\(target)")
        }
        for view in fixture.catalog.streamViews {
            #expect(try !fixture.keyExists(fixture.keyspace.snapshotProcessingKey(view: view.name)))
            #expect(try !fixture.keyExists(fixture.keyspace.changedKey(view: view.name)))
        }
    }

    /// Ingestion through Kafka marks what it applies, and a backfill's rebuilds rewrite
    /// vectors, so the next snapshot has every rebuilt entity again.
    @Test func streamedAndBackfilledVectorsAreSnapshotted() throws {
        let nowMs: Int64 = 1_763_719_950_000 + 75_000
        let harness = try StreamHarness(nowMs: nowMs)
        let store = OnlineStore(
            url: try BatchTestServices.redisURL(), keyspace: RedisKeyspace(prefix: BatchTestServices.uniquePrefix()),
            catalog: harness.catalog, futureToleranceMs: harness.setup.futureToleranceMs, tracksChanges: true,
            logger: BatchTestServices.logger)
        try harness.paths(store: store).ingest(StreamHarness.events(count: 400, nowMs: nowMs, seed: 11, tag: "snap"))
        let vectors = try StreamHarness.vectors(store, catalog: harness.catalog).count
        #expect(vectors > 30)
        let snapshotter = Snapshotter(
            redisURL: try BatchTestServices.redisURL(), keyspace: store.keyspace, catalog: harness.catalog,
            database: OfflineDatabase(url: harness.database.url), clock: { nowMs + 60_000 }, logger: BatchTestServices.logger)
        #expect(try snapshotter.run().written == vectors)

        let job = try harness.setup.backfill(store: store).run(BackfillRequest(rebuildingEverythingIn: harness.catalog)) { _ in }
        #expect(job.status == "done")
        #expect(try snapshotter.run().written == vectors)
    }

    @Test func anotherDaemonsLeaseIsLeftAlone() throws {
        let fixture = try Fixture()
        let changes = events([(.view, "u-1", "p-1", nil)], at: now)
        try fixture.ingest(changes, nowMs: now, firstOffset: 0)
        let leases = fixture.catalog.streamViews.map { fixture.keyspace.snapshotLeaseKey(view: $0.name) }
        for lease in leases { _ = try fixture.store.run([["SET", lease, "another-daemon", "PX", "600000"]]) }

        let skipped = try fixture.snapshotter(asOfMs: now + minute).run()
        #expect(skipped.written == 0 && skipped.leasedElsewhere == fixture.catalog.streamViews.count)
        #expect(try fixture.store.run([["GET", leases[0]]])[0].string == "another-daemon")

        for lease in leases { _ = try fixture.store.run([["DEL", lease]]) }
        #expect(try fixture.snapshotter(asOfMs: now + 2 * minute).run().written == fixture.entities(of: changes).count)
    }
}
