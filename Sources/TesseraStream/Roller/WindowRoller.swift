import Logging
import Metrics
import TesseraCore
import TesseraRedis

/// Slides windows as time passes with no new events: when a tile leaves a window, every
/// entity with data in that tile is recomputed. Ingestion files each entity under the
/// times its tiles leave windows (`rollKey`); the roller walks those times in order,
/// keeping its progress in Redis so a restart resumes where it stopped.
public final class WindowRoller {
    private let store: OnlineStore
    private let views: [StreamView]
    /// Boundaries are processed this long after they pass, so an apply that read the
    /// clock just before a boundary has registered its entity by then.
    private let graceMs: Int64
    /// The online path's batches reach Redis within this of their clock: one prepared while
    /// the one before was applied is at most a second old when its turn comes, and applying
    /// a batch of 50,000 events took about half a second in `scripts/bench` (30,000 ship).
    /// Windows slide up to this (plus `roller.interval`) late.
    public static let defaultGraceMs: Int64 = 5_000
    private let maxBoundariesPerChunk: Int
    private let logger: Logger
    /// `tessera_roller_lag_seconds{view}`: how far the cursor was behind now − grace when
    /// the roller last looked (about `roller.interval` when healthy), updated as it catches up.
    private let lag: [String: Gauge]

    public init(store: OnlineStore, catalog: FeatureCatalog, graceMs: Int64 = WindowRoller.defaultGraceMs, maxBoundariesPerChunk: Int = 500, logger: Logger) {
        self.store = store
        self.views = catalog.streamViews
        self.graceMs = graceMs
        self.maxBoundariesPerChunk = maxBoundariesPerChunk
        self.logger = logger
        lag = Dictionary(uniqueKeysWithValues: views.map { ($0.name, Gauge(label: "tessera_roller_lag_seconds", dimensions: [("view", $0.name)])) })
    }

    /// Recomputes every entity whose tiles left a window since the last tick; returns how many.
    @discardableResult
    public func tick(nowMs: Int64) throws -> Int {
        var recomputed = 0
        for view in views { recomputed += try roll(view, nowMs: nowMs) }
        return recomputed
    }

    private func roll(_ view: StreamView, nowMs: Int64) throws -> Int {
        let cursorKey = store.keyspace.rollerCursorKey(view: view.name)
        let until = nowMs - graceMs
        let reply = try store.run([["GET", cursorKey]])[0]
        if let message = reply.errorMessage { throw RedisError("reading the roller cursor: \(message)") }
        guard let cursor = reply.integer else {
            // First run against this Redis: nothing can have been filed before now.
            _ = try store.run([["SET", cursorKey, String(until)]])
            return 0
        }

        // Walk in bounded chunks, so a roller that was down for days catches up in steps.
        var position = cursor
        var recomputed = 0
        lag[view.name]?.record(Double(max(0, until - position)) / 1_000)
        while position < until {
            let boundaries = Self.boundaries(
                after: position, upTo: until, tileSizes: Set(view.slots.compactMap(\.tileMs)), limit: maxBoundariesPerChunk)
            let reached = boundaries.count < maxBoundariesPerChunk ? until : boundaries.last!
            recomputed += try recompute(view, boundaries: boundaries, nowMs: nowMs, cursorKey: cursorKey, newCursor: reached)
            position = reached
            if position < until { lag[view.name]?.record(Double(until - position) / 1_000) }
        }
        return recomputed
    }

    /// Recomputes the entities filed under `boundaries`, then drops the sets and moves the cursor.
    private func recompute(_ view: StreamView, boundaries: [Int64], nowMs: Int64, cursorKey: String, newCursor: Int64) throws -> Int {
        let rollKeys = boundaries.map { store.keyspace.rollKey(view: view.name, boundaryMs: $0) }
        var entities = Set<String>()
        for reply in try store.run(rollKeys.map { ["SMEMBERS", $0] }) {
            for member in reply.array ?? [] { if let text = member.string { entities.insert(text) } }
        }
        let keys = entities.sorted().map(EntityKey.init(encoded:))
        // A recompute rereads the tiles of every slot whose tiles moved (up to about half a
        // millisecond of Redis each): small pipelines, so the applies get their turn in between.
        for chunk in stride(from: 0, to: keys.count, by: 100) {
            try store.recompute(view: view.name, entities: Array(keys[chunk..<min(chunk + 100, keys.count)]), nowMs: nowMs)
        }
        _ = try store.run((rollKeys.isEmpty ? [] : [["DEL"] + rollKeys]) + [["SET", cursorKey, String(newCursor)]])
        if !keys.isEmpty {
            logger.debug("rolled windows", metadata: ["view": "\(view.name)", "entities": "\(keys.count)", "boundaries": "\(boundaries.count)"])
        }
        return keys.count
    }

    /// The first `limit` multiples of any tile size in (after, upTo], ascending. Each size
    /// contributes at most `limit`, so the merged prefix misses none below its last element.
    static func boundaries(after: Int64, upTo: Int64, tileSizes: Set<Int64>, limit: Int) -> [Int64] {
        var result = Set<Int64>()
        for tileMs in tileSizes {
            var boundary = (TileMath.floorDiv(after, tileMs) + 1) * tileMs
            var taken = 0
            while boundary <= upTo && taken < limit {
                result.insert(boundary)
                boundary += tileMs
                taken += 1
            }
        }
        return Array(result.sorted().prefix(limit))
    }
}
