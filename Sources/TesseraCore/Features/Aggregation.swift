public enum Aggregation: String, Sendable, CaseIterable {
    case count, sum, min, max, last
    case approxDistinct = "approx_distinct"
}

/// One stored aggregate that one or more features read: an aggregation of one event
/// field over the events that pass a filter, kept in tiles of one size (or, for
/// features with no window, as a single lifetime value).
public struct AggregationSlot: Sendable, Hashable {
    /// Position in the view's slot list.
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

    /// Names the slot's fields and keys in Redis. Derived from what the slot aggregates,
    /// not from its position, so editing features.yaml never makes one slot read
    /// another's stored tiles; a changed definition starts from empty tiles instead.
    public var storageName: String {
        let types = eventTypes.map { $0.map(\.rawValue).sorted().joined(separator: ",") } ?? "*"
        let definition = "\(aggregation.rawValue)|\(field?.rawValue ?? "")|\(types)|\(tileMs ?? 0)"
        var hash: UInt32 = 2_166_136_261  // FNV-1a: stable across runs and builds.
        for byte in definition.utf8 { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 8 - hex.count) + hex
    }

    public func accepts(_ event: ClickEvent) -> Bool { accepts(event.type) }

    public func accepts(_ type: EventType) -> Bool { eventTypes?.contains(type) ?? true }
}
