import Metrics

/// The snapshotter's metrics, through swift-metrics (the CLI backs them with Prometheus).
struct SnapshotMetrics {
    private let written = Counter(label: "tessera_snapshot_entities_total")
    private let skipped: [String: Counter] = Dictionary(uniqueKeysWithValues: ["missing", "other_layout", "undecodable"].map {
        ($0, Counter(label: "tessera_snapshot_skipped_total", dimensions: [("reason", $0)]))
    })
    private let failures = Counter(label: "tessera_snapshot_errors_total")
    private let age = Gauge(label: "tessera_snapshot_age_seconds")

    func record(_ report: Snapshotter.Report) {
        written.increment(by: report.written)
        skipped["missing"]?.increment(by: report.missing)
        skipped["other_layout"]?.increment(by: report.otherLayout)
        skipped["undecodable"]?.increment(by: report.undecodable)
    }

    func recordFailure() { failures.increment() }

    /// Seconds since the last run that finished without an error.
    func recordAge(nowMs: Int64, lastSuccessMs: Int64) { age.record(Double(nowMs - lastSuccessMs) / 1_000) }
}
