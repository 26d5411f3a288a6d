/// The contract fields of one message as they are read, and the first problem with any of them.
///
/// Problems are kept, not thrown, so that the whole message is still checked for being JSON:
/// a syntax error anywhere outranks a bad field.
struct DecodedFields {
    static let maxIdentifierBytes = 128
    static let maxQueryBytes = 512
    /// 2000-01-01T00:00:00Z: anything earlier is a clock or unit error (epoch seconds, say), not an event.
    static let earliestTimestampMs: Int64 = 946_684_800_000

    let nowMs: Int64
    let futureToleranceMs: Int64
    private(set) var firstRejection: EventRejection?
    /// One bit per `ContractField`, by raw value.
    private var seen: UInt16 = 0

    private var eventID: String?
    private var eventType: EventType?
    private var timestampMs: Int64?
    private var userID: String?
    private var productID: String?
    private var sessionID: String?
    private var query: String?
    private var position: Int64?
    private var price: Double?
    private var quantity: Int64 = 1

    init(nowMs: Int64, futureToleranceMs: Int64) {
        self.nowMs = nowMs
        self.futureToleranceMs = futureToleranceMs
    }

    /// Marks `field` as present; false when it already was, which makes the message a duplicate-name case.
    mutating func markSeen(_ field: ContractField) -> Bool {
        let bit: UInt16 = 1 << field.rawValue
        defer { seen |= bit }
        return seen & bit == 0
    }

    mutating func read(_ value: JSONValue, for field: ContractField, in reader: JSONReader) {
        guard firstRejection == nil else { return }
        do throws(EventRejection) {
            switch field {
            case .eventID: eventID = try required(identifier(value, field, in: reader), field)
            case .eventType: eventType = try required(knownEventType(value, in: reader), field)
            case .timestamp: timestampMs = try required(timestamp(value, in: reader), field)
            case .userID: userID = try required(identifier(value, field, in: reader), field)
            case .productID: productID = try required(identifier(value, field, in: reader), field)
            case .sessionID: sessionID = try identifier(value, field, in: reader)
            case .query: query = try normalizedQuery(value, in: reader)
            case .position: position = try integer(value, field, atLeast: 0, in: reader)
            case .price: price = try nonNegativeFiniteNumber(value, field, in: reader)
            case .quantity: quantity = try integer(value, field, atLeast: 1, in: reader) ?? 1
            }
        } catch {
            firstRejection = error
        }
    }

    func makeEvent() throws(EventRejection) -> ClickEvent {
        if let firstRejection { throw firstRejection }
        guard let eventID else { throw missing(.eventID) }
        guard let eventType else { throw missing(.eventType) }
        guard let timestampMs else { throw missing(.timestamp) }
        guard let userID else { throw missing(.userID) }
        guard let productID else { throw missing(.productID) }
        // Each is finite, but their product feeds revenue sums, which must stay finite too.
        if let price, !(price * Double(quantity)).isFinite {
            throw EventRejection(.invalidValue, "price × quantity is too large to sum")
        }
        return ClickEvent(
            eventID: eventID, type: eventType, timestampMs: timestampMs, userID: userID, productID: productID,
            sessionID: sessionID, query: query, position: position, price: price, quantity: quantity)
    }

    // MARK: Conversions; each returns nil for JSON null, which means "absent"

    private func required<Value>(_ value: Value?, _ field: ContractField) throws(EventRejection) -> Value {
        guard let value else { throw EventRejection(.missingField, "field '\(field.jsonName)' is null") }
        return value
    }

    private func missing(_ field: ContractField) -> EventRejection {
        EventRejection(.missingField, "field '\(field.jsonName)' is missing")
    }

