import TesseraCore
import TesseraStream

/// A backfill cut into chunks: contiguous ranges of entity keys of one view, each small
/// enough to recompute in one query and write in one Redis round trip.
public struct BackfillPlan: Sendable {
    public struct Chunk: Sendable, Equatable {
        public var number: Int
        public var view: String
        public var firstKey: EntityKey
        public var lastKey: EntityKey
        public var entities: Int
        /// Events of these entities in the request's range (what progress counts).
        public var events: Int64
    }

    public var chunks: [Chunk]

    public var entities: Int { chunks.reduce(0) { $0 + $1.entities } }
    public var events: Int64 { chunks.reduce(0) { $0 + $1.events } }

    public func chunks(of view: String) -> [Chunk] { chunks.filter { $0.view == view } }
}

/// Cuts a request into chunks from the entities the log holds, read through a cursor so a
/// log of any size plans in bounded memory.
struct BackfillPlanner {
    var maxEntitiesPerChunk = 1_000
    var maxEventsPerChunk: Int64 = 200_000
    private let sql = EventSQL(alias: "e")

    func plan(_ request: BackfillRequest, nowMs: Int64, database: BatchDatabase) throws -> BackfillPlan {
        var chunks: [BackfillPlan.Chunk] = []
        for target in request.targets {
            let view = target.view
            let keys = sql.keyColumns(view.entity)
            let keyCount = keys.count
            let text = """
                select \(keys.joined(separator: ", ")), count(*) from tessera.events e \
                where \(keys.map { "\($0) is not null" }.joined(separator: " and ")) and \(timeCondition(request, view: view, nowMs: nowMs)) \
                group by \(keys.joined(separator: ", ")) order by \(keys.joined(separator: ", "))
                """
            var current: BackfillPlan.Chunk?
            try database.forEachRow(of: text) { row in
                let entity = EntityKey(values: row.prefix(keyCount).map { $0 ?? "" })
                let events = Int64(row[keyCount] ?? "0") ?? 0
                if var chunk = current, chunk.entities < maxEntitiesPerChunk, chunk.events + events <= maxEventsPerChunk || chunk.entities == 0 {
                    chunk.lastKey = entity
                    chunk.entities += 1
                    chunk.events += events
                    current = chunk
                } else {
                    if let chunk = current { chunks.append(chunk) }
                    current = .init(number: chunks.count + 1, view: view.name, firstKey: entity, lastKey: entity, entities: 1, events: events)
                }
            }
            if let chunk = current { chunks.append(chunk) }
        }
        return BackfillPlan(chunks: chunks)
    }

    /// Entities with events in the range; for `--all`, every entity that can still have
    /// state in Redis (an event within the view's retention).
    private func timeCondition(_ request: BackfillRequest, view: StreamView, nowMs: Int64) -> String {
        if let fromMs = request.fromMs, let toMs = request.toMs {
            return "e.event_time >= \(BatchDatabase.timestamp(fromMs)) and e.event_time < \(BatchDatabase.timestamp(toMs))"
        }
        return "e.event_time >= \(BatchDatabase.timestamp(nowMs - ApplyScript.retentionMs(view)))"
    }
}
