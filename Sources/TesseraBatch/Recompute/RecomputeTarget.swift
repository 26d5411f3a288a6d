import TesseraCore

/// One (entity, time) pair to recompute a view's features for: a spine row of a
/// training set, or an online vector that `verify` checks.
public struct RecomputeTarget: Sendable {
    /// Join-key values by field, for every entity the query reads.
    public var keys: [EventField: String]
    /// Windows are evaluated at this time (epoch ms).
    public var nowMs: Int64
    /// For `verify`: the last source offset applied online per partition; only events up to
    /// these count. nil for training sets, where event time ≤ `nowMs` decides.
    public var fences: [Int32: Int64]?

    public init(keys: [EventField: String], nowMs: Int64, fences: [Int32: Int64]? = nil) {
        self.keys = keys
        self.nowMs = nowMs
        self.fences = fences
    }
}