    private func identifier(_ value: JSONValue, _ field: ContractField, in reader: JSONReader) throws(EventRejection)
        -> String?
    {
        switch value {
        case .null:
            return nil
        case .string(let string):
            let text = reader.string(string)
            guard (1...Self.maxIdentifierBytes).contains(text.utf8.count) else {
                throw EventRejection(
                    .invalidValue, "field '\(field.jsonName)' must be 1 to \(Self.maxIdentifierBytes) bytes")
            }
            // Control characters are never part of a real id, and U+001F joins composite entity keys.
            guard !text.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) else {
                throw EventRejection(.invalidValue, "field '\(field.jsonName)' must not contain control characters")
            }
            return text
        default:
            throw wrongType(field, expected: "a string", got: value)
        }
    }

    private func knownEventType(_ value: JSONValue, in reader: JSONReader) throws(EventRejection) -> EventType? {
        switch value {
        case .null:
            return nil
        case .string(let string):
            let name = reader.string(string)
            guard let type = EventType(rawValue: name) else {
                throw EventRejection(.unknownEventType, "unknown event_type '\(name.prefix(64))'")
            }
            return type
        default:
            throw wrongType(.eventType, expected: "a string", got: value)
        }
    }

    private func timestamp(_ value: JSONValue, in reader: JSONReader) throws(EventRejection) -> Int64? {
        let milliseconds: Int64?
        switch value {
        case .null: return nil
        case .string(let string): milliseconds = reader.withUnescapedBytes(string, RFC3339.epochMilliseconds)
        case .number(let number): milliseconds = reader.exactInteger(number)
        default: throw wrongType(.timestamp, expected: "a string or an integer", got: value)
        }
        guard let milliseconds else {
            throw EventRejection(
                .badTimestamp,
                "field 'timestamp' must be an RFC 3339 date-time with offset or integer epoch milliseconds")
        }
        guard milliseconds >= Self.earliestTimestampMs else {
            throw EventRejection(.badTimestamp, "field 'timestamp' is before 2000-01-01")
        }
        guard milliseconds - nowMs <= futureToleranceMs else {
            throw EventRejection(
                .futureTimestamp,
                "field 'timestamp' is \(milliseconds - nowMs) ms in the future, tolerance \(futureToleranceMs) ms")
        }
        return milliseconds
    }

    private func normalizedQuery(_ value: JSONValue, in reader: JSONReader) throws(EventRejection) -> String? {
        switch value {
        case .null:
            return nil
        case .string(let string):
            guard let query = reader.withUnescapedBytes(string, QueryNormalization.normalize(utf8:)) else { return nil }
            guard query.utf8.count <= Self.maxQueryBytes else {
                throw EventRejection(.invalidValue, "field 'query' must be at most \(Self.maxQueryBytes) bytes")
            }
            // Whitespace controls are spaces by now; any other control character is not text.
            guard !query.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) else {
                throw EventRejection(.invalidValue, "field 'query' must not contain control characters")
            }
            return query
        default:
            throw wrongType(.query, expected: "a string", got: value)
        }
    }

    private func integer(_ value: JSONValue, _ field: ContractField, atLeast minimum: Int64, in reader: JSONReader)
        throws(EventRejection) -> Int64?
    {
        switch value {
        case .null:
            return nil
        case .number(let number):
            guard let integer = reader.exactInteger(number), integer >= minimum else {
                throw EventRejection(.invalidValue, "field '\(field.jsonName)' must be an integer >= \(minimum)")
            }
            return integer
        default:
            throw wrongType(field, expected: "an integer", got: value)
        }
    }

    private func nonNegativeFiniteNumber(_ value: JSONValue, _ field: ContractField, in reader: JSONReader)
        throws(EventRejection) -> Double?
    {
        switch value {
        case .null:
            return nil
        case .number(let number):
            let double = reader.double(number)
            guard double.isFinite, double >= 0 else {
                throw EventRejection(.invalidValue, "field '\(field.jsonName)' must be a finite number >= 0")
            }
            return double == 0 ? 0 : double  // -0 becomes 0
        default:
            throw wrongType(field, expected: "a number", got: value)
        }
    }

    private func wrongType(_ field: ContractField, expected: String, got value: JSONValue) -> EventRejection {
        EventRejection(.wrongType, "field '\(field.jsonName)' must be \(expected), got \(value.typeName)")
    }
}
