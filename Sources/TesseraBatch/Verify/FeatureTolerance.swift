import TesseraCore

/// How far an online value may be from its recomputation before `verify` calls it a
/// mismatch.
enum FeatureTolerance: Equatable, CustomStringConvertible {
    /// Counts, min, max, last: the same Double.
    case exact
    /// Sums: Redis adds with HINCRBYFLOAT (long double, printed to 17 digits), PostgreSQL
    /// in float8, so the last bits may differ.
    case relative(Double)
    /// approx_distinct: a Redis HyperLogLog (standard error 0.81%) against an exact count
    /// distinct; allowed 5 standard errors, and at least 2.
    case hyperLogLog

    /// Redis's HyperLogLog: 1.04 / sqrt(16384 registers) ≈ 0.81%.
    static let hyperLogLogStandardErrorPercent = 0.81
    static let hyperLogLogStandardErrors = 5.0
    static var hyperLogLogBound: Double { hyperLogLogStandardErrors * hyperLogLogStandardErrorPercent / 100 }

    static func of(_ feature: FeatureDefinition, in view: StreamView) -> FeatureTolerance {
        switch feature.kind {
        case .windowed(let slot, _), .lifetime(let slot):
            switch view.slots[slot].aggregation {
            case .count, .min, .max, .last: return .exact
            case .sum: return .relative(1e-9)
            case .approxDistinct: return .hyperLogLog
            }
        case .ratio(let numerator, let denominator, _, _):
            // A ratio over an estimate may be off by both sides' errors.
            let sides = [numerator, denominator].map { of(view.features[$0], in: view) }
            return sides.contains(.hyperLogLog) ? .relative(2 * hyperLogLogBound) : .relative(1e-9)
        }
    }

    func accepts(online: Double, offline: Double) -> Bool {
        if online.isNaN || offline.isNaN { return online.isNaN && offline.isNaN }
        switch self {
        case .exact:
            return online == offline
        case .relative(let bound):
            return abs(online - offline) <= bound * max(abs(online), abs(offline))
        case .hyperLogLog:
            return abs(online - offline) <= max(2, Self.hyperLogLogBound * offline)
        }
    }

    var description: String {
        switch self {
        case .exact: "exact"
        case .relative(let bound): "within \(bound) relative"
        case .hyperLogLog: "within max(2, \(Int(Self.hyperLogLogStandardErrors)) × \(Self.hyperLogLogStandardErrorPercent)% of exact)"
        }
    }
}
