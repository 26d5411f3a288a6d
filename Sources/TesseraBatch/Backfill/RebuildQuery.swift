import TesseraCore

/// The SQL that recomputes one view's rebuilt slots for a set of entities from the event
/// log, and the reading of its rows into `EntityRebuild`s. The aggregation runs in
/// PostgreSQL; only per-tile results cross the wire.
///
/// Only events the log holds up to each partition's cutoff offset count, so the result is
/// exactly the state after applying those events, whatever the stream does meanwhile.
struct RebuildQuery {
    let view: StreamView
    /// Windowed slots to rebuild and the tiles of each (non-empty ranges only).
    let tileRanges: [(slot: AggregationSlot, tiles: ClosedRange<Int64>)]
    /// Lifetime slots to rebuild: recomputed over the entity's whole history.
    let lifetimeSlots: [AggregationSlot]
    private let sql = EventSQL(alias: "e")

    /// The tiles rebuilt at `nowMs`: those a window still reads (up to the future
    /// tolerance ahead), within the request's event-time range if it has one.
    init(target: BackfillRequest.Target, fromMs: Int64?, toMs: Int64?, nowMs: Int64, futureToleranceMs: Int64) {
        view = target.view
        var ranges: [(AggregationSlot, ClosedRange<Int64>)] = []
        var lifetime: [AggregationSlot] = []
        for id in target.slots {
            let slot = view.slots[id]
            guard let tileMs = slot.tileMs else { lifetime.append(slot); continue }
            var first = TileMath.firstTile(nowMs: nowMs, windowMs: slot.longestWindowMs, tileMs: tileMs)
            var last = TileMath.tileIndex(timeMs: nowMs + futureToleranceMs, tileMs: tileMs)
            if let fromMs { first = max(first, TileMath.tileIndex(timeMs: fromMs, tileMs: tileMs)) }
            if let toMs { last = min(last, TileMath.tileIndex(timeMs: toMs - 1, tileMs: tileMs)) }
            // No range: every tile the request names has left the windows, nothing reads it.
            if first <= last { ranges.append((slot, first...last)) }
        }
        tileRanges = ranges
        lifetimeSlots = lifetime
    }

    var keyCount: Int { view.entity.joinKeys.count }

    /// Rows: join-key values, slot id (-1: the entity's event count and newest event time),
    /// tile (null for lifetime), value, event time (of a `last`, or the newest), member
    /// (an approx-distinct value).
    func text(entityCondition: String, cutoffs: [Int32: Int64]) -> String {
        let keys = sql.keyColumns(view.entity).joined(separator: ", ")
        let groupKeys = (1...keyCount).map(String.init).joined(separator: ", ")
        let logged = loggedCondition(cutoffs)
        let base = "from tessera.events e where (\(entityCondition)) and \(logged)"
        var parts: [String] = []
        for (slot, tiles) in tileRanges {
            let tileMs = slot.tileMs!
            let inTiles = "e.event_time >= \(timestamp(tiles.lowerBound * tileMs)) and e.event_time < \(timestamp((tiles.upperBound + 1) * tileMs))"
            let tile = sql.tile(tileMs: tileMs)
            if slot.aggregation == .approxDistinct {
                let member = sql.value(slot.field!)
                parts.append("""
                    select distinct \(keys), \(slot.id), \(tile), null::float8, null::bigint, \(member)::text \(base) \
                    and \(inTiles) and \(sql.accepts(slot)) and \(member) is not null
                    """)
            } else {
                parts.append("""
                    select \(keys), \(slot.id), \(tile), \(sql.aggregate(slot, where: "true")), \(lastTime(slot)), null::text \(base) \
                    and \(inTiles) and \(sql.accepts(slot)) group by \(groupKeys), \(keyCount + 2)
                    """)
            }
        }
        for slot in lifetimeSlots {
            parts.append("""
                select \(keys), \(slot.id), null::bigint, \(sql.aggregate(slot, where: "true")), \(lastTime(slot)), null::text \(base) \
                and \(sql.accepts(slot)) group by \(groupKeys)
                """)
        }
        parts.append("select \(keys), -1, null::bigint, count(*)::float8, max(\(sql.eventTimeMs)), null::text \(base) group by \(groupKeys)")
        return parts.joined(separator: "\nunion all\n")
    }

