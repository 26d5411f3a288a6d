import Foundation
import TesseraCore

/// A point in time on the command line: RFC 3339 (`2026-11-20T00:00:00Z`), epoch
/// milliseconds, `now`, or `now-7d` (any duration features.yaml accepts).
enum TimeArgument {
    static func milliseconds(_ text: String, option: String, nowMs: Int64) throws -> Int64 {
        if text == "now" { return nowMs }
        if text.hasPrefix("now-"), let ago = DurationText.milliseconds(String(text.dropFirst(4))) { return nowMs - ago }
        if let ms = RFC3339.epochMilliseconds(parsing: text) { return ms }
        if let ms = Int64(text) { return ms }
        throw StartupError(message: "\(option) '\(text)': expected RFC 3339 (2026-11-20T00:00:00Z), epoch milliseconds, now or now-<duration> (now-7d)")
    }

    static func nowMs() -> Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)) }
}
