import Foundation
import Logging
import TesseraBatch
import TesseraCore

/// How backfill jobs and their progress read on a terminal and in logs.
enum BackfillReport {
    static func line(_ job: BackfillJob) -> String {
        let what = job.rebuildAll ? "--all" : job.views.joined(separator: ",") + (job.features.isEmpty ? "" : " [\(job.features.joined(separator: ","))]")
        let range = job.fromMs.flatMap { from in job.toMs.map { "\(RFC3339.string(epochMilliseconds: from, fractionDigits: 0))..\(RFC3339.string(epochMilliseconds: $0, fractionDigits: 0))" } } ?? "all tiles"
        var text = "job \(job.id)  \(job.status)  \(what)  \(range)  chunks \(job.chunksDone)/\(job.chunksTotal)  "
            + "entities \(job.entitiesDone)  events \(job.eventsDone)  created \(job.createdAt)"
        if let elapsed = job.elapsedSeconds {
            text += String(format: "  %.1f s", elapsed)
            if elapsed > 0, job.eventsDone > 0 { text += String(format: " (%.0f events/s)", Double(job.eventsDone) / elapsed) }
        }
        if let error = job.lastError { text += "  error: \(error)" }
        return text
    }
}

/// A progress bar with rate and ETA on a terminal (stderr); a log line every few seconds otherwise.
final class ProgressReporter {
    private let terminal = isatty(STDERR_FILENO) != 0
    private let logger: Logger
    private var lastLog = Date.distantPast
    private var drewBar = false

    init(logger: Logger) { self.logger = logger }

    func report(_ progress: Backfill.Progress) {
        let fraction = progress.eventsTotal > 0 ? Double(progress.eventsDone) / Double(progress.eventsTotal)
            : (progress.chunksTotal > 0 ? Double(progress.chunksDone) / Double(progress.chunksTotal) : 1)
        let rate = progress.elapsedSeconds > 0 ? Double(progress.eventsDone) / progress.elapsedSeconds : 0
        let remaining = rate > 0 ? Double(progress.eventsTotal - progress.eventsDone) / rate : nil
        let eta = remaining.map { String(format: "%d:%02d", Int($0) / 60, Int($0) % 60) } ?? "--:--"
        if terminal {
            let width = 30
            let filled = Int((fraction * Double(width)).rounded(.down))
            let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
            FileHandle.standardError.write(Data(String(
                format: "\r[%@] %3.0f%%  chunk %d/%d  %d events  %.0f events/s  ETA %@ ",
                bar, fraction * 100, progress.chunksDone, progress.chunksTotal, progress.eventsDone, rate, eta).utf8))
            drewBar = true
        } else if Date().timeIntervalSince(lastLog) >= 5 || progress.chunksDone == progress.chunksTotal {
            lastLog = Date()
            logger.info("backfill progress", metadata: [
                "job": "\(progress.job)", "chunks_done": "\(progress.chunksDone)", "chunks_total": "\(progress.chunksTotal)",
                "events_done": "\(progress.eventsDone)", "events_total": "\(progress.eventsTotal)",
                "events_per_second": "\(Int(rate))", "eta": "\(eta)",
            ])
        }
    }

    func finish() {
        if drewBar { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}

/// Set by the first SIGINT/SIGTERM so a backfill stops between chunks, resumable; a second
/// signal exits at once (every written chunk is whole and fenced, so that is safe too).
final class InterruptFlag: @unchecked Sendable {
    // Written from a signal source on a private queue, read by the backfill thread; the lock orders them.
    private let lock = NSLock()
    private var set = false
    private var sources: [DispatchSourceSignal] = []

    init() {
        for signalNumber in [SIGINT, SIGTERM] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler { [weak self] in
                guard let self else { return }
                let again = self.lock.withLock { () -> Bool in
                    defer { self.set = true }
                    return self.set
                }
                if again { exit(130) }
                FileHandle.standardError.write(Data("\nstopping after the current chunk (signal again to exit now)\n".utf8))
            }
            source.resume()
            sources.append(source)
        }
    }

    var isSet: () -> Bool { { [self] in lock.withLock { set } } }
}
