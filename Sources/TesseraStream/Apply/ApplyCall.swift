import TesseraCore

/// Builds the EVALSHA command for one entity: a delta to apply, or (with no delta) a
/// recompute at `nowMs`.
public struct ApplyCall: Sendable {
    public let script: ApplyScript
    public let keyspace: RedisKeyspace

    public init(script: ApplyScript, keyspace: RedisKeyspace) {
        self.script = script
        self.keyspace = keyspace
    }

    public func command(sha: String, entity: EntityKey, delta: EntityDelta?, nowMs: Int64) -> [String] {
        let view = script.view
        var keys = [keyspace.stateKey(view: view.name, entity: entity), keyspace.vectorKey(view: view.name, entity: entity)]
        var ranges: [String] = []
        var distinctKeyIndex: [Int: (first: Int64, count: Int64, base: Int)] = [:]
        for slot in view.slots where slot.aggregation == .approxDistinct {
            let tileMs = slot.tileMs!
            let first = TileMath.firstTile(nowMs: nowMs, windowMs: slot.longestWindowMs, tileMs: tileMs)
            let last = TileMath.tileIndex(timeMs: nowMs + script.futureToleranceMs, tileMs: tileMs)
            distinctKeyIndex[slot.id] = (first, last - first + 1, keys.count + 1)
            for tile in first...last {
                keys.append(keyspace.distinctKey(view: view.name, entity: entity, slot: slot.storageName, tile: tile))
            }
            ranges += [String(first), String(last - first + 1)]
        }

        var ops: [String] = []
        if let delta {
            for (field, amount) in delta.counts.sorted(by: { $0.key < $1.key }) { ops += ["i", field, String(amount), ""] }
            for (field, amount) in delta.sums.sorted(by: { $0.key < $1.key }) { ops += ["f", field, String(amount), ""] }
            for (field, value) in delta.minimums.sorted(by: { $0.key < $1.key }) { ops += ["<", field, String(value), ""] }
            for (field, value) in delta.maximums.sorted(by: { $0.key < $1.key }) { ops += [">", field, String(value), ""] }
            for (field, timed) in delta.lasts.sorted(by: { $0.key < $1.key }) {
                ops += ["L", field, String(timed.value), String(timed.timeMs)]
            }
            for add in delta.distinctAdds.sorted(by: { ($0.slot, $0.tile, $0.member) < ($1.slot, $1.tile, $1.member) }) {
                guard let range = distinctKeyIndex[add.slot], add.tile >= range.first, add.tile < range.first + range.count else { continue }
                let slot = view.slots[add.slot]
                // Relative, so it holds whatever Redis's clock says; one tile of slack past the window.
                let expiry = TileMath.expiryMs(tile: add.tile, tileMs: slot.tileMs!, windowMs: slot.longestWindowMs) + slot.tileMs!
                ops += ["H", String(range.base + Int(add.tile - range.first)), add.member, String(max(expiry - nowMs, 1_000))]
            }
        }

        var command = ["EVALSHA", sha, String(keys.count)] + keys
        command += [
            delta.map { String($0.partition) } ?? "", String(delta?.firstOffset ?? 0), String(delta?.lastOffset ?? 0),
            String(nowMs), String(delta?.newestEventMs ?? 0), String(ops.count / 4),
        ]
        return command + ops + ranges
    }
}
