/// How a feature's value is produced from its view's slots.
public enum FeatureKind: Sendable, Hashable {
    /// The slot's tiles that overlap (now - window, now].
    case windowed(slot: Int, windowMs: Int64)
    /// The slot's single value over the entity's life.
    case lifetime(slot: Int)
    /// (numerator + alpha) / (denominator + beta), over two other features of the view.
    case ratio(numerator: Int, denominator: Int, alpha: Double, beta: Double)
}

public enum FeatureValueType: String, Sendable {
    case int64, double
    /// Epoch milliseconds.
    case timestampMs = "timestamp_ms"
}

public struct FeatureDefinition: Sendable, Hashable {
    public var name: String
    public var kind: FeatureKind
    public var valueType: FeatureValueType
    /// For the catalogue: the aggregation and its input, e.g. "count", "sum(revenue)".
    public var summary: String
}
