import Metrics

/// Backfill progress as Prometheus gauges, read from `tessera.backfill_jobs`: a backfill
/// is a short-lived process of its own, so `tessera serve` (scraped anyway) exports what
/// the job table says, whoever runs the job.
///
/// - `tessera_backfill_jobs{status}`: jobs in each status.
/// - Per recent job (`backfill_job`: its id; `views`): `tessera_backfill_chunks{state="planned"|"done"}`,
///   `tessera_backfill_entities{state=...}`, `tessera_backfill_events_rebuilt`, and while it
///   runs `tessera_backfill_seconds_since_progress` (a runner killed mid-job leaves the job
///   `running` with this growing).
public final class BackfillProgressMetrics {
    /// Jobs shown one by one: every unfinished one, and the rest for a day after their last
    /// change, at most this many, so the series stay few.
    public static let recentJobsLimit = 20
    static let statuses = ["planned", "running", "interrupted", "failed", "done"]

    private let factory: any MetricsFactory
    private let jobsByStatus: [String: Gauge]
    private var shown: [Int64: JobGauges] = [:]

    public init(factory: any MetricsFactory = MetricsSystem.factory) {
        self.factory = factory
        jobsByStatus = Dictionary(uniqueKeysWithValues: Self.statuses.map {
            ($0, Gauge(label: "tessera_backfill_jobs", dimensions: [("status", $0)], factory: factory))
        })
    }

    /// Sets every gauge from the table; series of jobs no longer recent are removed.
    public func refresh(from database: BatchDatabase) throws {
        let table = BackfillJobs(database: database)
        let counts = try table.countsByStatus()
        for (status, gauge) in jobsByStatus { gauge.record(counts[status] ?? 0) }

        let recent = try table.recent(limit: Self.recentJobsLimit)
        for (id, gauges) in shown where !recent.contains(where: { $0.id == id }) {
            gauges.destroy()
            shown[id] = nil
        }
        for job in recent {
            let gauges = shown[job.id] ?? JobGauges(job: job, factory: factory)
            shown[job.id] = gauges
            gauges.record(job)
        }
    }

    /// One job's series.
    private final class JobGauges {
        let chunksPlanned, chunksDone, entitiesPlanned, entitiesDone, eventsRebuilt: Gauge
        let dimensions: [(String, String)]
        let factory: any MetricsFactory
        var sinceProgress: Gauge?

        init(job: BackfillJob, factory: any MetricsFactory) {
            // Not `job`: Prometheus sets that label to the scrape job on every series it scrapes.
            let dimensions = [("backfill_job", String(job.id)), ("views", job.views.joined(separator: ","))]
            func gauge(_ label: String, _ state: String? = nil) -> Gauge {
                Gauge(label: label, dimensions: dimensions + (state.map { [("state", $0)] } ?? []), factory: factory)
            }
            self.dimensions = dimensions
            self.factory = factory
            chunksPlanned = gauge("tessera_backfill_chunks", "planned")
            chunksDone = gauge("tessera_backfill_chunks", "done")
            entitiesPlanned = gauge("tessera_backfill_entities", "planned")
            entitiesDone = gauge("tessera_backfill_entities", "done")
            eventsRebuilt = gauge("tessera_backfill_events_rebuilt")
        }

        func record(_ job: BackfillJob) {
            chunksPlanned.record(job.chunksTotal)
            chunksDone.record(job.chunksDone)
            entitiesPlanned.record(job.entitiesTotal)
            entitiesDone.record(job.entitiesDone)
            eventsRebuilt.record(job.eventsDone)
            if job.status == "running" {
                sinceProgress = sinceProgress
                    ?? Gauge(label: "tessera_backfill_seconds_since_progress", dimensions: dimensions, factory: factory)
                sinceProgress?.record(job.secondsSinceUpdate)
            } else {
                // Only a running job makes progress; a stopped one has no such series.
                sinceProgress?.destroy()
                sinceProgress = nil
            }
        }

        func destroy() {
            for gauge in [chunksPlanned, chunksDone, entitiesPlanned, entitiesDone, eventsRebuilt] { gauge.destroy() }
            sinceProgress?.destroy()
        }
    }
}
