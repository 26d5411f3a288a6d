/// The members of the v1 event contract.
enum ContractField: Int, CaseIterable {
    case eventID, eventType, timestamp, userID, productID, sessionID, query, position, price, quantity

    var jsonName: String {
        switch self {
        case .eventID: "event_id"
        case .eventType: "event_type"
        case .timestamp: "timestamp"
        case .userID: "user_id"
        case .productID: "product_id"
        case .sessionID: "session_id"
        case .query: "query"
        case .position: "position"
        case .price: "price"
        case .quantity: "quantity"
        }
    }

    /// Matches a decoded member name without building a String: this runs for every member of every event.
    init?(jsonName name: UnsafeRawBufferPointer) {
        guard let index = Self.utf8Names.firstIndex(where: { $0.count == name.count && $0.elementsEqual(name) })
        else { return nil }
        self = Self.allCases[index]
    }

    private static let utf8Names: [[UInt8]] = allCases.map { Array($0.jsonName.utf8) }
}
