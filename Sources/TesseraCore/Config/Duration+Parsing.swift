/// Durations in config files: an integer and a unit, e.g. `250ms`, `30s`, `5m`, `1h`, `7d`.
public enum DurationText {
    private static let unitsMs: [(suffix: String, ms: Int64)] = [
        ("ms", 1), ("s", 1_000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000), ("w", 604_800_000),
    ]

    /// Milliseconds, or nil when the text is not `<digits><unit>` with a positive value.
    public static func milliseconds(_ text: String) -> Int64? {
        for (suffix, ms) in unitsMs where text.hasSuffix(suffix) {
            let digits = text.dropLast(suffix.count)
            // "5ms" also ends in "s": only accept when the rest is all digits.
            guard !digits.isEmpty, digits.allSatisfy(\.isASCII), let value = Int64(digits), value > 0 else { continue }
            let (product, overflow) = value.multipliedReportingOverflow(by: ms)
            return overflow ? nil : product
        }
        return nil
    }

    /// The shortest exact text for a duration, e.g. 86_400_000 → "24h" is written "1d"; used in the catalogue.
    public static func text(milliseconds: Int64) -> String {
        for (suffix, ms) in unitsMs.reversed() where milliseconds % ms == 0 {
            return "\(milliseconds / ms)\(suffix)"
        }
        return "\(milliseconds)ms"
    }
}
