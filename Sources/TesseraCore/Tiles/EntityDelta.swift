/// What one batch changes for one entity of one view: the unit the Redis apply script
/// executes atomically behind the entity's offset fences, one per source partition the
/// events came from.
public struct EntityDelta: Sendable, Equatable {
    public struct DistinctAdd: Sendable, Hashable {
        public var slot: Int
        public var tile: Int64
        public var member: String

        public init(slot: Int, tile: Int64, member: String) {
            self.slot = slot
            self.tile = tile
            self.member = member
        }
    }

    public struct TimedValue: Sendable, Equatable {
        public var timeMs: Int64
        public var value: Double

        public init(timeMs: Int64, value: Double) {
            self.timeMs = timeMs
            self.value = value
        }

        /// The later event wins; on equal event times the larger value, so the result
        /// never depends on arrival order (the apply script and the reference agree).
        public func supersedes(_ other: TimedValue) -> Bool {
            timeMs != other.timeMs ? timeMs > other.timeMs : value > other.value
        }
    }

    /// One stored aggregate: a slot's tile, or (tile nil) a lifetime slot's single value.
    /// Named in Redis by `RedisKeyspace.tileField` / `lifetimeField` only when sent.
    public struct Cell: Sendable, Hashable, Comparable {
        public var slot: Int
        public var tile: Int64?

        public init(slot: Int, tile: Int64?) {
            self.slot = slot
            self.tile = tile
        }

        public static func < (a: Cell, b: Cell) -> Bool {
            a.slot != b.slot ? a.slot < b.slot : (a.tile ?? .min) < (b.tile ?? .min)
        }
    }

    /// Offsets of the first and last event folded in from one source partition; the
    /// partition's fence compares against both.
    public struct OffsetRange: Sendable, Equatable {
        public var partition: Int32
        public var first: Int64
        public var last: Int64

        public init(partition: Int32, first: Int64, last: Int64) {
            self.partition = partition
            self.first = first
            self.last = last
        }
    }

    public var entity: EntityKey
    /// One range per source partition, in the order the partitions first appeared.
    public var offsets: [OffsetRange]
    public var eventCount = 0
    public var newestEventMs: Int64 = 0
    /// Cell → amount: counts stay integers in Redis (HINCRBY), sums are floats.
    public var counts: [Cell: Int64] = [:]
    public var sums: [Cell: Double] = [:]
    public var minimums: [Cell: Double] = [:]
    public var maximums: [Cell: Double] = [:]
    public var lasts: [Cell: TimedValue] = [:]
    public var distinctAdds: Set<DistinctAdd> = []
    /// Times at which a tile this delta touched leaves one of the view's windows.
    public var rollBoundaries: Set<Int64> = []

    public init(entity: EntityKey, offsets: [OffsetRange]) {
        self.entity = entity
        self.offsets = offsets
    }

    /// Widens the partition's range to take `offset`.
    public mutating func take(offset: Int64, partition: Int32) {
        if let index = offsets.firstIndex(where: { $0.partition == partition }) {
            offsets[index].first = min(offsets[index].first, offset)
            offsets[index].last = max(offsets[index].last, offset)
        } else {
            offsets.append(OffsetRange(partition: partition, first: offset, last: offset))
        }
    }
}
