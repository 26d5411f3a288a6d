public enum Aggregation: String, Sendable, CaseIterable {
    case count, sum, min, max, last
    case approxDistinct = "approx_distinct"
}

/// One stored aggregate that one or more features read: an aggregation of one event
/// field over the events that pass a filter, kept in tiles of one size (or, for
/// features with no window, as a single lifetime value).
public struct AggregationSlot: Sendable, Hashable {
    /// Position in the view's slot list; names the slot's fields and keys in Redis.
    public var id: Int
    public var aggregation: Aggregation
    /// nil for count.
    public var field: EventField?
    /// Event types counted; nil means all.
    public var eventTypes: Set<EventType>?
    /// Tile length; nil for a lifetime aggregate.
    public var tileMs: Int64?
    /// The longest window any feature reads from this slot (0 for lifetime).
    public var longestWindowMs: Int64

    public func accepts(_ event: ClickEvent) -> Bool {
        eventTypes?.contains(event.type) ?? true
    }
}
