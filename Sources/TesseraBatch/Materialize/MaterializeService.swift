import Foundation
import Logging
import Metrics
import ServiceLifecycle
import TesseraCore
import TesseraRedis
import TesseraStream

/// `tessera serve`'s scheduler for batch views: materializes each view every `schedule`
/// on a thread of its own (libpq and hiredis block). A failed run is logged and retried at
/// the view's next tick; the same failure again (say a source table that does not exist
/// yet) is logged once, not every tick. Stops between runs on graceful shutdown.
public struct MaterializeService: Service {
    private let views: [BatchView]
    private let postgresURL: String
    private let redisURL: RedisURL
    private let keyspace: RedisKeyspace
    private let clock: @Sendable () -> Int64
    private let logger: Logger

    public init(
        views: [BatchView], postgresURL: String, redisURL: RedisURL, keyspace: RedisKeyspace,
        clock: @escaping @Sendable () -> Int64 = StreamService.wallClockMs, logger: Logger
    ) {
        self.views = views
        self.postgresURL = postgresURL
        self.redisURL = redisURL
        self.keyspace = keyspace
        self.clock = clock
        self.logger = logger
    }

    public func run() async throws {
        let stop = StopSignal()
        try await withTaskCancellationOrGracefulShutdownHandler {
            try await onThread("tessera-batch", priority: .background) { runSchedule(stop: stop) }
        } onCancelOrGracefulShutdown: {
            stop.raise()
        }
    }

    private func runSchedule(stop: StopSignal) {
        let materializer = BatchMaterializer(postgresURL: postgresURL, redisURL: redisURL, keyspace: keyspace, clock: clock)
        let started = clock()
        var schedules = views.map { ViewSchedule(view: $0, nextRunMs: started, lastSuccessMs: started) }
        logger.info("batch views scheduled", metadata: [
            "views": "\(views.map { "\($0.name) every \(DurationText.text(milliseconds: $0.scheduleMs))" }.joined(separator: ", "))",
        ])
        while !stop.isRaised {
            for index in schedules.indices where clock() >= schedules[index].nextRunMs && !stop.isRaised {
                schedules[index].tick(materializer, nowMs: clock(), logger: logger)
                schedules[index].nextRunMs = clock() + schedules[index].view.scheduleMs
            }
            for schedule in schedules { schedule.age.record(Double(clock() - schedule.lastSuccessMs) / 1_000) }
            // Short naps, so a shutdown never waits for a long schedule.
            Thread.sleep(forTimeInterval: 0.2)
        }
        logger.info("batch view schedule stopped")
    }
}

/// One view's place in the schedule, its metrics and the failure last logged.
private struct ViewSchedule {
    let view: BatchView
    var nextRunMs: Int64
    var lastSuccessMs: Int64
    var lastFailure: String?
    let rows: Counter
    let written: Counter
    let failures: Counter
    /// Seconds since the view last materialized successfully (since start, before the first run).
    let age: Gauge

    init(view: BatchView, nextRunMs: Int64, lastSuccessMs: Int64) {
        self.view = view
        self.nextRunMs = nextRunMs
        self.lastSuccessMs = lastSuccessMs
        let dimensions = [("view", view.name)]
        rows = Counter(label: "tessera_materialize_rows_total", dimensions: dimensions)
        written = Counter(label: "tessera_materialize_entities_written_total", dimensions: dimensions)
        failures = Counter(label: "tessera_materialize_failures_total", dimensions: dimensions)
        age = Gauge(label: "tessera_materialize_age_seconds", dimensions: dimensions)
    }

    mutating func tick(_ materializer: BatchMaterializer, nowMs: Int64, logger: Logger) {
        do {
            let report = try materializer.run(view)
            rows.increment(by: report.rowsRead)
            written.increment(by: report.entitiesWritten)
            lastSuccessMs = nowMs
            if lastFailure != nil { logger.notice("batch view materializes again", metadata: ["view": "\(view.name)"]) }
            lastFailure = nil
            let level: Logger.Level = report.rowsRead > 0 ? .info : .debug
            logger.log(level: level, "batch view materialized", metadata: [
                "view": "\(view.name)", "rows_read": "\(report.rowsRead)", "entities_written": "\(report.entitiesWritten)",
                "kept_newer": "\(report.entitiesKeptNewer)", "watermark": "\(report.watermarkUs.map(MaterializeReport.time) ?? "none")",
                "duration_ms": "\(report.durationMs)",
            ])
        } catch {
            failures.increment()
            let text = "\(error)"
            // Said once per distinct failure; the failures counter shows it goes on.
            let level: Logger.Level = text == lastFailure ? .debug : .error
            lastFailure = text
            var metadata: Logger.Metadata = ["view": "\(view.name)", "error": "\(text)"]
            if let failure = error as? MaterializeError, failure.isMissingSource {
                metadata["hint"] = "the source \(view.source.relation) does not exist yet; retrying every \(DurationText.text(milliseconds: view.scheduleMs))"
            }
            logger.log(level: level, "batch view materialize failed; retrying at its next tick", metadata: metadata)
        }
    }
}
