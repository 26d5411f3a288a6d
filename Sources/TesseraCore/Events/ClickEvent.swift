/// One clickstream event after validation against the v1 event contract.
///
/// Strings are already normalised (`query` trimmed, lower-cased, inner spaces collapsed),
/// `quantity` defaults to 1, and the timestamp is epoch milliseconds.
public struct ClickEvent: Sendable, Equatable {
    public var eventID: String
    public var type: EventType
    public var timestampMs: Int64
    public var userID: String
    public var productID: String
    public var sessionID: String?
    public var query: String?
    public var position: Int64?
    public var price: Double?
    public var quantity: Int64

    public init(
        eventID: String, type: EventType, timestampMs: Int64, userID: String, productID: String,
        sessionID: String? = nil, query: String? = nil, position: Int64? = nil, price: Double? = nil,
        quantity: Int64 = 1
    ) {
        self.eventID = eventID
        self.type = type
        self.timestampMs = timestampMs
        self.userID = userID
        self.productID = productID
        self.sessionID = sessionID
        self.query = query
        self.position = position
        self.price = price
        self.quantity = quantity
    }

    /// price × quantity, the revenue of a purchase (0 when the event has no price).
    public var revenue: Double { (price ?? 0) * Double(quantity) }
}

public enum EventType: String, Sendable, CaseIterable {
    case view, click, addToCart = "add_to_cart", purchase

    /// The position in `allCases`, for tables indexed by event type.
    var ordinal: Int {
        switch self {
        case .view: 0
        case .click: 1
        case .addToCart: 2
        case .purchase: 3
        }
    }
}
