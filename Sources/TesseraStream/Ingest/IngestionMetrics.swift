import Metrics
import TesseraCore
import TesseraKafka

/// The online path's metrics, through swift-metrics (the CLI backs them with Prometheus).
/// Handles are made once: creating one per event would take the factory's lock each time.
struct IngestionMetrics {
    private let applied: [EventType: Counter]
    private let ignored: [EventType: Counter]
    private let deadLettered: [RejectionReason: Counter]
    private let batchSize: Recorder
    private let applyDuration: Metrics.Timer
    private let redisErrors: Counter
    private var lag: [TopicPartition: Gauge] = [:]
    private var freshness: [Int32: Gauge] = [:]
    private let factory: any MetricsFactory

    /// `factory`: the process's metrics system, or a test's own registry.
    init(factory: any MetricsFactory) {
        self.factory = factory
        func counters(_ outcome: String) -> [EventType: Counter] {
            Dictionary(uniqueKeysWithValues: EventType.allCases.map {
                ($0, Counter(label: "tessera_events_total", dimensions: [("type", $0.rawValue), ("outcome", outcome)], factory: factory))
            })
        }
        applied = counters("applied")
        ignored = counters("ignored_too_old")
        deadLettered = Dictionary(uniqueKeysWithValues: RejectionReason.allCases.map {
            ($0, Counter(label: "tessera_events_dead_lettered_total", dimensions: [("reason", $0.rawValue)], factory: factory))
        })
        batchSize = Recorder(label: "tessera_ingest_batch_messages", dimensions: [], aggregate: true, factory: factory)
        applyDuration = Metrics.Timer(label: "tessera_ingest_apply_duration_seconds", dimensions: [], factory: factory)
        redisErrors = Counter(label: "tessera_redis_errors_total", dimensions: [("operation", "apply")], factory: factory)
    }

    func recordApplied(_ type: EventType) { applied[type]?.increment() }
    func recordIgnored(_ type: EventType) { ignored[type]?.increment() }
    func recordDeadLetter(_ reason: RejectionReason) { deadLettered[reason]?.increment() }
    func recordBatch(messages: Int) { batchSize.record(messages) }
    func recordApply(_ duration: Duration) { applyDuration.record(duration: duration) }
    func recordRedisError() { redisErrors.increment() }

    /// Messages behind the partition's end, after a commit of `nextOffset`.
    mutating func recordLag(_ partition: TopicPartition, highWatermark: Int64, nextOffset: Int64) {
        let gauge = lag[partition] ?? Gauge(label: "tessera_consumer_lag_messages", dimensions: [("partition", String(partition.partition))], factory: factory)
        lag[partition] = gauge
        gauge.record(max(0, highWatermark - nextOffset))
    }

    /// Now minus the event time of the newest event applied from the partition.
    mutating func recordFreshness(partition: Int32, newestEventMs: Int64, nowMs: Int64) {
        let gauge = freshness[partition] ?? Gauge(label: "tessera_freshness_seconds", dimensions: [("partition", String(partition))], factory: factory)
        freshness[partition] = gauge
        gauge.record(Double(nowMs - newestEventMs) / 1_000)
    }
}
