/// How one producer writes events. Real topics mix client apps and services that each serialise
/// the same contract a little differently; the demo picks one style per session.
struct DemoProducerStyle {
    enum TimestampForm {
        /// `2026-11-21T10:15:30.120Z`, the contract's example.
        case utcMilliseconds
        /// `1795256130120`.
        case epochMilliseconds
        /// `2026-11-21T10:15:30.120000+00:00`, Python's `datetime.isoformat()`.
        case utcMicrosecondsWithOffset
        /// `2026-11-21T12:15:30.120+02:00`: the client's local time.
        case localTime(utcOffsetMinutes: Int)
    }

    var timestampForm: TimestampForm
    /// Writes non-ASCII as `\uXXXX`, like Python's `json.dumps` does by default.
    var escapesNonASCII: Bool
    /// Writes absent optional fields as `null` (common with Java serialisers) instead of leaving them out.
    var writesNullForAbsent: Bool
    /// A member outside the contract, e.g. `"client": {...}`, which decoders must ignore.
    var extraMember: (name: String, value: [UInt8])?

    static func random(using random: inout DemoRandom) -> DemoProducerStyle {
        let timestampForm: TimestampForm =
            switch random.unit() {
            case ..<0.75: .utcMilliseconds
            case ..<0.85: .epochMilliseconds
            case ..<0.95: .utcMicrosecondsWithOffset
            default: .localTime(utcOffsetMinutes: random.element(of: [-300, -180, 60, 120, 330, 540]))
            }
        var extraMember: (name: String, value: [UInt8])?
        if random.chance(0.3) {
            let platform = random.element(of: ["ios", "android", "web"])
            let version = "\(random.integer(in: 3...5)).\(random.integer(in: 0...20)).\(random.integer(in: 0...9))"
            let bucket = random.index(below: 4)
            let client = #"{"platform": "\#(platform)", "app_version": "\#(version)", "ab": [\#(bucket), null]}"#
            extraMember = ("client", Array(client.utf8))
        }
        return DemoProducerStyle(
            timestampForm: timestampForm, escapesNonASCII: random.chance(0.15),
            writesNullForAbsent: random.chance(0.2), extraMember: extraMember)
    }

    /// The event's JSON members in contract order. `typedQuery` is the query as the user typed it,
    /// which normalises to `event.query`.
    func object(for event: ClickEvent, typedQuery: String?) -> DemoJSONObject {
        var object = DemoJSONObject()
        object.append("event_id", DemoJSON.string(event.eventID))
        object.append("event_type", DemoJSON.string(event.type.rawValue))
        object.append("timestamp", timestamp(event.timestampMs))
        object.append("user_id", DemoJSON.string(event.userID))
        object.append("product_id", DemoJSON.string(event.productID))
        appendOptional("session_id", event.sessionID.map { DemoJSON.string($0) }, to: &object)
        appendOptional("query", typedQuery.map { DemoJSON.string($0, escapingNonASCII: escapesNonASCII) }, to: &object)
        appendOptional("position", event.position.map(DemoJSON.integer), to: &object)
        appendOptional("price", event.price.map(DemoJSON.number), to: &object)
        if event.quantity != 1 || event.type == .addToCart || event.type == .purchase {
            object.append("quantity", DemoJSON.integer(event.quantity))
        }
        if let extraMember { object.append(extraMember.name, extraMember.value) }
        return object
    }

    func timestamp(_ epochMilliseconds: Int64) -> [UInt8] {
        switch timestampForm {
        case .utcMilliseconds:
            DemoJSON.string(RFC3339.string(epochMilliseconds: epochMilliseconds))
        case .epochMilliseconds:
            DemoJSON.integer(epochMilliseconds)
        case .utcMicrosecondsWithOffset:
            DemoJSON.string(
                RFC3339.string(epochMilliseconds: epochMilliseconds, utcOffsetMinutes: 0, fractionDigits: 6))
        case .localTime(let utcOffsetMinutes):
            DemoJSON.string(RFC3339.string(epochMilliseconds: epochMilliseconds, utcOffsetMinutes: utcOffsetMinutes))
        }
    }

    private func appendOptional(_ name: String, _ value: [UInt8]?, to object: inout DemoJSONObject) {
        if let value {
            object.append(name, value)
        } else if writesNullForAbsent {
            object.append(name, DemoJSON.null)
        }
    }
}
