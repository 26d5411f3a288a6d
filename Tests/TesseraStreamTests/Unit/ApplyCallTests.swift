import Testing
import TesseraCore
import TesseraRedis
@testable import TesseraStream

/// The script call as bytes: the argument order `ApplyScript` documents, spelled out.
@Suite struct ApplyCallTests {
    static let yaml = """
        entities: {product: {join_keys: [product_id]}}
        stream_views:
          v:
            entity: product
            ttl: 1d
            features:
              views_1h: {aggregation: count, where: {event_type: view}, window: 1h}
              users_1h: {aggregation: approx_distinct, of: user_id, window: 1h}
              revenue: {aggregation: sum, of: revenue, where: {event_type: purchase}}
        """
    let nowMs: Int64 = 1_795_000_000_000

    func call() throws -> (ApplyCall, StreamView) {
        let view = try FeatureCatalog.load(yaml: Self.yaml, file: "f").streamView(named: "v")!
        return (ApplyCall(script: ApplyScript(view: view, futureToleranceMs: 300_000), keyspace: RedisKeyspace(prefix: "ts")), view)
    }

    func strings(_ command: ByteStrings) -> [String] {
        (0..<command.count).map { String(decoding: command[$0]!, as: UTF8.self) }
    }

    /// KEYS 3… are the HyperLogLogs of every tile the 1 h window reads, first to last.
    func distinctKeys(_ view: StreamView) -> (first: Int64, keys: [String]) {
        let slot = view.slots.first { $0.aggregation == .approxDistinct }!
        let first = TileMath.firstTile(nowMs: nowMs, windowMs: 3_600_000, tileMs: 150_000)
        let last = TileMath.tileIndex(timeMs: nowMs + 300_000, tileMs: 150_000)
        return (first, (first...last).map { "ts:{v|p-1}:h:\(slot.storageName):\($0)" })
    }

    @Test func aDeltaCallIsSpelledOut() throws {
        let (call, view) = try call()
        let time = nowMs - 60_000
        let events = [
            SourcedEvent(event: ClickEvent(eventID: "a", type: .view, timestampMs: time, userID: "u-1", productID: "p-1"), partition: 0, offset: 5),
            SourcedEvent(event: ClickEvent(eventID: "b", type: .view, timestampMs: time - 1, userID: "u-2", productID: "p-1"), partition: 2, offset: 3),
            SourcedEvent(event: ClickEvent(eventID: "c", type: .purchase, timestampMs: time - 2, userID: "u-1", productID: "p-1", price: 2.5, quantity: 2),
                         partition: 0, offset: 7),
        ]
        let delta = try #require(TileFolder(view: view).fold(events, nowMs: nowMs).deltas.first)
        let command = strings(call.command(sha: "f00d", entity: EntityKey(values: ["p-1"]), delta: delta, nowMs: nowMs))

        let (first, hll) = distinctKeys(view)
        let tile = TileMath.tileIndex(timeMs: time, tileMs: 150_000)
        let views = view.slots.first { $0.aggregation == .count }!.storageName
        let revenue = view.slots.first { $0.aggregation == .sum }!.storageName
        let index = String(3 + Int(tile - first))
        // The HyperLogLog lives until its tile leaves the hour, plus one tile.
        let ttl = String(TileMath.expiryMs(tile: tile, tileMs: 150_000, windowMs: 3_600_000) + 150_000 - nowMs)
        #expect(command == ["EVALSHA", "f00d", String(2 + hll.count), "ts:{v|p-1}:s", "ts:{v|p-1}:v"] + hll + [
            "0,2", "5,3", "7,3", String(nowMs), String(time), "4",
            "i", "\(views):\(tile)", "2", "",
            "f", revenue, "5.0", "",
            "H", index, "u-1", ttl,
            "H", index, "u-2", ttl,
            String(first), String(hll.count),
            "2",  // views_1h's part inside its window, for the in-place update
        ])
    }

    @Test func aRecomputeCallIsSpelledOut() throws {
        let (call, view) = try call()
        let command = strings(call.command(sha: "f00d", entity: EntityKey(values: ["p-1"]), delta: nil, nowMs: nowMs))
        let (first, hll) = distinctKeys(view)
        #expect(command == ["EVALSHA", "f00d", String(2 + hll.count), "ts:{v|p-1}:s", "ts:{v|p-1}:v"] + hll + [
            "", "0", "0", String(nowMs), "0", "0", String(first), String(hll.count),
        ])
    }

    @Test func aRebuildCallIsSpelledOut() throws {
        let (call, view) = try call()
        let (first, hll) = distinctKeys(view)
        let tile = TileMath.tileIndex(timeMs: nowMs - 60_000, tileMs: 150_000)
        let views = view.slots.first { $0.aggregation == .count }!
        let users = view.slots.first { $0.aggregation == .approxDistinct }!
        let revenue = view.slots.first { $0.aggregation == .sum }!
        var rebuild = EntityRebuild(entity: EntityKey(values: ["p-1"]))
        rebuild.fences = [.init(partition: 0, expected: "4", cutoff: 9), .init(partition: 2, expected: nil, cutoff: 3)]
        rebuild.clearedTiles = [.init(slot: views.id, first: tile - 1, last: tile), .init(slot: users.id, first: tile, last: tile)]
        rebuild.clearedLifetimeSlots = [revenue.id]
        rebuild.counts = ["\(views.storageName):\(tile)": 2]
        rebuild.values = [revenue.storageName: 5]
        rebuild.distinctMembers = [.init(slot: users.id, tile: tile, member: "u-1")]
        rebuild.newestEventMs = nowMs - 60_000
        let command = strings(call.command(sha: "f00d", rebuild: rebuild, nowMs: nowMs))
        let index = String(3 + Int(tile - first))
        let ttl = String(TileMath.expiryMs(tile: tile, tileMs: 150_000, windowMs: 3_600_000) + 150_000 - nowMs)
        #expect(command == ["EVALSHA", "f00d", String(2 + hll.count), "ts:{v|p-1}:s", "ts:{v|p-1}:v"] + hll + [
            "*", "0=4>9;2=>3", "0", String(nowMs), String(nowMs - 60_000), "6",
            "C", views.storageName, String(tile - 1), String(tile),
            "D", index, "", "",
            "X", revenue.storageName, "", "",
            "S", "\(views.storageName):\(tile)", "2", "",
            "S", revenue.storageName, "5.0", "",
            "H", index, "u-1", ttl,
            String(first), String(hll.count),
        ])

        // A rebuild that writes nothing says so, so the script leaves an absent entity absent.
        let empty = strings(call.command(sha: "f00d", rebuild: EntityRebuild(entity: EntityKey(values: ["p-1"])), nowMs: nowMs))
        #expect(Array(empty[(5 + hll.count)...]) == ["*", "", "1", String(nowMs), "0", "0", String(first), String(hll.count)])
    }
}
