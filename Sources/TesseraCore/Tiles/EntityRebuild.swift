/// What a backfill writes for one entity of one view: the recomputed contents of the
/// slots it rebuilds, replacing what Redis holds, behind a compare-and-set of the
/// entity's offset fences (so a stream update that lands meanwhile is never lost or
/// counted twice: the write is refused and the backfill recomputes the entity).
public struct EntityRebuild: Sendable, Equatable {
    /// The fence the backfill read for a partition (nil = none) and the offset its
    /// recomputation covers (every logged event of the partition up to it).
    public struct Fence: Sendable, Equatable {
        public var partition: Int32
        public var expected: String?
        public var cutoff: Int64

        public init(partition: Int32, expected: String?, cutoff: Int64) {
            self.partition = partition
            self.expected = expected
            self.cutoff = cutoff
        }
    }

    /// Tiles `first...last` of a slot, cleared before the new values are written.
    public struct TileRange: Sendable, Equatable {
        public var slot: Int
        public var first: Int64
        public var last: Int64

        public init(slot: Int, first: Int64, last: Int64) {
            self.slot = slot
            self.first = first
            self.last = last
        }
    }

    public var entity: EntityKey
    public var fences: [Fence] = []
    /// Tile ranges of windowed slots being rebuilt, approx-distinct ones included.
    public var clearedTiles: [TileRange] = []
    /// Lifetime slots being rebuilt (by slot id).
    public var clearedLifetimeSlots: [Int] = []
    /// Hash field → value, tiles and lifetime alike: counts stay integers (ingestion adds
    /// to them with HINCRBY); sums, minimums and maximums are floats.
    public var counts: [String: Int64] = [:]
    public var values: [String: Double] = [:]
    public var lasts: [String: EntityDelta.TimedValue] = [:]
    public var distinctMembers: Set<EntityDelta.DistinctAdd> = []
    /// Newest event time over the recomputed events (0 = none).
    public var newestEventMs: Int64 = 0
    /// Times at which a rebuilt tile leaves one of the view's windows.
    public var rollBoundaries: Set<Int64> = []
    /// Events the recomputation read, for progress reports.
    public var eventCount: Int64 = 0

    public init(entity: EntityKey) { self.entity = entity }
}
