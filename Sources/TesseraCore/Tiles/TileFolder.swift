/// An event together with where it came from, as ingestion sees it.
public struct SourcedEvent: Sendable {
    public var event: ClickEvent
    public var partition: Int32
    public var offset: Int64

    public init(event: ClickEvent, partition: Int32, offset: Int64) {
        self.event = event
        self.partition = partition
        self.offset = offset
    }
}

/// Folds a batch of events into one delta per entity for one view, so a hot entity costs
/// one Redis script call per batch however many events and source partitions it had.
public struct TileFolder: Sendable {
    public let view: StreamView
    /// Per event type (`EventType.allCases` order), the slots that take its events, with
    /// what folding needs of each: looked up once here, not per event (a `Set` lookup per
    /// slot and event was a fifth of the fold).
    private let slotsByType: [[SlotRule]]
    /// Tile length and longest window of each windowed slot, for the too-old check.
    private let windowedSlots: [(tileMs: Int64, longestWindowMs: Int64)]
    /// Slots with no window: they take every event, however old.
    private let lifetimeSlots: [AggregationSlot]

    private struct SlotRule: Sendable {
        var id: Int
        var aggregation: Aggregation
        var field: EventField?
        var tileMs: Int64?
        var longestWindowMs: Int64
        /// The windows whose expiry each touched tile schedules.
        var windows: [Int64]
    }

    public init(view: StreamView) {
        self.view = view
        slotsByType = EventType.allCases.map { type in
            view.slots.filter { $0.accepts(type) }.map { slot in
                SlotRule(id: slot.id, aggregation: slot.aggregation, field: slot.field, tileMs: slot.tileMs,
                         longestWindowMs: slot.longestWindowMs, windows: view.windows(ofSlot: slot.id))
            }
        }
        windowedSlots = view.slots.compactMap { slot in slot.tileMs.map { ($0, slot.longestWindowMs) } }
        lifetimeSlots = view.slots.filter { $0.tileMs == nil }
    }

    /// True when the event can no longer change any window of this view at `nowMs`.
    public func isTooOld(_ event: ClickEvent, nowMs: Int64) -> Bool {
        guard !windowedSlots.isEmpty else { return false }
        return windowedSlots.allSatisfy { slot in
            let tile = TileMath.tileIndex(timeMs: event.timestampMs, tileMs: slot.tileMs)
            return TileMath.expiryMs(tile: tile, tileMs: slot.tileMs, windowMs: slot.longestWindowMs) <= nowMs
        }
    }

    /// True when the event changes nothing in this view at `nowMs`: too old for every
    /// window and taken by no lifetime aggregate. Lifetime aggregates take every event,
    /// however late, so they equal a recomputation from the event log whatever the
    /// arrival times were.
    public func ignores(_ event: ClickEvent, nowMs: Int64) -> Bool {
        isTooOld(event, nowMs: nowMs) && !lifetimeSlots.contains { $0.accepts(event) }
    }

    public struct Result: Sendable {
        public var deltas: [EntityDelta]
        /// Events this view ignored: older than all its windows and no lifetime aggregate takes them.
        public var tooOld: Int
        /// Events lacking one of the view's join keys (e.g. no query for query_product_stats).
        public var unkeyed: Int
        /// Per event, in input order: whether it went into a delta.
        public var used: [Bool]
    }

    private struct GroupKey: Hashable {
        var entity: EntityKey
        /// Set only when folding one delta per (entity, partition).
        var partition: Int32?
    }

    /// `perPartition` folds one delta per (entity, source partition) instead of one per
    /// entity: the fallback when one entity's fences disagree across partitions. An array, not
    /// any sequence: a generic fold called from another module is not specialised there, and
    /// copied every event through its value witnesses (a third more mallocs).
    public func fold(_ events: [SourcedEvent], nowMs: Int64, perPartition: Bool = false) -> Result {
        var deltas: [EntityDelta] = []
        var deltaIndex: [GroupKey: Int] = [:]
        var tooOld = 0
        var unkeyed = 0
        var used: [Bool] = []
        used.reserveCapacity(events.underestimatedCount)

        for sourced in events {
            let event = sourced.event
            guard let entity = view.entity.key(of: event) else { unkeyed += 1; used.append(false); continue }
            if ignores(event, nowMs: nowMs) { tooOld += 1; used.append(false); continue }
            used.append(true)
            let groupKey = GroupKey(entity: entity, partition: perPartition ? sourced.partition : nil)
            let index: Int
            if let known = deltaIndex[groupKey] {
                index = known
            } else {
                index = deltas.count
                deltaIndex[groupKey] = index
                deltas.append(EntityDelta(entity: entity, offsets: []))
            }
            add(event, offset: sourced.offset, partition: sourced.partition, nowMs: nowMs, to: &deltas[index])
        }
        return Result(deltas: deltas, tooOld: tooOld, unkeyed: unkeyed, used: used)
    }

    private func add(_ event: ClickEvent, offset: Int64, partition: Int32, nowMs: Int64, to delta: inout EntityDelta) {
        delta.take(offset: offset, partition: partition)
        delta.eventCount += 1
        delta.newestEventMs = max(delta.newestEventMs, event.timestampMs)

        for slot in slotsByType[event.type.ordinal] {
            var cell = EntityDelta.Cell(slot: slot.id, tile: nil)
            if let tileMs = slot.tileMs {
                let tile = TileMath.tileIndex(timeMs: event.timestampMs, tileMs: tileMs)
                // A tile outside every window of this slot would never be read.
                guard TileMath.expiryMs(tile: tile, tileMs: tileMs, windowMs: slot.longestWindowMs) > nowMs else { continue }
                for windowMs in slot.windows {
                    let boundary = TileMath.expiryMs(tile: tile, tileMs: tileMs, windowMs: windowMs)
                    if boundary > nowMs { delta.rollBoundaries.insert(boundary) }
                }
                if slot.aggregation == .approxDistinct {
                    if let member = slot.field?.text(in: event) {
                        delta.distinctAdds.insert(.init(slot: slot.id, tile: tile, member: member))
                    }
                    continue
                }
                cell.tile = tile
            }

            switch slot.aggregation {
            case .count:
                delta.counts[cell, default: 0] += 1
            case .sum:
                if let value = slot.field?.number(in: event) { delta.sums[cell, default: 0] += value }
            case .min:
                if let value = slot.field?.number(in: event) { delta.minimums[cell] = min(delta.minimums[cell] ?? value, value) }
            case .max:
                if let value = slot.field?.number(in: event) { delta.maximums[cell] = max(delta.maximums[cell] ?? value, value) }
            case .last:
                if let value = slot.field?.number(in: event) {
                    let candidate = EntityDelta.TimedValue(timeMs: event.timestampMs, value: value)
                    if delta.lasts[cell].map({ candidate.supersedes($0) }) ?? true { delta.lasts[cell] = candidate }
                }
            case .approxDistinct:
                break  // handled above: HyperLogLogs live in keys of their own
            }
        }
    }
}
