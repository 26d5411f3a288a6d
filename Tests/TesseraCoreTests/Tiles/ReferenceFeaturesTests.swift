import Testing
@testable import TesseraCore

@Suite struct ReferenceFeaturesTests {
    let now: Int64 = 1_763_720_000_000
    let hour: Int64 = 3_600_000

    @Test func windowsCountExactlyAroundTheirEdges() throws {
        let view = try #require(try DefaultConfig.catalog().streamView(named: "product_stats"))
        let events = [
            event(.view, at: now - 1),  // every window
            event(.view, at: now - hour + 1),  // still inside 1h
            event(.view, at: now - hour - 150_000 - 1),  // more than a tile past 1h: out of 1h, in 24h
            event(.view, at: now - 24 * hour + 1),  // inside 24h
            event(.view, at: now - 25 * hour - 1),  // out of 24h, in 7d
            event(.click, at: now - 10),
            event(.purchase, at: now - 20, price: 5, quantity: 3),
            event(.view, at: now - 2, user: "u-2"),
        ]
        let values = ReferenceFeatures.values(view: view, events: events, nowMs: now)
        func value(_ name: String) -> Double { values[view.featureIndex(named: name)!] }
        #expect(value("views_1h") == 3)
        #expect(value("views_24h") == 5)
        #expect(value("views_7d") == 6)
        #expect(value("clicks_24h") == 1)
        #expect(value("purchases_7d") == 1)
        #expect(value("revenue_7d") == 15)
        #expect(value("unique_users_24h") == 2)
        #expect(value("ctr_24h") == (1.0 + 1) / (5 + 20))
        #expect(value("conversion_7d") == (1.0 + 1) / (1 + 50))
        #expect(value("last_event_at") == Double(now - 1))
    }

    @Test func anEventCountsUntilOneTileAfterItsWindow() throws {
        let view = try #require(try DefaultConfig.catalog().streamView(named: "product_stats"))
        let tile: Int64 = 150_000
        let at = (now / tile) * tile  // the start of a tile
        let events = [event(.view, at: at)]
        func views1h(_ time: Int64) -> Double { ReferenceFeatures.values(view: view, events: events, nowMs: time)[0] }
        #expect(views1h(at + hour) == 1)  // exactly W old: never less than W
        #expect(views1h(at + hour + tile - 1) == 1)  // up to one tile older than W
        #expect(views1h(at + hour + tile) == 0)
    }

    @Test func emptyWindowsGiveZeroCountsAndSmoothedRatios() throws {
        let view = try #require(try DefaultConfig.catalog().streamView(named: "product_stats"))
        let values = ReferenceFeatures.values(view: view, events: [], nowMs: now)
        #expect(values[view.featureIndex(named: "views_7d")!] == 0)
        #expect(values[view.featureIndex(named: "ctr_7d")!] == 1.0 / 20)
        #expect(values[view.featureIndex(named: "last_event_at")!].isNaN)
    }
}
