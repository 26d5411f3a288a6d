import Foundation
import Testing
import TesseraCore
import TesseraRedis
@testable import TesseraStream

/// The apply script on a real Redis against the reference model.
@Suite struct OnlineStoreTests {
    let now: Int64 = 1_763_720_000_000
    let hour: Int64 = 3_600_000

    let futureToleranceMs: Int64 = 300_000

    func makeStore(_ catalog: FeatureCatalog) throws -> OnlineStore {
        OnlineStore(
            url: try TestServices.redisURL(), keyspace: RedisKeyspace(prefix: TestServices.uniquePrefix()),
            catalog: catalog, futureToleranceMs: futureToleranceMs, logger: TestServices.logger)
    }

    func readVector(_ store: OnlineStore, view: StreamView, entity: EntityKey) throws -> FeatureVector? {
        let reply = try store.run([["GET", store.keyspace.vectorKey(view: view.name, entity: entity)]])[0]
        guard case .bytes(let bytes) = reply else { return nil }
        return try FeatureVector(decoding: bytes)
    }

    func randomEvents(count: Int, endingAt end: Int64, span: Int64, seed: UInt64) -> [SourcedEvent] {
        var random = SeededRandom(state: seed)
        let types: [EventType] = [.view, .view, .view, .view, .click, .click, .addToCart, .purchase]
        return (0..<count).map { offset in
            let event = ClickEvent(
                eventID: "e\(offset)", type: types.randomElement(using: &random)!,
                timestampMs: end - Int64.random(in: 0..<span, using: &random),
                userID: "u-\(Int.random(in: 0..<12, using: &random))", productID: "p-\(Int.random(in: 0..<5, using: &random))",
                query: Bool.random(using: &random) ? "shoes" : nil,
                price: Double(Int.random(in: 100...9_999, using: &random)) / 100, quantity: Int64.random(in: 1...3, using: &random))
            return SourcedEvent(event: event, partition: Int32(offset % 2), offset: Int64(offset / 2))
        }
    }

    /// Every view's vector for every entity (or only those `checked` names) equals the
    /// reference over `events` at `nowMs`.
    func expectMatchesReference(
        _ store: OnlineStore, _ catalog: FeatureCatalog, _ events: [SourcedEvent], nowMs: Int64, checked: [SourcedEvent]? = nil
    ) throws {
        for view in catalog.streamViews {
            var byEntity: [EntityKey: [ClickEvent]] = [:]
            for sourced in events { if let key = view.entity.key(of: sourced.event) { byEntity[key, default: []].append(sourced.event) } }
            #expect(!byEntity.isEmpty)
            let checkedEntities = checked.map { Set($0.compactMap { view.entity.key(of: $0.event) }) }
            for (entity, entityEvents) in byEntity where checkedEntities?.contains(entity) ?? true {
                let vector = try #require(try readVector(store, view: view, entity: entity), "\(view.name) \(entity)")
                #expect(vector.layoutFingerprint == view.layoutFingerprint)
                #expect(vector.newestEventMs == entityEvents.map(\.timestampMs).max())
                let expected = ReferenceFeatures.values(view: view, events: entityEvents, nowMs: nowMs)
                for (index, feature) in view.features.enumerated() {
                    let (got, want) = (vector.values[index], expected[index])
                    if case .windowed(let slot, _) = feature.kind, view.slots[slot].aggregation == .approxDistinct {
                        #expect(abs(got - want) <= max(1, want * 0.02), "\(view.name).\(feature.name) \(entity): \(got) vs \(want)")
                    } else if want.isNaN {
                        #expect(got.isNaN, "\(view.name).\(feature.name) \(entity)")
                    } else {
                        #expect(abs(got - want) <= 1e-9 * max(1, abs(want)), "\(view.name).\(feature.name) \(entity): \(got) vs \(want)")
                    }
                }
            }
        }
    }

    func apply(_ store: OnlineStore, _ catalog: FeatureCatalog, _ events: [SourcedEvent], nowMs: Int64) throws -> [[OnlineStore.Outcome]] {
        let batches = catalog.streamViews.map { view in
            OnlineStore.ViewDeltas(view: view.name, deltas: TileFolder(view: view).fold(events, nowMs: nowMs).deltas)
        }
        return try store.apply(batches, nowMs: nowMs)
    }

