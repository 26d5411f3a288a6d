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

/// The vector keys one lookup reads, each once: a user repeated on every row is read once.
public struct VectorReads: Sendable {
    /// Packed in one buffer: the MGET's arguments as they go to Redis.
    public private(set) var keys = ByteStrings()
    /// Per view, per row: the index of its key in `keys`.
    var rowKeys: [[Int]] = []
    /// Per key: the view it belongs to.
    var keyViews: [Int] = []

    public init(plan: LookupPlan, keyspace: RedisKeyspace) {
        // Each entity's rows are reduced to its distinct entities once, for all its views.
        let distinct = plan.entityRows.map(Self.distinct)
        let keyCount = plan.viewEntities.reduce(0) { $0 + distinct[$1].entities.count }
        keys = ByteStrings(reservingCount: keyCount, bytes: keyCount * 48)
        for (viewIndex, view) in plan.views.enumerated() {
            let (rows, entities) = distinct[plan.viewEntities[viewIndex]]
            let first = keys.count
            let head = keyspace.vectorKeyHead(view: view.name)
            for entity in entities {
                keys.append { RedisKeyspace.appendVectorKey(head: head, entity: entity, to: &$0) }
                keyViews.append(viewIndex)
            }
            rowKeys.append(rows.map { first + $0 })
        }
    }

    /// Per row, the index of its entity among the distinct ones (in first-seen order), and those.
    private static func distinct(_ rows: [EntityKey]) -> (rows: [Int], entities: [EntityKey]) {
        var seen: [EntityKey: Int] = [:]
        seen.reserveCapacity(rows.count)
        var entities: [EntityKey] = []
        var indexes: [Int] = []
        indexes.reserveCapacity(rows.count)
        for (row, entity) in rows.enumerated() {
            // A row repeating the one before (a user on every row) needs no hashing.
            if row > 0, entity == rows[row - 1] {
                indexes.append(indexes[row - 1])
            } else if let index = seen[entity] {
                indexes.append(index)
            } else {
                seen[entity] = entities.count
                indexes.append(entities.count)
                entities.append(entity)
            }
        }
        return (indexes, entities)
    }
}
