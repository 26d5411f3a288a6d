/// A value taken from an event: what an aggregation reads, or what keys an entity.
public enum EventField: String, Sendable, CaseIterable {
    case eventTime = "event_time"
    case price, quantity, revenue, position
    case userID = "user_id"
    case productID = "product_id"
    case sessionID = "session_id"
    case query

    /// Fields whose values are strings: they key entities and feed approx_distinct only.
    public var isText: Bool {
        switch self {
        case .userID, .productID, .sessionID, .query: true
        case .eventTime, .price, .quantity, .revenue, .position: false
        }
    }

    public func number(in event: ClickEvent) -> Double? {
        switch self {
        case .eventTime: Double(event.timestampMs)
        case .price: event.price
        case .quantity: Double(event.quantity)
        case .revenue: event.price.map { $0 * Double(event.quantity) }
        case .position: event.position.map(Double.init)
        case .userID, .productID, .sessionID, .query: nil
        }
    }

    public func text(in event: ClickEvent) -> String? {
        switch self {
        case .userID: event.userID
        case .productID: event.productID
        case .sessionID: event.sessionID
        case .query: event.query
        case .eventTime, .price, .quantity, .revenue, .position: nil
        }
    }
}