    /// Every aggregation the config language has, windowed and lifetime.
    static func everyAggregationCatalog() throws -> FeatureCatalog {
        try FeatureCatalog.load(yaml: """
            entities: {product: {join_keys: [product_id]}, session: {join_keys: [session_id]}}
            stream_views:
              price_stats:
                entity: product
                features:
                  min_price_24h:  {aggregation: min, of: price, window: 24h}
                  max_price_7d:   {aggregation: max, of: price, window: 7d}
                  last_price_1h:  {aggregation: last, of: price, window: 1h}
                  last_position:  {aggregation: last, of: position}
                  first_seen:     {aggregation: min, of: event_time}
                  units_ever:     {aggregation: sum, of: quantity}
                  events_ever:    {aggregation: count}
                  carts_90m:      {aggregation: count, where: {event_type: [add_to_cart, purchase]}, window: 90m}
                  buyers_90m:     {aggregation: approx_distinct, of: user_id, where: {event_type: purchase}, window: 90m}
                  cart_rate:      {ratio: {numerator: carts_90m, denominator: events_ever, alpha: 0.5, beta: 3}}
            """, file: "test.yaml")
    }

    @Test func appliedVectorsEqualTheReferenceModel() throws {
        let catalog = try TestServices.catalog()
        let store = try makeStore(catalog)
        // Within the 7-day window, so no event is too old for the lifetime aggregates either.
        let events = randomEvents(count: 600, endingAt: now, span: 7 * 24 * hour - hour, seed: 7)
        for batch in stride(from: 0, to: events.count, by: 97) {
            _ = try apply(store, catalog, Array(events[batch..<min(batch + 97, events.count)]), nowMs: now)
        }
        try expectMatchesReference(store, catalog, events, nowMs: now)
    }

    /// Every aggregation the config language has, windowed and lifetime, against the reference.
    @Test func everyAggregationMatchesTheReference() throws {
        let catalog = try Self.everyAggregationCatalog()
        let store = try makeStore(catalog)
        var events = randomEvents(count: 400, endingAt: now, span: 3 * 24 * hour, seed: 5)
        for index in events.indices where index % 3 == 0 { events[index].event.position = Int64(index % 17) }
        for batch in stride(from: 0, to: events.count, by: 61) {
            _ = try apply(store, catalog, Array(events[batch..<min(batch + 61, events.count)]), nowMs: now)
        }
        try expectMatchesReference(store, catalog, events, nowMs: now)
        // And after time passes, through the roller.
        let roller = WindowRoller(store: store, catalog: catalog, logger: TestServices.logger)
        try roller.tick(nowMs: now)
        try roller.tick(nowMs: now + 2 * hour)
        try expectMatchesReference(store, catalog, events, nowMs: now + 2 * hour)
    }

    /// Batches at a clock that moves on by less than a tile, then across tile edges: the
    /// in-place updates between edges, the slots recomputed at them and the others kept all
    /// stay exact, for the entities each batch touches (the roller, not run here, keeps the
    /// others). The second start is 300 s before an hour, so the 24 h windows' 1 h tiles
    /// move too (first the last readable tile, then the first), and one step of two hours
    /// moves every slot.
    @Test(arguments: [0, 2_500_000] as [Int64])
    func vectorsStayExactAsTheClockMovesBetweenBatches(start: Int64) throws {
        for catalog in [try TestServices.catalog(), try Self.everyAggregationCatalog()] {
            let store = try makeStore(catalog)
            var applied: [SourcedEvent] = []
            var clock = now + start
            for step in 0..<30 {
                clock += step == 22 ? 2 * hour : [7_000, 40_000, 1_000, 95_000, 0][step % 5]
                // Events up to 4 minutes ahead of the clock (within the future tolerance) too.
                var batch = randomEvents(count: 40, endingAt: clock + 240_000, span: 3 * hour, seed: UInt64(100 + step))
                for index in batch.indices {
                    batch[index].offset += Int64(step * 1_000)
                    if index % 3 == 0 { batch[index].event.position = Int64((index + step) % 17) }
                }
                _ = try apply(store, catalog, batch, nowMs: clock)
                applied += batch
                try expectMatchesReference(store, catalog, applied, nowMs: clock, checked: batch)
            }
        }
    }

