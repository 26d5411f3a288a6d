import TesseraCore
import TesseraRedis

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

    /// The cell's field in the state hash, appended as bytes.
    private func appendField(_ cell: EntityDelta.Cell, to bytes: inout [UInt8]) {
        if let tile = cell.tile {
            RedisKeyspace.appendTileField(slot: storageNames[cell.slot], tile: tile, to: &bytes)
        } else {
            bytes.append(contentsOf: RedisKeyspace.lifetimeField(slot: storageNames[cell.slot]).utf8)
        }
    }

    /// What the delta adds to each in-place feature at `nowMs` (see `ApplyScript`): the sum
    /// of its counts or sums, or the least or greatest of its values, over the tiles the
    /// feature's window reads then; "" for a minimum or maximum the delta has no value for.
    private func appendContributions(_ delta: EntityDelta, nowMs: Int64, to command: inout ByteStrings) {
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
        for index in inPlaceFeatures.indices {
            switch script.view.slots[inPlaceFeatures[index].slot].aggregation {
            case .count: command.append(writing: { DecimalText.append(counts[index], to: &$0) })
            case .sum: command.append(String(totals[index]).utf8)
            default: command.append((extremes[index].map { String($0) } ?? "").utf8)
            }
        }
    }

    /// The keys one call touches: state, vector, then every approx-distinct tile the
    /// windows read at `nowMs` (per slot, first tile to last). Worked out before any key is
    /// written, because the key count comes first.
    private struct KeyLayout {
        struct DistinctTiles {
            var slot: Int
            var first: Int64
            var count: Int64
            /// The KEYS index (from 1, as Lua counts) of the first tile's key.
            var base: Int
        }
        var distinct: [DistinctTiles] = []
        var count = 2

        /// The KEYS index of an approx-distinct tile, or nil when no window reads it.
        func index(slot: Int, tile: Int64) -> Int? {
            guard let range = distinct.first(where: { $0.slot == slot }), tile >= range.first, tile < range.first + range.count else { return nil }
            return range.base + Int(tile - range.first)
        }
    }

    private func keyLayout(nowMs: Int64) -> KeyLayout {
        var layout = KeyLayout()
        for slot in script.view.slots where slot.aggregation == .approxDistinct {
            let tileMs = slot.tileMs!
            let first = TileMath.firstTile(nowMs: nowMs, windowMs: slot.longestWindowMs, tileMs: tileMs)
            let last = TileMath.tileIndex(timeMs: nowMs + script.futureToleranceMs, tileMs: tileMs)
            layout.distinct.append(.init(slot: slot.id, first: first, count: last - first + 1, base: layout.count + 1))
            layout.count += Int(last - first + 1)
        }
        return layout
    }

    /// EVALSHA, the SHA, the key count and the keys of `layout`, for `entity`.
    private func appendHead(sha: String, layout: KeyLayout, entity: EntityKey, to command: inout ByteStrings) {
        let view = script.view.name
        command.append("EVALSHA".utf8)
        command.append(sha.utf8)
        command.append(writing: { DecimalText.append(Int64(layout.count), to: &$0) })
        command.append(writing: { keyspace.appendStateKey(view: view, entity: entity, to: &$0) })
        command.append(writing: { keyspace.appendVectorKey(view: view, entity: entity, to: &$0) })
        var stem: [UInt8] = []
        for range in layout.distinct {
            stem.removeAll(keepingCapacity: true)
            keyspace.appendDistinctKeyStem(view: view, entity: entity, slot: storageNames[range.slot], to: &stem)
            for tile in range.first..<(range.first + range.count) {
                command.append(writing: { key in
                    key.append(contentsOf: stem)
                    DecimalText.append(tile, to: &key)
                })
            }
        }
    }

    /// Per approx-distinct slot: its first tile and tile count, as the script reads them.
    private func appendRanges(_ layout: KeyLayout, to command: inout ByteStrings) {
        for range in layout.distinct {
            command.append(writing: { DecimalText.append(range.first, to: &$0) })
            command.append(writing: { DecimalText.append(range.count, to: &$0) })
        }
    }

    /// A HyperLogLog lives one tile past the moment its tile leaves the slot's longest window
    /// (relative, so it holds whatever Redis's clock says).
    private func distinctTTL(_ add: EntityDelta.DistinctAdd, nowMs: Int64) -> Int64 {
        let slot = script.view.slots[add.slot]
        let expiry = TileMath.expiryMs(tile: add.tile, tileMs: slot.tileMs!, windowMs: slot.longestWindowMs) + slot.tileMs!
        return max(expiry - nowMs, 1_000)
    }

    private static func sortedAdds(_ adds: Set<EntityDelta.DistinctAdd>) -> [EntityDelta.DistinctAdd] {
        adds.sorted { ($0.slot, $0.tile, $0.member) < ($1.slot, $1.tile, $1.member) }
    }

    /// Applies a delta, or (with no delta) recomputes the entity at `nowMs`, as the packed
    /// arguments of one EVALSHA. A delta's ops are sorted by cell, so equal deltas send equal
    /// commands.
    public func command(sha: String, entity: EntityKey, delta: EntityDelta?, nowMs: Int64) -> ByteStrings {
        let layout = keyLayout(nowMs: nowMs)
        var command = ByteStrings(reservingCount: layout.count + 64, bytes: 64 * (layout.count + 16))
        appendHead(sha: sha, layout: layout, entity: entity, to: &command)
        guard let delta else {
            for argument in ["", "0", "0", String(nowMs), "0", "0"] { command.append(argument.utf8) }
            appendRanges(layout, to: &command)
            return command
        }
        let offsets = delta.offsets.sorted { $0.partition < $1.partition }
        let adds = Self.sortedAdds(delta.distinctAdds).compactMap { add in layout.index(slot: add.slot, tile: add.tile).map { (add, $0) } }
        let opCount = delta.counts.count + delta.sums.count + delta.minimums.count + delta.maximums.count + delta.lasts.count + adds.count
        command.append(offsets.map { String($0.partition) }.joined(separator: ",").utf8)
        command.append(offsets.map { String($0.first) }.joined(separator: ",").utf8)
        command.append(offsets.map { String($0.last) }.joined(separator: ",").utf8)
        command.append(writing: { DecimalText.append(nowMs, to: &$0) })
        command.append(writing: { DecimalText.append(delta.newestEventMs, to: &$0) })
        command.append(writing: { DecimalText.append(Int64(opCount), to: &$0) })

        func op(_ code: String, _ cell: EntityDelta.Cell, _ value: String, _ extra: String = "") {
            command.append(code.utf8)
            command.append(writing: { appendField(cell, to: &$0) })
            command.append(value.utf8)
            command.append(extra.utf8)
        }
        for (cell, amount) in delta.counts.sorted(by: { $0.key < $1.key }) {
            command.append("i".utf8)
            command.append(writing: { appendField(cell, to: &$0) })
            command.append(writing: { DecimalText.append(amount, to: &$0) })
            command.append([])
        }
        for (cell, amount) in delta.sums.sorted(by: { $0.key < $1.key }) { op("f", cell, String(amount)) }
        for (cell, value) in delta.minimums.sorted(by: { $0.key < $1.key }) { op("<", cell, String(value)) }
        for (cell, value) in delta.maximums.sorted(by: { $0.key < $1.key }) { op(">", cell, String(value)) }
        for (cell, timed) in delta.lasts.sorted(by: { $0.key < $1.key }) { op("L", cell, String(timed.value), String(timed.timeMs)) }
        for (add, index) in adds {
            command.append("H".utf8)
            command.append(writing: { DecimalText.append(Int64(index), to: &$0) })
            command.append(add.member.utf8)
            command.append(writing: { DecimalText.append(distinctTTL(add, nowMs: nowMs), to: &$0) })
        }
        appendRanges(layout, to: &command)
        appendContributions(delta, nowMs: nowMs, to: &command)
        return command
    }

    /// Replaces the rebuilt slots of an entity with a backfill's values, if its fences
    /// are still those the backfill read.
    public func command(sha: String, rebuild: EntityRebuild, nowMs: Int64) -> ByteStrings {
        let view = script.view
        let layout = keyLayout(nowMs: nowMs)
        var ops: [String] = []
        for range in rebuild.clearedTiles {
            let slot = view.slots[range.slot]
            if slot.aggregation == .approxDistinct {
                for tile in stride(from: range.first, through: range.last, by: 1) {
                    if let index = layout.index(slot: slot.id, tile: tile) { ops += ["D", String(index), "", ""] }
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
            guard let index = layout.index(slot: add.slot, tile: add.tile) else { continue }
            ops += ["H", String(index), add.member, String(distinctTTL(add, nowMs: nowMs))]
        }
        let fences = rebuild.fences.map { "\($0.partition)=\($0.expected ?? "")>\($0.cutoff)" }.joined(separator: ";")
        let writesNothing = rebuild.counts.isEmpty && rebuild.values.isEmpty && rebuild.lasts.isEmpty && rebuild.distinctMembers.isEmpty
        let head = ["*", fences, writesNothing ? "1" : "0", String(nowMs), String(rebuild.newestEventMs), String(ops.count / 4)]
        var command = ByteStrings(reservingCount: layout.count + head.count + ops.count + 8, bytes: 64 * (layout.count + 16))
        appendHead(sha: sha, layout: layout, entity: rebuild.entity, to: &command)
        for argument in head + ops { command.append(argument.utf8) }
        appendRanges(layout, to: &command)
        return command
    }
}
