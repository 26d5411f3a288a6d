import Foundation
import TesseraCore
import TesseraPostgres

/// A row of `tessera.backfill_jobs`.
public struct BackfillJob: Sendable {
    public var id: Int64
    public var views: [String]
    public var features: [String]
    public var fromMs: Int64?
    public var toMs: Int64?
    public var rebuildAll: Bool
    public var status: String
    public var chunksTotal: Int
    public var chunksDone: Int
    public var entitiesTotal: Int64
    public var entitiesDone: Int64
    public var eventsDone: Int64
    public var runner: String?
    public var lastError: String?
    public var createdAt: String
    public var startedAt: String?
    public var finishedAt: String?
    /// Seconds from start to finish (or to now while it runs).
    public var elapsedSeconds: Double?
    /// Seconds since the job last changed: a `running` job whose runner was killed keeps growing it.
    public var secondsSinceUpdate: Double
}

/// Backfill jobs and their chunks in PostgreSQL: what was asked, how far it got.
struct BackfillJobs {
    let database: BatchDatabase

    /// Views and features as stored: sorted, so a repeated request finds its job.
    static func describe(_ request: BackfillRequest) -> (views: [String], features: [String]) {
        (request.targets.map(\.view.name).sorted(), request.targets.flatMap(\.features).sorted())
    }

    func create(_ request: BackfillRequest, plan: BackfillPlan) throws -> Int64 {
        let (views, features) = Self.describe(request)
        return try database.connection.transaction {
            let result = try database.execute(
                """
                insert into tessera.backfill_jobs (views, features, from_time, to_time, rebuild_all, chunks_total, entities_total)
                values ($1::text[], $2::text[], \(timestamp(request.fromMs)), \(timestamp(request.toMs)), $3, $4, $5) returning id
                """,
                [postgresArrayLiteral(views), postgresArrayLiteral(features), request.rebuildAll ? "true" : "false",
                 String(plan.chunks.count), String(plan.entities)])
            guard let id = result.rows.first?.first.flatMap({ $0 }).flatMap(Int64.init) else {
                throw BackfillError("could not record the backfill job")
            }
            if !plan.chunks.isEmpty {
                _ = try database.connection.copyIn(
                    "copy tessera.backfill_chunks (job_id, chunk, view, first_key, last_key, entities, events) from stdin",
                    rows: plan.chunks.lazy.map { chunk in
                        [String(id), String(chunk.number), chunk.view, chunk.firstKey.encoded, chunk.lastKey.encoded,
                         String(chunk.entities), String(chunk.events)]
                    })
            }
            return id
        }
    }

    /// The latest unfinished job asking exactly this, to resume.
    func unfinished(matching request: BackfillRequest) throws -> Int64? {
        let (views, features) = Self.describe(request)
        let result = try database.execute(
            """
            select id from tessera.backfill_jobs
            where status <> 'done' and views = $1::text[] and features = $2::text[] and rebuild_all = $3
              and from_time is not distinct from \(timestamp(request.fromMs)) and to_time is not distinct from \(timestamp(request.toMs))
            order by id desc limit 1
            """,
            [postgresArrayLiteral(views), postgresArrayLiteral(features), request.rebuildAll ? "true" : "false"])
        return result.rows.first?.first.flatMap { $0 }.flatMap(Int64.init)
    }

    /// Takes the job for this process (a session advisory lock), so two runs never
    /// rebuild the same chunks at once. False when another process holds it.
    func claim(_ id: Int64) throws -> Bool {
        let result = try database.execute("select pg_try_advisory_lock(hashtext('tessera.backfill'), $1::integer)", [String(id % Int64(Int32.max))])
        guard result.rows.first?.first == "t" else { return false }
        let runner = "\(ProcessInfo.processInfo.hostName) pid \(ProcessInfo.processInfo.processIdentifier)"
        try database.execute(
            """
            update tessera.backfill_jobs set status = 'running', runner = $2, last_error = null,
                started_at = coalesce(started_at, now()), updated_at = now() where id = $1
            """, [String(id), runner])
        return true
    }

