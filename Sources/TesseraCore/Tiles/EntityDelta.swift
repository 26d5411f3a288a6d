/// What one batch changes for one entity of one view, from one source partition:
/// the unit the Redis apply script executes atomically behind its offset fence.
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

    public var entity: EntityKey
    public var partition: Int32
    /// Offsets of the first and last event folded in; the fence compares against both.
    public var firstOffset: Int64
    public var lastOffset: Int64
    public var eventCount = 0
    public var newestEventMs: Int64 = 0
    /// Hash field → amount: counts stay integers in Redis (HINCRBY), sums are floats.
    public var counts: [String: Int64] = [:]
    public var sums: [String: Double] = [:]
    public var minimums: [String: Double] = [:]
    public var maximums: [String: Double] = [:]
    public var lasts: [String: TimedValue] = [:]
    public var distinctAdds: Set<DistinctAdd> = []
    /// Times at which a tile this delta touched leaves one of the view's windows.
    public var rollBoundaries: Set<Int64> = []

    public init(entity: EntityKey, partition: Int32, firstOffset: Int64, lastOffset: Int64) {
        self.entity = entity
        self.partition = partition
        self.firstOffset = firstOffset
        self.lastOffset = lastOffset
    }
}