    @Test func aReplayAcrossPartitionsWithOtherBoundariesSaysTheFencesDiffer() throws {
        let catalog = try TestServices.catalog()
        let store = try makeStore(catalog)
        let view = catalog.streamView(named: "product_stats")!
        let events = (0..<6).map {
            SourcedEvent(
                event: ClickEvent(eventID: "e\($0)", type: .view, timestampMs: now - Int64($0), userID: "u\($0)", productID: "p"),
                partition: Int32($0 % 2), offset: Int64($0 / 2))
        }
        let folder = TileFolder(view: view)
        #expect(try store.apply([.init(view: view.name, deltas: folder.fold(Array(events.prefix(3)), nowMs: now).deltas)], nowMs: now) == [[.applied]])
        #expect(try store.apply([.init(view: view.name, deltas: folder.fold(events, nowMs: now).deltas)], nowMs: now) == [[.fencesDiffer]])
        // Per partition, each fence says what is left.
        let split = folder.fold(events, nowMs: now, perPartition: true).deltas
        #expect(try store.apply([.init(view: view.name, deltas: split)], nowMs: now) == [[.partlyApplied(fence: 1), .partlyApplied(fence: 0)]])
        let rest = events.filter { $0.offset > ($0.partition == 0 ? 1 : 0) }
        #expect(try store.apply([.init(view: view.name, deltas: folder.fold(rest, nowMs: now).deltas)], nowMs: now) == [[.applied]])
        var productsOnly = catalog
        productsOnly.streamViews = [view]
        try expectMatchesReference(store, productsOnly, events, nowMs: now)
    }

    @Test func replayingABatchChangesNothing() throws {
        let catalog = try TestServices.catalog()
        let store = try makeStore(catalog)
        let events = randomEvents(count: 200, endingAt: now, span: 2 * hour, seed: 11)
        let first = try apply(store, catalog, events, nowMs: now)
        #expect(first.allSatisfy { $0.allSatisfy { $0 == .applied } })
        let again = try apply(store, catalog, events, nowMs: now)
        #expect(again.allSatisfy { $0.allSatisfy { $0 == .alreadyApplied } })
        try expectMatchesReference(store, catalog, events, nowMs: now)
    }

    /// Redis lost its scripts (a restart, SCRIPT FLUSH): the store loads them again and
    /// re-sends the batch, which applies once. The flush is server-wide; the project's other
    /// script users (this store, the batch materializer) reload on NOSCRIPT the same way.
    @Test func flushedScriptsAreLoadedAgainAndTheBatchApplied() throws {
        let catalog = try TestServices.catalog()
        let store = try makeStore(catalog)
        let events = randomEvents(count: 120, endingAt: now, span: 2 * hour, seed: 13)
        _ = try apply(store, catalog, Array(events.prefix(60)), nowMs: now)
        _ = try store.run([["SCRIPT", "FLUSH"]])
        let second = try apply(store, catalog, Array(events.suffix(60)), nowMs: now)
        #expect(second.allSatisfy { $0.allSatisfy { $0 == .applied } })
        try expectMatchesReference(store, catalog, events, nowMs: now)
    }

    /// Scripts missing for some calls only (another client loaded one view's script after the
    /// flush): the calls that ran keep their answer, not the re-sent round's "already applied".
    @Test func callsThatRanBeforeTheReloadKeepTheirAnswer() throws {
        let catalog = try TestServices.catalog()
        let store = try makeStore(catalog)
        let events = randomEvents(count: 120, endingAt: now, span: 2 * hour, seed: 17)
        _ = try apply(store, catalog, Array(events.prefix(60)), nowMs: now)
        let firstView = try #require(catalog.streamViews.first)
        let source = ApplyScript(view: firstView, futureToleranceMs: futureToleranceMs).script.source
        _ = try store.run([["SCRIPT", "FLUSH"], ["SCRIPT", "LOAD", source]])
        let second = try apply(store, catalog, Array(events.suffix(60)), nowMs: now)
        #expect(second.allSatisfy { $0.allSatisfy { $0 == .applied } }, "\(second)")
        try expectMatchesReference(store, catalog, events, nowMs: now)
    }

