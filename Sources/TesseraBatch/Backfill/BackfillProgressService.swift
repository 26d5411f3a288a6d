import Foundation
import Logging
import ServiceLifecycle
import TesseraStream

/// `tessera serve`'s exporter of backfill progress (`BackfillProgressMetrics`): reads the
/// job table every interval on a thread of its own (libpq blocks). While PostgreSQL is
/// unreachable the gauges keep their last values and the failure is logged once.
public struct BackfillProgressService: Service {
    private let postgresURL: String
    private let intervalMs: Int64
    private let logger: Logger

    public init(postgresURL: String, intervalMs: Int64 = 15_000, logger: Logger) {
        self.postgresURL = postgresURL
        self.intervalMs = intervalMs
        self.logger = logger
    }

    public func run() async throws {
        let stop = StopSignal()
        try await withTaskCancellationOrGracefulShutdownHandler {
            try await onThread("tessera-bfstats", priority: .background) { export(stop: stop) }
        } onCancelOrGracefulShutdown: {
            stop.raise()
        }
    }

    private func export(stop: StopSignal) {
        let metrics = BackfillProgressMetrics()
        var database: BatchDatabase?
        var lastFailure: String?
        var nextRun = Date()
        while !stop.isRaised {
            if Date() >= nextRun {
                do {
                    if database?.connection.isBroken ?? true { database = try BatchDatabase(url: postgresURL) }
                    try metrics.refresh(from: database!)
                    if lastFailure != nil { logger.notice("backfill progress metrics read again") }
                    lastFailure = nil
                } catch {
                    database = nil
                    let text = "\(error)"
                    logger.log(level: text == lastFailure ? .debug : .warning,
                               "backfill progress metrics not read; retrying", metadata: ["error": "\(text)"])
                    lastFailure = text
                }
                nextRun = Date().addingTimeInterval(Double(intervalMs) / 1_000)
            }
            // Short naps, so a shutdown never waits for the interval.
            Thread.sleep(forTimeInterval: 0.2)
        }
    }
}
