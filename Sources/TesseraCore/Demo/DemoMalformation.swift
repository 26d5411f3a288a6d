/// The ways the demo spoils a message, each modelled on a real producer bug. The expected
/// reasons assume the decoder's default limits (64 KiB, 5 minutes of clock skew).
public enum DemoMalformation: CaseIterable, Sendable {
    /// Cut short, as by a producer that hit its buffer size.
    case truncated
    /// An access-log line, a CSV row or an HTML error page on the wrong topic.
    case plainText
    /// An empty value, like a tombstone.
    case emptyMessage
    /// Several events batched into one JSON array.
    case batchArray
    /// The event serialised twice, so the message is one JSON string.
    case doubleEncoded
    case missingField
    /// A number sent as a string or the other way round.
    case wrongType
    case unknownEventType
    case negativePrice
    /// `NaN`, which Python's `json.dumps` writes for a float NaN but JSON does not allow.
    case nanPrice
    /// `1e999`, which overflows to infinity.
    case infinitePrice
    case zeroQuantity
    /// A date in a format that is not RFC 3339.
    case badTimestamp
    /// Epoch seconds where milliseconds were meant: a date in 1970.
    case epochSeconds
    /// A client clock far ahead.
    case futureTimestamp
    /// The query in Latin-1 instead of UTF-8.
    case latin1Query
    /// A member written twice.
    case duplicateMember
    /// A debug blob that pushes the message past 64 KiB.
    case oversize

    public var expectedReason: RejectionReason {
        switch self {
        case .truncated, .plainText, .emptyMessage, .nanPrice: .notJSON
        case .batchArray, .doubleEncoded: .notObject
        case .missingField: .missingField
        case .wrongType: .wrongType
        case .unknownEventType: .unknownEventType
        case .negativePrice, .infinitePrice, .zeroQuantity, .duplicateMember: .invalidValue
        case .badTimestamp, .epochSeconds: .badTimestamp
        case .futureTimestamp: .futureTimestamp
        case .latin1Query: .notUTF8
        case .oversize: .oversize
        }
    }

    /// Relative frequency among malformed messages; oversize ones are rare and expensive.
    private var weight: Double {
        switch self {
        case .oversize: 0.2
        case .truncated, .missingField, .wrongType, .futureTimestamp: 2
        default: 1
        }
    }

    private static let byWeight = WeightedIndex(weights: allCases.map(\.weight))

    static func random(using random: inout DemoRandom) -> DemoMalformation {
        allCases[byWeight.sample(using: &random)]
    }

    /// The spoiled message value for an event that would otherwise have been written in `style`.
    func value(
        spoiling event: ClickEvent, typedQuery: String?, style: DemoProducerStyle, nowMs: Int64,
        random: inout DemoRandom
    ) -> [UInt8] {
        var object = style.object(for: event, typedQuery: typedQuery)
        switch self {
        case .truncated:
            let whole = object.bytes
            var cut = random.integer(in: 1...(whole.count - 1))
            while whole[cut] & 0xC0 == 0x80 { cut -= 1 }  // cut between characters: not JSON, still UTF-8
            return Array(whole[..<cut])
        case .plainText:
            let line = random.element(of: [
                "GET /products/\(event.productID)?user=\(event.userID) HTTP/1.1 200 5123",
                "\(event.eventID),\(event.type.rawValue),\(event.timestampMs),\(event.userID),\(event.productID)",
                "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>",
            ])
            return Array(line.utf8)
        case .emptyMessage:
            return []
        case .batchArray:
            let other = style.object(for: event, typedQuery: typedQuery).bytes
            return [UInt8(ascii: "[")] + object.bytes + Array(", ".utf8) + other + [UInt8(ascii: "]")]
        case .doubleEncoded:
            return DemoJSON.string(String(decoding: object.bytes, as: UTF8.self))
        case .missingField:
            object.remove(random.element(of: ["event_id", "event_type", "timestamp", "user_id", "product_id"]))
        case .wrongType:
            let (name, value) = random.element(of: [
                ("price", DemoJSON.string(String(event.price ?? 9.99))),
                ("position", DemoJSON.string(String(event.position ?? 0))),
                ("quantity", DemoJSON.string(String(event.quantity))),
                ("user_id", DemoJSON.integer(Int64(event.userID.dropFirst(2)) ?? 0)),
                ("event_type", Array("true".utf8)),
            ])
            object.set(name, value)
        case .unknownEventType:
            let name = random.element(of: ["impression", "hover", "Click", "add-to-cart", "checkout", "VIEW"])
            object.set("event_type", DemoJSON.string(name))
        case .negativePrice:
            object.set("price", DemoJSON.number(-(event.price ?? 9.99)))
        case .nanPrice:
            object.set("price", Array("NaN".utf8))
        case .infinitePrice:
            object.set("price", Array("1e999".utf8))
        case .zeroQuantity:
            object.set("quantity", DemoJSON.integer(0))
        case .badTimestamp:
            let date = RFC3339.string(epochMilliseconds: event.timestampMs, fractionDigits: 0)
            let (day, time) = (date.prefix(10), date.dropFirst(11).prefix(8))
            let parts = day.split(separator: "-")
            let text = random.element(of: [
                "\(day) \(time)",  // SQL style, no offset
                "\(parts[2])/\(parts[1])/\(parts[0]) \(time)",  // European, no offset
                "\(day)T\(time)",  // local time without an offset
            ])
            object.set("timestamp", DemoJSON.string(text))
        case .epochSeconds:
            object.set("timestamp", DemoJSON.integer(event.timestampMs / 1_000))
        case .futureTimestamp:
            let ahead = Int64(5 * 60_000 + random.integer(in: 60_000...3 * 86_400_000))
            object.set("timestamp", style.timestamp(nowMs + ahead))
        case .latin1Query:
            let phrase = random.element(of: DemoQueries.latin1Phrases)
            let latin1 = phrase.unicodeScalars.map { UInt8($0.value) }
            object.set("query", [UInt8(ascii: "\"")] + latin1 + [UInt8(ascii: "\"")])
        case .duplicateMember:
            object.append("user_id", DemoJSON.string("u-\(random.integer(in: 1...1_000_000))"))
        case .oversize:
            let blob = String(repeating: "0123456789abcdef", count: 4_200)  // 67 200 bytes
            object.append("debug_trace", DemoJSON.string(blob))
        }
        return object.bytes
    }
}
