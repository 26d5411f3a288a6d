import Testing
@testable import TesseraCore

@Suite struct TileFolderTests {
    let now: Int64 = 1_763_720_000_000

    /// The folder indexes its per-type slot lists by `ordinal`: it must follow `allCases`.
    @Test func eventTypeOrdinalsFollowAllCases() {
        #expect(EventType.allCases.map(\.ordinal) == Array(EventType.allCases.indices))
    }

    @Test func foldsOneDeltaPerEntityAcrossPartitions() throws {
        let view = try #require(try DefaultConfig.catalog().streamView(named: "product_stats"))
        let folder = TileFolder(view: view)
        let events = [
            SourcedEvent(event: event(.view, at: now - 1_000, product: "p-1"), partition: 0, offset: 10),
            SourcedEvent(event: event(.click, at: now - 900, product: "p-1"), partition: 0, offset: 11),
            SourcedEvent(event: event(.view, at: now - 800, product: "p-2"), partition: 0, offset: 12),
            SourcedEvent(event: event(.view, at: now - 700, product: "p-1"), partition: 1, offset: 5),
            SourcedEvent(event: event(.purchase, at: now - 600, product: "p-1", price: 10.5, quantity: 2), partition: 0, offset: 13),
        ]
        let result = folder.fold(events, nowMs: now)
        #expect(result.deltas.count == 2)
        #expect(result.used == [true, true, true, true, true])
        let p1 = try #require(result.deltas.first { $0.entity.values == ["p-1"] })
        #expect(p1.offsets == [.init(partition: 0, first: 10, last: 13), .init(partition: 1, first: 5, last: 5)])
        #expect(p1.eventCount == 4)
        #expect(p1.newestEventMs == now - 600)

        let viewsSlot = view.slots.first { $0.eventTypes == [.view] && $0.tileMs == 150_000 }!
        let viewsTile = TileMath.tileIndex(timeMs: now - 1_000, tileMs: 150_000)
        #expect(TileMath.tileIndex(timeMs: now - 700, tileMs: 150_000) == viewsTile)
        #expect(p1.counts[.init(slot: viewsSlot.id, tile: viewsTile)] == 2)
        let revenueSlot = view.slots.first { $0.aggregation == .sum }!
        #expect(p1.sums[.init(slot: revenueSlot.id, tile: TileMath.tileIndex(timeMs: now - 600, tileMs: revenueSlot.tileMs!))] == 21)
        #expect(p1.distinctAdds.map(\.member) == ["u-1"])
        #expect(p1.maximums[.init(slot: view.slots.first { $0.field == .eventTime }!.id, tile: nil)] == Double(now - 600))
        // Each touched tile schedules a recompute for each window reading it.
        #expect(p1.rollBoundaries.allSatisfy { $0 > now })
        #expect(p1.rollBoundaries.count >= 3)

        // The fallback when fences disagree: one delta per (entity, partition).
        let split = folder.fold(events, nowMs: now, perPartition: true)
        #expect(split.deltas.count == 3)
        let p1p0 = try #require(split.deltas.first { $0.entity.values == ["p-1"] && $0.offsets.map(\.partition) == [0] })
        #expect(p1p0.offsets == [.init(partition: 0, first: 10, last: 13)] && p1p0.eventCount == 3)
        #expect(p1p0.counts[.init(slot: viewsSlot.id, tile: viewsTile)] == 1)
    }

    @Test func eventsOlderThanEveryWindowAreIgnoredUnlessALifetimeAggregateTakesThem() throws {
        let old = event(.view, at: now - 8 * 86_400_000, query: "shoes")
        let queries = try #require(try DefaultConfig.catalog().streamView(named: "query_product_stats"))
        let ignoring = TileFolder(view: queries).fold([SourcedEvent(event: old, partition: 0, offset: 1)], nowMs: now)
        #expect(ignoring.deltas.isEmpty && ignoring.tooOld == 1 && ignoring.used == [false])

        // product_stats keeps last_event_at (max of event time over the whole life): the old
        // event moves only that, and no tile.
        let products = try #require(try DefaultConfig.catalog().streamView(named: "product_stats"))
        let folder = TileFolder(view: products)
        #expect(folder.isTooOld(old, nowMs: now) && !folder.ignores(old, nowMs: now))
        let result = folder.fold([SourcedEvent(event: old, partition: 0, offset: 1)], nowMs: now)
        let delta = try #require(result.deltas.first)
        #expect(result.tooOld == 0 && delta.counts.isEmpty && delta.rollBoundaries.isEmpty)
        #expect(delta.maximums == [.init(slot: products.slots.first { $0.tileMs == nil }!.id, tile: nil): Double(now - 8 * 86_400_000)])
    }

    @Test func lateEventsLandInTheirOwnTileOnlyWhereAWindowStillReadsIt() throws {
        let view = try #require(try DefaultConfig.catalog().streamView(named: "product_stats"))
        let late = event(.view, at: now - 2 * 3_600_000)  // outside 1h, inside 24h and 7d
        let delta = try #require(TileFolder(view: view).fold([SourcedEvent(event: late, partition: 0, offset: 1)], nowMs: now).deltas.first)
        let hourSlot = view.slots.first { $0.eventTypes == [.view] && $0.tileMs == 150_000 }!
        let daySlot = view.slots.first { $0.eventTypes == [.view] && $0.tileMs == 3_600_000 }!
        #expect(!delta.counts.keys.contains { $0.slot == hourSlot.id })
        #expect(delta.counts[.init(slot: daySlot.id, tile: TileMath.tileIndex(timeMs: late.timestampMs, tileMs: 3_600_000))] == 1)
    }

    @Test func queryProductNeedsAQuery() throws {
        let view = try #require(try DefaultConfig.catalog().streamView(named: "query_product_stats"))
        let result = TileFolder(view: view).fold(
            [SourcedEvent(event: event(.view, at: now), partition: 0, offset: 1),
             SourcedEvent(event: event(.view, at: now, query: "running shoes"), partition: 0, offset: 2)], nowMs: now)
        #expect(result.unkeyed == 1 && result.used == [false, true])
        #expect(result.deltas.map(\.entity.values) == [["running shoes", "p-1"]])
    }

    @Test func lastKeepsTheLatestEventAndBreaksTiesByValue() {
        let earlier = EntityDelta.TimedValue(timeMs: 1, value: 9)
        let later = EntityDelta.TimedValue(timeMs: 2, value: 1)
        #expect(later.supersedes(earlier) && !earlier.supersedes(later))
        #expect(EntityDelta.TimedValue(timeMs: 2, value: 3).supersedes(later))
    }
}
