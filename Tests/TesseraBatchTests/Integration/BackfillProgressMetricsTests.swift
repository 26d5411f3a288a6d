import Foundation
import Metrics
import Prometheus
import Testing
import TesseraRedis
@testable import TesseraBatch

/// Backfill progress as `tessera serve` exports it, read from a real job table.
@Suite struct BackfillProgressMetricsTests {
    let now: Int64 = 1_763_719_950_000 + 75_000

    @Test func theGaugesFollowAJobFromInterruptedThroughStalledToDoneAndThenAway() throws {
        let harness = try StreamHarness(nowMs: now)
        let store = try harness.setup.store(prefix: BatchTestServices.uniquePrefix())
        let stream = try harness.paths(store: store)
        try stream.ingest(StreamHarness.events(count: 1_500, nowMs: now, seed: 3, tag: "progress"))
        let backfill = try harness.setup.backfill(store: store)
        backfill.setChunkLimits(entities: 2, events: 100_000)
        let request = try BackfillRequest(catalog: harness.catalog, view: "user_stats", features: [], fromMs: now - 86_400_000, toMs: now + 600_000)
        let plan = try backfill.plan(request)
        #expect(plan.chunks.count == 5)

        // A private registry: swift-metrics' global system is another test target's.
        let registry = PrometheusCollectorRegistry()
        let metrics = BackfillProgressMetrics(factory: PrometheusMetricsFactory(registry: registry))
        let database = try BatchDatabase(url: harness.database.url)
        func sample(_ name: String, _ labels: [String: String] = [:]) throws -> Double? {
            try metrics.refresh(from: database)
            return PrometheusSample.value(in: registry, name: name, labels: labels)
        }

        var checks = 0
        let first = try backfill.run(request, shouldStop: { checks += 1; return checks > 2 }) { _ in }
        #expect(first.status == "interrupted")
        let job = ["backfill_job": String(first.id), "views": "user_stats"]
        #expect(try sample("tessera_backfill_jobs", ["status": "interrupted"]) == 1)
        #expect(try sample("tessera_backfill_jobs", ["status": "running"]) == 0)
        #expect(try sample("tessera_backfill_chunks", job.merging(["state": "planned"]) { $1 }) == 5)
        #expect(try sample("tessera_backfill_chunks", job.merging(["state": "done"]) { $1 }) == 2)
        #expect(try sample("tessera_backfill_entities", job.merging(["state": "planned"]) { $1 }) == Double(plan.entities))
        #expect(try sample("tessera_backfill_events_rebuilt", job) == Double(first.eventsDone))
        #expect(try sample("tessera_backfill_seconds_since_progress", job) == nil, "only a running job has this series")

        // A runner killed mid-job: the row says running, and nothing moves for 700 s.
        try database.execute("update tessera.backfill_jobs set status = 'running', updated_at = now() - interval '700 seconds' where id = $1", [String(first.id)])
        #expect(try sample("tessera_backfill_jobs", ["status": "running"]) == 1)
        let stalled = try #require(try sample("tessera_backfill_seconds_since_progress", job))
        #expect(stalled >= 700 && stalled < 800)

        // Resumed to the end.
        let second = try backfill.run(request) { _ in }
        #expect(second.id == first.id && second.status == "done")
        #expect(try sample("tessera_backfill_jobs", ["status": "done"]) == 1)
        #expect(try sample("tessera_backfill_jobs", ["status": "running"]) == 0)
        #expect(try sample("tessera_backfill_chunks", job.merging(["state": "done"]) { $1 }) == 5)
        #expect(try sample("tessera_backfill_entities", job.merging(["state": "done"]) { $1 }) == Double(plan.entities))
        #expect(try sample("tessera_backfill_events_rebuilt", job) == Double(plan.events))
        #expect(try sample("tessera_backfill_seconds_since_progress", job) == nil)

        // A day after it finished the job has no series of its own; it is still counted.
        try database.execute("update tessera.backfill_jobs set updated_at = now() - interval '2 days' where id = $1", [String(first.id)])
        #expect(try sample("tessera_backfill_chunks", job.merging(["state": "done"]) { $1 }) == nil)
        #expect(try sample("tessera_backfill_jobs", ["status": "done"]) == 1)
    }
}

/// Reads one sample out of a registry's text exposition.
enum PrometheusSample {
    static func value(in registry: PrometheusCollectorRegistry, name: String, labels: [String: String]) -> Double? {
        let text = String(decoding: registry.emitToBuffer(), as: UTF8.self)
        for line in text.split(separator: "\n") where line.hasPrefix(name + "{") || line.hasPrefix(name + " ") {
            let head = line.prefix { $0 != " " }
            let body = head.dropFirst(name.count)
            guard labels.allSatisfy({ body.contains("\($0.key)=\"\($0.value)\"") }) else { continue }
            return line.split(separator: " ").last.flatMap { Double($0) }
        }
        return nil
    }
}