    func pendingChunks(of id: Int64) throws -> [BackfillPlan.Chunk] {
        let result = try database.execute(
            "select chunk, view, first_key, last_key, entities, events from tessera.backfill_chunks where job_id = $1 and done_at is null order by chunk",
            [String(id)])
        return try result.rows.map { row in
            guard let number = row[0].flatMap({ Int($0) }), let view = row[1], let first = row[2], let last = row[3],
                  let entities = row[4].flatMap({ Int($0) }), let events = row[5].flatMap({ Int64($0) })
            else { throw BackfillError("unreadable chunk row of backfill job \(id)") }
            return .init(number: number, view: view, firstKey: EntityKey(encoded: first), lastKey: EntityKey(encoded: last),
                         entities: entities, events: events)
        }
    }

    func markDone(job id: Int64, chunk: BackfillPlan.Chunk, entitiesWritten: Int) throws {
        try database.connection.transaction {
            try database.execute("update tessera.backfill_chunks set done_at = now() where job_id = $1 and chunk = $2", [String(id), String(chunk.number)])
            try database.execute(
                """
                update tessera.backfill_jobs set chunks_done = chunks_done + 1, entities_done = entities_done + $2,
                    events_done = events_done + $3, updated_at = now() where id = $1
                """, [String(id), String(entitiesWritten), String(chunk.events)])
        }
    }

    func finish(_ id: Int64, status: String, error: String? = nil) throws {
        try database.execute(
            """
            update tessera.backfill_jobs set status = $2, last_error = $3, updated_at = now(),
                finished_at = case when $2 = 'done' then now() else finished_at end where id = $1
            """, [String(id), status, error])
    }

    func job(_ id: Int64) throws -> BackfillJob? {
        try list(where: "id = \(id)", limit: 1).first
    }

    func list(where condition: String = "true", orderBy order: String = "id desc", limit: Int = 20) throws -> [BackfillJob] {
        let result = try database.execute(
            """
            select id, array_to_json(views)::text, array_to_json(features)::text,
                   (extract(epoch from from_time) * 1000)::bigint, (extract(epoch from to_time) * 1000)::bigint, rebuild_all,
                   status, chunks_total, chunks_done, entities_total, entities_done, events_done, runner, last_error,
                   to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                   to_char(started_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                   to_char(finished_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                   extract(epoch from coalesce(finished_at, updated_at) - started_at)::float8,
                   extract(epoch from now() - updated_at)::float8
            from tessera.backfill_jobs where \(condition) order by \(order) limit \(limit)
            """)
        return result.rows.map { row in
            BackfillJob(
                id: row[0].flatMap { Int64($0) } ?? 0, views: Self.jsonArray(row[1]), features: Self.jsonArray(row[2]),
                fromMs: row[3].flatMap { Int64($0) }, toMs: row[4].flatMap { Int64($0) }, rebuildAll: row[5] == "t",
                status: row[6] ?? "", chunksTotal: row[7].flatMap { Int($0) } ?? 0, chunksDone: row[8].flatMap { Int($0) } ?? 0,
                entitiesTotal: row[9].flatMap { Int64($0) } ?? 0, entitiesDone: row[10].flatMap { Int64($0) } ?? 0,
                eventsDone: row[11].flatMap { Int64($0) } ?? 0, runner: row[12], lastError: row[13], createdAt: row[14] ?? "",
                startedAt: row[15], finishedAt: row[16], elapsedSeconds: row[17].flatMap { Double($0) },
                secondsSinceUpdate: row[18].flatMap { Double($0) } ?? 0)
        }
    }

    /// Jobs worth a series of their own: every unfinished one, and the rest for a day after
    /// they last changed; running ones first, so old failed ones never push them out.
    func recent(limit: Int) throws -> [BackfillJob] {
        try list(where: "status <> 'done' or updated_at > now() - interval '1 day'", orderBy: "status = 'running' desc, id desc", limit: limit)
    }

    func countsByStatus() throws -> [String: Int] {
        var counts: [String: Int] = [:]
        for row in try database.execute("select status, count(*) from tessera.backfill_jobs group by status").rows {
            if let status = row[0], let count = row[1].flatMap({ Int($0) }) { counts[status] = count }
        }
        return counts
    }

    private func timestamp(_ ms: Int64?) -> String { ms.map(BatchDatabase.timestamp) ?? "null::timestamptz" }

    private static func jsonArray(_ text: String?) -> [String] {
        guard let data = text?.data(using: .utf8), let values = try? JSONDecoder().decode([String].self, from: data) else { return [] }
        return values
    }
}
