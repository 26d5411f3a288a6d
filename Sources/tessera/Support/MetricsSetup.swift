import Metrics
import Prometheus

/// Backs every module's swift-metrics handles with one Prometheus registry.
enum MetricsSetup {
    static let version = "0.1.0"

    /// Bootstraps the metrics system (once per process) and returns the registry to expose.
    static func prometheus() -> PrometheusCollectorRegistry {
        _ = bootstrap
        return registry
    }

    private static let registry = PrometheusCollectorRegistry()

    private static let bootstrap: Void = {
        var factory = PrometheusMetricsFactory(registry: registry)
        // Lookups answer in well under a millisecond: the default buckets start at 5 ms.
        factory.durationHistogramBuckets["tessera_http_request_duration_seconds"] = [
            .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5),
            .milliseconds(10), .milliseconds(25), .milliseconds(100), .milliseconds(500), .seconds(2),
        ]
        factory.durationHistogramBuckets["tessera_ingest_apply_duration_seconds"] = [
            .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
            .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(5),
        ]
        // A Redis round trip is tens of microseconds on loopback; an apply pipeline milliseconds.
        factory.durationHistogramBuckets["tessera_redis_command_duration_seconds"] = [
            .microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2),
            .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(100), .milliseconds(500), .seconds(2),
        ]
        factory.durationHistogramBuckets["tessera_postgres_query_duration_seconds"] = [
            .microseconds(250), .milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
            .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(5), .seconds(30),
        ]
        factory.valueHistogramBuckets["tessera_lookup_entities"] = [1, 2, 5, 10, 25, 50, 101, 250, 500, 1_000]
        factory.valueHistogramBuckets["tessera_ingest_batch_messages"] = [1, 10, 50, 100, 500, 1_000, 2_500, 5_000, 10_000, 20_000]
        MetricsSystem.bootstrap(factory)
        // The whole name as one literal (no unit part): DeployFilesTests finds the dashboards'
        // metric names in Sources/.
        let buildInfo = MetricNameDescriptor(metricName: "tessera_build_info", unitName: "", helpText: "Tessera's version; always 1")
        registry.makeGauge(descriptor: buildInfo, labels: [("version", version)]).set(to: 1.0)
    }()
}