    /// Reads the rows into one rebuild per entity, clearing every rebuilt tile and slot
    /// first so what the log no longer supports disappears.
    func rebuilds(from rows: [[String?]], nowMs: Int64) throws -> [EntityRebuild] {
        var byEntity: [EntityKey: EntityRebuild] = [:]
        var order: [EntityKey] = []
        for row in rows {
            let entity = EntityKey(values: try (0..<keyCount).map { try column(row, $0, "join key") })
            if byEntity[entity] == nil {
                byEntity[entity] = cleared(entity)
                order.append(entity)
            }
            let slotID = try Int(column(row, keyCount, "slot")).orThrow("slot")
            let tile = try row[keyCount + 1].map { try Int64($0).orThrow("tile") }
            let value = try row[keyCount + 2].map { try Double($0).orThrow("value") }
            let time = try row[keyCount + 3].map { try Int64($0).orThrow("time") }
            let member = row[keyCount + 4]
            if slotID == -1 {
                byEntity[entity]!.eventCount = Int64(value ?? 0)
                byEntity[entity]!.newestEventMs = time ?? 0
                continue
            }
            let slot = view.slots[slotID]
            if let tile, let member {
                byEntity[entity]!.distinctMembers.insert(.init(slot: slotID, tile: tile, member: member))
            } else if let value {
                let field = tile.map { RedisKeyspace.tileField(slot: slot.storageName, tile: $0) } ?? RedisKeyspace.lifetimeField(slot: slot.storageName)
                switch slot.aggregation {
                case .count: byEntity[entity]!.counts[field] = Int64(value)
                case .last: byEntity[entity]!.lasts[field] = .init(timeMs: try time.orThrow("time of last"), value: value)
                default: byEntity[entity]!.values[field] = value
                }
            } else {
                continue  // no value (min, max, last of no number): the field stays cleared
            }
            if let tile {
                for windowMs in view.windows(ofSlot: slotID) {
                    let boundary = TileMath.expiryMs(tile: tile, tileMs: slot.tileMs!, windowMs: windowMs)
                    if boundary > nowMs { byEntity[entity]!.rollBoundaries.insert(boundary) }
                }
            }
        }
        return order.map { byEntity[$0]! }
    }

    private func cleared(_ entity: EntityKey) -> EntityRebuild {
        var rebuild = EntityRebuild(entity: entity)
        rebuild.clearedTiles = tileRanges.map { .init(slot: $0.slot.id, first: $0.tiles.lowerBound, last: $0.tiles.upperBound) }
        rebuild.clearedLifetimeSlots = lifetimeSlots.map(\.id)
        return rebuild
    }

    /// Only the events the log holds up to each partition's cutoff.
    private func loggedCondition(_ cutoffs: [Int32: Int64]) -> String {
        guard !cutoffs.isEmpty else { return "false" }
        let cases = cutoffs.sorted { $0.key < $1.key }.map { "when \($0.key) then \($0.value)" }.joined(separator: " ")
        return "e.source_offset <= (case e.source_partition \(cases) else -1 end)"
    }

    /// The event time of the value a `last` keeps: the latest event with a value (ties
    /// go to the larger value, which `EventSQL.aggregate` picks among equal times).
    private func lastTime(_ slot: AggregationSlot) -> String {
        guard slot.aggregation == .last, let field = slot.field else { return "null::bigint" }
        return "max(\(sql.eventTimeMs)) filter (where \(sql.value(field)) is not null)"
    }

    private func timestamp(_ ms: Int64) -> String { "(timestamptz 'epoch' + \(ms) * interval '1 millisecond')" }

    private func column(_ row: [String?], _ index: Int, _ name: String) throws -> String {
        guard index < row.count, let value = row[index] else { throw BackfillError("rebuild query returned no \(name)") }
        return value
    }
}

extension Optional {
    func orThrow(_ name: String) throws -> Wrapped {
        guard let self else { throw BackfillError("rebuild query returned an unreadable \(name)") }
        return self
    }
}
