import NIOCore
import TesseraCore
import TesseraRedis

/// Answers a validated lookup from packed vectors: one Redis round trip, then
/// column-major results in Feast's shape.
struct FeatureLookup: Sendable {
    let keyspace: RedisKeyspace
    let store: VectorStore

    func respond(to plan: LookupPlan, nowMs: Int64) async throws -> ByteBuffer {
        let reads = VectorReads(plan: plan, keyspace: keyspace)
        let vectors = try await store.fetch(reads.keys)
        return LookupResponse.encode(plan, reads: reads, vectors: vectors, nowMs: nowMs)
    }
}

/// The vector keys one lookup reads. A row naming the same entity as the row before it (a
/// user on every row) reads that entity's vector once; rows further apart are not compared,
/// since hashing each row's key cost more than the few keys a ranking request repeats that way.
public struct VectorReads: Sendable {
    /// Packed in one buffer: the MGET's arguments as they go to Redis.
    public private(set) var keys = ByteStrings()
    /// Per view, per row: the index of its key in `keys`.
    var rowKeys: [[Int]] = []
    /// Per view: its keys' indexes in `keys`, one after another.
    var viewKeys: [Range<Int>] = []
    /// Per key: the view it belongs to.
    var keyViews: [Int] = []

    public init(plan: LookupPlan, keyspace: RedisKeyspace) {
        // Each entity's rows are reduced once, for all its views.
        let reduced = plan.entityRows.map(Self.reduced)
        let keyCount = plan.viewEntities.reduce(0) { $0 + reduced[$1].entities.count }
        keys = ByteStrings(reservingCount: keyCount, bytes: keyCount * 48)
        keyViews.reserveCapacity(keyCount)
        for (viewIndex, view) in plan.views.enumerated() {
            let (rows, entities) = reduced[plan.viewEntities[viewIndex]]
            let first = keys.count
            let head = keyspace.vectorKeyHead(view: view.name)
            for entity in entities {
                keys.append { RedisKeyspace.appendVectorKey(head: head, entity: entity, to: &$0) }
                keyViews.append(viewIndex)
            }
            viewKeys.append(first..<keys.count)
            rowKeys.append(rows.map { first + $0 })
        }
    }

    /// Per row, the index of its entity among `entities`: the rows' entities with a run of
    /// equal ones kept once.
    private static func reduced(_ rows: [EntityKey]) -> (rows: [Int], entities: [EntityKey]) {
        var entities: [EntityKey] = []
        var indexes: [Int] = []
        indexes.reserveCapacity(rows.count)
        for (row, entity) in rows.enumerated() {
            if row == 0 || entity != rows[row - 1] { entities.append(entity) }
            indexes.append(entities.count - 1)
        }
        return (indexes, entities)
    }
}
