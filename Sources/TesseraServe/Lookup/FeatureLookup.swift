import TesseraCore

/// Answers a validated lookup from packed vectors: one Redis round trip, then
/// column-major results in Feast's shape.
struct FeatureLookup: Sendable {
    let keyspace: RedisKeyspace
    let store: VectorStore

    func respond(to plan: LookupPlan, nowMs: Int64) async throws -> [UInt8] {
        let reads = VectorReads(plan: plan, keyspace: keyspace)
        let vectors = try await store.fetch(reads.keys)
        return LookupResponse.encode(plan, reads: reads, vectors: vectors, nowMs: nowMs)
    }
}

/// The vector keys one lookup reads, each once: a user repeated on every row is read once.
public struct VectorReads: Sendable {
    public private(set) var keys: [String] = []
    /// Per view, per row: the index of its key in `keys`.
    var rowKeys: [[Int]] = []
    /// Per key: the view it belongs to.
    var keyViews: [Int] = []

    public init(plan: LookupPlan, keyspace: RedisKeyspace) {
        for (viewIndex, view) in plan.views.enumerated() {
            var seen: [EntityKey: Int] = [:]
            rowKeys.append(plan.entities[viewIndex].map { entity in
                if let index = seen[entity] { return index }
                seen[entity] = keys.count
                keys.append(keyspace.vectorKey(view: view.name, entity: entity))
                keyViews.append(viewIndex)
                return keys.count - 1
            })
        }
    }
}
