import TesseraCore

/// Builds the EVALSHA command for one entity: a delta to apply, or (with no delta) a
/// recompute at `nowMs`.
public struct ApplyCall: Sendable {
    public let script: ApplyScript
    public let keyspace: RedisKeyspace
    /// Each slot's name in Redis, computed once (it hashes the slot's definition).
    private let storageNames: [String]
    /// A windowed feature the script updates in place: its slot, window and tile length.
    private struct InPlaceFeature {
        var slot: Int
        var windowMs: Int64
        var tileMs: Int64
    }
    private let inPlaceFeatures: [InPlaceFeature]
    /// Positions in `inPlaceFeatures` by slot.
    private let inPlaceBySlot: [[Int]]

    public init(script: ApplyScript, keyspace: RedisKeyspace) {
        self.script = script
        self.keyspace = keyspace
        let view = script.view
        storageNames = view.slots.map(\.storageName)
        let features = script.inPlaceFeatures.map { index -> InPlaceFeature in
            guard case .windowed(let slot, let windowMs) = view.features[index].kind else { preconditionFailure("not windowed") }
            return InPlaceFeature(slot: slot, windowMs: windowMs, tileMs: view.slots[slot].tileMs!)
        }
        inPlaceFeatures = features
        inPlaceBySlot = view.slots.map { slot in features.indices.filter { features[$0].slot == slot.id } }
    }

    private func field(_ cell: EntityDelta.Cell) -> String {
        cell.tile.map { RedisKeyspace.tileField(slot: storageNames[cell.slot], tile: $0) } ?? RedisKeyspace.lifetimeField(slot: storageNames[cell.slot])
    }

    /// What the delta adds to each in-place feature at `nowMs` (see `ApplyScript`): the sum
    /// of its counts or sums, or the least or greatest of its values, over the tiles the
    /// feature's window reads then; "" for a minimum or maximum the delta has no value for.
    private func contributions(_ delta: EntityDelta, nowMs: Int64) -> [String] {
        var totals = [Double](repeating: 0, count: inPlaceFeatures.count)
        var extremes = [Double?](repeating: nil, count: inPlaceFeatures.count)
        func reads(_ feature: InPlaceFeature, _ tile: Int64) -> Bool {
            tile >= TileMath.firstTile(nowMs: nowMs, windowMs: feature.windowMs, tileMs: feature.tileMs)
                && tile <= TileMath.tileIndex(timeMs: nowMs + script.futureToleranceMs, tileMs: feature.tileMs)
        }
        var counts = [Int64](repeating: 0, count: inPlaceFeatures.count)
        for (cell, amount) in delta.counts {
            guard let tile = cell.tile else { continue }
            for index in inPlaceBySlot[cell.slot] where reads(inPlaceFeatures[index], tile) { counts[index] += amount }
        }
        // In cell order: float addition is not associative, and equal deltas must send equal commands.
        for (cell, amount) in delta.sums.sorted(by: { $0.key < $1.key }) {
            guard let tile = cell.tile else { continue }
            for index in inPlaceBySlot[cell.slot] where reads(inPlaceFeatures[index], tile) { totals[index] += amount }
        }
        for (cell, value) in delta.minimums {
            guard let tile = cell.tile else { continue }
            for index in inPlaceBySlot[cell.slot] where reads(inPlaceFeatures[index], tile) { extremes[index] = min(extremes[index] ?? value, value) }
        }
        for (cell, value) in delta.maximums {
            guard let tile = cell.tile else { continue }
            for index in inPlaceBySlot[cell.slot] where reads(inPlaceFeatures[index], tile) { extremes[index] = max(extremes[index] ?? value, value) }
        }
        return inPlaceFeatures.indices.map { index in
            switch script.view.slots[inPlaceFeatures[index].slot].aggregation {
            case .count: return String(counts[index])
            case .sum: return String(totals[index])
            default: return extremes[index].map { String($0) } ?? ""
            }
        }
    }

    /// The keys one call touches: state, vector, then every approx-distinct tile the
    /// windows read at `nowMs` (per slot, first tile to last), and the ranges that name them.
    private struct Keys {
        var keys: [String]
        var ranges: [String] = []
        var distinct: [Int: (first: Int64, count: Int64, base: Int)] = [:]

        /// The KEYS index of an approx-distinct tile, or nil when no window reads it.
        func index(slot: Int, tile: Int64) -> Int? {
            guard let range = distinct[slot], tile >= range.first, tile < range.first + range.count else { return nil }
            return range.base + Int(tile - range.first)
        }
    }

    private func keys(entity: EntityKey, nowMs: Int64) -> Keys {
        let view = script.view
        var result = Keys(keys: [keyspace.stateKey(view: view.name, entity: entity), keyspace.vectorKey(view: view.name, entity: entity)])
        for slot in view.slots where slot.aggregation == .approxDistinct {
            let tileMs = slot.tileMs!
            let first = TileMath.firstTile(nowMs: nowMs, windowMs: slot.longestWindowMs, tileMs: tileMs)
            let last = TileMath.tileIndex(timeMs: nowMs + script.futureToleranceMs, tileMs: tileMs)
            result.distinct[slot.id] = (first, last - first + 1, result.keys.count + 1)
            let name = storageNames[slot.id]
            for tile in first...last {
                result.keys.append(keyspace.distinctKey(view: view.name, entity: entity, slot: name, tile: tile))
            }
            result.ranges += [String(first), String(last - first + 1)]
        }
        return result
    }

