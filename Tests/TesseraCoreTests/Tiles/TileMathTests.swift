import Testing
@testable import TesseraCore

@Suite struct TileMathTests {
    @Test func tileIsTheLargestExactDivisorAtMostOneTwentyFourth() {
        #expect(TileMath.tileMs(forWindowMs: 3_600_000) == 150_000)
        #expect(TileMath.tileMs(forWindowMs: 86_400_000) == 3_600_000)
        #expect(TileMath.tileMs(forWindowMs: 604_800_000) == 25_200_000)
        // 7 minutes: 420000/24 = 17500 exactly.
        #expect(TileMath.tileMs(forWindowMs: 420_000) == 17_500)
        // 1001 ms has no divisor between 24 and 1001 but 7*11*13: 1001/77 = 13.
        #expect(TileMath.tileMs(forWindowMs: 1_001) == 13)
    }

    @Test func floorDivisionRoundsTowardsNegativeInfinity() {
        #expect(TileMath.floorDiv(7, 2) == 3)
        #expect(TileMath.floorDiv(-7, 2) == -4)
        #expect(TileMath.floorDiv(-8, 2) == -4)
    }

    @Test func windowCoversEveryEventNewerThanItsLength() {
        let window: Int64 = 3_600_000, tile: Int64 = 150_000
        let now: Int64 = 1_700_000_123_456
        let first = TileMath.firstTile(nowMs: now, windowMs: window, tileMs: tile)
        // The oldest event still inside (now - W, now] is in a read tile…
        #expect(TileMath.tileIndex(timeMs: now - window + 1, tileMs: tile) >= first)
        // …and an event one tile older than the window is not.
        #expect(TileMath.tileIndex(timeMs: now - window - tile, tileMs: tile) < first)
    }

    @Test func expiryIsWhenTheWindowStartPassesTheTileEnd() {
        let tile: Int64 = 150_000, window: Int64 = 3_600_000
        let k: Int64 = 11_000_000
        let expiry = TileMath.expiryMs(tile: k, tileMs: tile, windowMs: window)
        #expect(TileMath.firstTile(nowMs: expiry - 1, windowMs: window, tileMs: tile) <= k)
        #expect(TileMath.firstTile(nowMs: expiry, windowMs: window, tileMs: tile) > k)
    }
}