    @Test func aReplayWithOtherBatchBoundariesReportsTheFence() throws {
        let catalog = try TestServices.catalog()
        let store = try makeStore(catalog)
        let view = catalog.streamView(named: "user_stats")!
        let events = (0..<6).map { SourcedEvent(event: ClickEvent(eventID: "e\($0)", type: .view, timestampMs: now - Int64($0), userID: "u", productID: "p"), partition: 0, offset: Int64($0)) }
        _ = try store.apply([.init(view: view.name, deltas: TileFolder(view: view).fold(Array(events.prefix(4)), nowMs: now).deltas)], nowMs: now)
        let outcome = try store.apply([.init(view: view.name, deltas: TileFolder(view: view).fold(events, nowMs: now).deltas)], nowMs: now)
        #expect(outcome == [[.partlyApplied(fence: 3)]])
    }

    @Test func theRollerSlidesWindowsWithNoNewEvents() throws {
        let catalog = try TestServices.catalog()
        let store = try makeStore(catalog)
        let roller = WindowRoller(store: store, catalog: catalog, logger: TestServices.logger)
        try roller.tick(nowMs: now)  // starts the cursor
        let events = randomEvents(count: 300, endingAt: now, span: 26 * hour, seed: 3)
        _ = try apply(store, catalog, events, nowMs: now)

        // Single 150 s tiles: the roller recomputes the 1 h windows and keeps the rest.
        var later = now
        for _ in 0..<3 {
            later += 150_000
            try roller.tick(nowMs: later)
            try expectMatchesReference(store, catalog, events, nowMs: later - 2_000)
        }
        // Slide past the 1h and 24h edges of many events; the roller alone must follow.
        for step in [hour / 2, hour, 3 * hour, 20 * hour] {
            later += step
            let recomputed = try roller.tick(nowMs: later)
            #expect(recomputed > 0, "nothing recomputed after \(step) ms")
            try expectMatchesReference(store, catalog, events, nowMs: later - 2_000)
        }
    }

    /// A delta within 10 minutes of the state's last expiry renewal leaves the expiry as it
    /// was (one command less a call); the first one 10 minutes after renews it, however
    /// recent the stored vector, so a busy entity's state never runs out.
    @Test func theStateExpiryIsRenewedTenMinutesAfterItsLastRenewal() throws {
        let catalog = try FeatureCatalog.load(yaml: """
            entities: {product: {join_keys: [product_id]}}
            stream_views:
              weekly:
                entity: product
                features: {views_7d: {aggregation: count, window: 7d}}
            """, file: "test.yaml")
        let store = try makeStore(catalog)
        let view = catalog.streamViews[0]
        let retention = ApplyScript.retentionMs(view)
        let entity = try #require(view.entity.key(of: ClickEvent(eventID: "x", type: .view, timestampMs: now, userID: "u", productID: "p")))
        let state = store.keyspace.stateKey(view: view.name, entity: entity)
        func applyView(offset: Int64, at clock: Int64) throws {
            let event = SourcedEvent(event: ClickEvent(eventID: "e\(offset)", type: .view, timestampMs: clock - 1_000, userID: "u", productID: "p"), partition: 0, offset: offset)
            #expect(try apply(store, catalog, [event], nowMs: clock) == [[.applied]])
        }
        func stateTTL() throws -> Int64 { try #require(try store.run([["PTTL", state]])[0].integer) }
        // The 7-hour tiles of a 7-day window: every apply below reads the same tiles.
        let start = now - now % 25_200_000 + 60_000
        try applyView(offset: 0, at: start)  // a blank state: expiry set
        #expect(try stateTTL() > retention - 60_000)
        _ = try store.run([["PEXPIRE", state, String(retention - 3_600_000)]])
        try applyView(offset: 1, at: start + 9 * 60_000)  // 9 minutes after the renewal: left alone
        #expect(try stateTTL() <= retention - 3_600_000)
        try applyView(offset: 2, at: start + 18 * 60_000)  // vector 9 minutes old, renewal 18: renewed
        #expect(try stateTTL() > retention - 60_000)
        let vector = try #require(try readVector(store, view: view, entity: entity))
        #expect(vector.values == [3])
    }
}