    /// A HyperLogLog lives one tile past the moment its tile leaves the slot's longest window
    /// (relative, so it holds whatever Redis's clock says).
    private func distinctTTL(_ add: EntityDelta.DistinctAdd, nowMs: Int64) -> String {
        let slot = script.view.slots[add.slot]
        let expiry = TileMath.expiryMs(tile: add.tile, tileMs: slot.tileMs!, windowMs: slot.longestWindowMs) + slot.tileMs!
        return String(max(expiry - nowMs, 1_000))
    }

    private static func sortedAdds(_ adds: Set<EntityDelta.DistinctAdd>) -> [EntityDelta.DistinctAdd] {
        adds.sorted { ($0.slot, $0.tile, $0.member) < ($1.slot, $1.tile, $1.member) }
    }

    /// Applies a delta, or (with no delta) recomputes the entity at `nowMs`.
    /// A delta's ops are sorted by cell, so equal deltas send equal commands.
    public func command(sha: String, entity: EntityKey, delta: EntityDelta?, nowMs: Int64) -> [String] {
        let keys = keys(entity: entity, nowMs: nowMs)
        var ops: [String] = []
        if let delta {
            for (cell, amount) in delta.counts.sorted(by: { $0.key < $1.key }) { ops += ["i", field(cell), String(amount), ""] }
            for (cell, amount) in delta.sums.sorted(by: { $0.key < $1.key }) { ops += ["f", field(cell), String(amount), ""] }
            for (cell, value) in delta.minimums.sorted(by: { $0.key < $1.key }) { ops += ["<", field(cell), String(value), ""] }
            for (cell, value) in delta.maximums.sorted(by: { $0.key < $1.key }) { ops += [">", field(cell), String(value), ""] }
            for (cell, timed) in delta.lasts.sorted(by: { $0.key < $1.key }) {
                ops += ["L", field(cell), String(timed.value), String(timed.timeMs)]
            }
            for add in Self.sortedAdds(delta.distinctAdds) {
                guard let index = keys.index(slot: add.slot, tile: add.tile) else { continue }
                ops += ["H", String(index), add.member, distinctTTL(add, nowMs: nowMs)]
            }
        }
        guard let delta else {
            let head = ["", "0", "0", String(nowMs), "0", String(ops.count / 4)]
            return ["EVALSHA", sha, String(keys.keys.count)] + keys.keys + head + ops + keys.ranges
        }
        let offsets = delta.offsets.sorted { $0.partition < $1.partition }
        let head = [
            offsets.map { String($0.partition) }.joined(separator: ","), offsets.map { String($0.first) }.joined(separator: ","),
            offsets.map { String($0.last) }.joined(separator: ","), String(nowMs), String(delta.newestEventMs), String(ops.count / 4),
        ]
        return ["EVALSHA", sha, String(keys.keys.count)] + keys.keys + head + ops + keys.ranges + contributions(delta, nowMs: nowMs)
    }

    /// Replaces the rebuilt slots of an entity with a backfill's values, if its fences
    /// are still those the backfill read.
    public func command(sha: String, rebuild: EntityRebuild, nowMs: Int64) -> [String] {
        let view = script.view
        let keys = keys(entity: rebuild.entity, nowMs: nowMs)
        var ops: [String] = []
        for range in rebuild.clearedTiles {
            let slot = view.slots[range.slot]
            if slot.aggregation == .approxDistinct {
                for tile in stride(from: range.first, through: range.last, by: 1) {
                    if let index = keys.index(slot: slot.id, tile: tile) { ops += ["D", String(index), "", ""] }
                }
            } else {
                ops += ["C", slot.storageName, String(range.first), String(range.last)]
            }
        }
        for slot in rebuild.clearedLifetimeSlots { ops += ["X", view.slots[slot].storageName, "", ""] }
        // Counts as integers: ingestion goes on adding to them with HINCRBY.
        for (field, count) in rebuild.counts.sorted(by: { $0.key < $1.key }) { ops += ["S", field, String(count), ""] }
        for (field, value) in rebuild.values.sorted(by: { $0.key < $1.key }) { ops += ["S", field, String(value), ""] }
        for (field, timed) in rebuild.lasts.sorted(by: { $0.key < $1.key }) {
            ops += ["T", field, String(timed.value), String(timed.timeMs)]
        }
        for add in Self.sortedAdds(rebuild.distinctMembers) {
            guard let index = keys.index(slot: add.slot, tile: add.tile) else { continue }
            ops += ["H", String(index), add.member, distinctTTL(add, nowMs: nowMs)]
        }
        let fences = rebuild.fences.map { "\($0.partition)=\($0.expected ?? "")>\($0.cutoff)" }.joined(separator: ";")
        let writesNothing = rebuild.counts.isEmpty && rebuild.values.isEmpty && rebuild.lasts.isEmpty && rebuild.distinctMembers.isEmpty
        let head = ["*", fences, writesNothing ? "1" : "0", String(nowMs), String(rebuild.newestEventMs), String(ops.count / 4)]
        return ["EVALSHA", sha, String(keys.keys.count)] + keys.keys + head + ops + keys.ranges
    }
}
