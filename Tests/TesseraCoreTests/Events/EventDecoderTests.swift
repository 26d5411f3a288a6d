import Testing
@testable import TesseraCore

@Suite struct EventDecoderTests {
    @Test func decodesTheContractExample() throws {
        let json = """
            {"event_id": "e-000123", "event_type": "click", "timestamp": "2026-11-21T10:15:30.120Z",
             "user_id": "u-17", "product_id": "p-42", "session_id": "s-9", "query": "running shoes",
             "position": 3, "price": 59.90, "quantity": 1}
            """
        let event = try EventFixtures.decode(json).get()
        let expected = ClickEvent(
            eventID: "e-000123", type: .click, timestampMs: EventFixtures.exampleTimestampMs, userID: "u-17",
            productID: "p-42", sessionID: "s-9", query: "running shoes", position: 3, price: 59.90, quantity: 1)
        #expect(event == expected)
    }

    @Test func minimalEventGetsDefaults() throws {
        let event = try EventFixtures.decode(EventFixtures.minimal()).get()
        #expect(event.sessionID == nil)
        #expect(event.query == nil)
        #expect(event.position == nil)
        #expect(event.price == nil)
        #expect(event.quantity == 1)
        #expect(event.type == .view)
    }

    @Test(arguments: EventType.allCases)
    func acceptsEveryEventType(_ type: EventType) throws {
        let json = EventFixtures.minimal(replacing: #""view""#, with: "\"\(type.rawValue)\"")
        #expect(try EventFixtures.decode(json).get().type == type)
    }

    @Test func nullOptionalFieldsAreAbsent() throws {
        let json = EventFixtures.minimal(
            with: #""session_id": null, "query": null, "position": null, "price": null, "quantity": null"#)
        let event = try EventFixtures.decode(json).get()
        let expected = ClickEvent(
            eventID: "e-1", type: .view, timestampMs: EventFixtures.exampleTimestampMs, userID: "u-1", productID: "p-1")
        #expect(event == expected)
    }

    @Test func unknownMembersAreIgnored() throws {
        let json = EventFixtures.minimal(
            with: #""client": {"app": "ios", "v": [4, 12.5e1, {"deep": [null, true, false]}]}, "ab": -0.5e-3"#)
        #expect(try EventFixtures.decode(json).get().productID == "p-1")
    }

    @Test func acceptsNestingUpToTheDepthLimit() throws {
        // The event object is level 1, so 31 arrays inside it reach level 32.
        let nested = String(repeating: "[", count: 31) + String(repeating: "]", count: 31)
        #expect(try EventFixtures.decode(EventFixtures.minimal(with: "\"x\": \(nested)")).get().eventID == "e-1")
    }

    @Test func memberOrderAndWhitespaceDoNotMatter() throws {
        let json = "\r\n\t{ \"product_id\":\"p-1\" ,\"user_id\" :\"u-1\",\"timestamp\":1795256130120,\n"
            + "\"event_type\":\"purchase\",\"event_id\":\"e-1\",\"price\":10,\"quantity\":2 }\n  "
        let event = try EventFixtures.decode(json).get()
        #expect(event.revenue == 20)
        #expect(event.timestampMs == EventFixtures.exampleTimestampMs)
    }

    @Test func integralNumbersAreAcceptedForIntegerFields() throws {
        let event = try EventFixtures.decode(EventFixtures.minimal(with: #""position": 3.0, "quantity": 2e0"#)).get()
        #expect(event.position == 3)
        #expect(event.quantity == 2)
        let large = try EventFixtures.decode(EventFixtures.minimal(with: #""position": 9223372036854775807"#)).get()
        #expect(large.position == Int64.max)
    }

    @Test func pricesKeepTheirDecimalValue() throws {
        for (text, value) in [("59.90", 59.9), ("0", 0.0), ("-0.0", 0.0), ("1e2", 100.0), ("0.1", 0.1),
                              ("123456789.123456789", 123456789.123456789), ("4.35e-3", 0.00435)] {
            let event = try EventFixtures.decode(EventFixtures.minimal(with: "\"price\": \(text)")).get()
            #expect(event.price == value, "price \(text)")
            #expect(event.price?.sign == .plus)
        }
    }

    @Test func stringLimitsCountBytes() throws {
        let longest = String(repeating: "é", count: 64)  // 128 bytes
        let event = try EventFixtures.decode(
            EventFixtures.minimal(replacing: #""u-1""#, with: "\"\(longest)\"")).get()
        #expect(event.userID == longest)
        let tooLong = longest + "x"
        let rejection = EventFixtures.rejection(
            Array(EventFixtures.minimal(replacing: #""u-1""#, with: "\"\(tooLong)\"").utf8))
        #expect(rejection == EventRejection(.invalidValue, "field 'user_id' must be 1 to 128 bytes"))
    }

    @Test func rejectsOversizeBeforeReadingAnything() {
        let decoder = EventDecoder(maxBytes: 100)
        let padding = String(repeating: "x", count: 100)
        let json = EventFixtures.minimal(with: "\"padding\": \"\(padding)\"")
        #expect(decoder.decode(Array(json.utf8), nowMs: EventFixtures.nowMs).rejectionReason == .oversize)
        let exactlyAtLimit = Array(repeating: UInt8(ascii: " "), count: 100)
        #expect(decoder.decode(exactlyAtLimit, nowMs: EventFixtures.nowMs).rejectionReason == .notJSON)
        let overDefaultLimit = [UInt8](repeating: 0x20, count: 65_537)
        #expect(EventFixtures.decoder.decode(overDefaultLimit, nowMs: 0).rejectionReason == .oversize)
    }

    @Test func decodesFromARawBuffer() throws {
        let bytes = Array(EventFixtures.minimal().utf8)
        let event = try bytes.withUnsafeBytes { EventFixtures.decoder.decode($0, nowMs: EventFixtures.nowMs) }.get()
        #expect(event.eventID == "e-1")
    }

    @Test func futureToleranceIsConfigurable() {
        let strict = EventDecoder(futureToleranceMs: 0)
        let json = Array(EventFixtures.minimal().utf8)
        #expect(strict.decode(json, nowMs: EventFixtures.exampleTimestampMs).rejectionReason == nil)
        #expect(strict.decode(json, nowMs: EventFixtures.exampleTimestampMs - 1).rejectionReason == .futureTimestamp)
    }

    @Test(arguments: RejectionCase.all)
    func rejects(_ testCase: RejectionCase) {
        let rejection = EventFixtures.rejection(testCase.bytes)
        #expect(rejection?.reason == testCase.reason, "\(rejection?.detail ?? "accepted")")
        if let detail = testCase.detail { #expect(rejection?.detail == detail) }
    }

    @Test func everyRejectionReasonIsCovered() {
        let covered = Set(RejectionCase.all.map(\.reason.rawValue))
        let reasons = Set(RejectionReason.allCases.map(\.rawValue)).subtracting(["oversize"])  // tested above
        #expect(reasons.isSubset(of: covered))
    }
}

/// One malformed message and the reason it must be rejected with.
struct RejectionCase: CustomTestStringConvertible, Sendable {
    var name: String
    var bytes: [UInt8]
    var reason: RejectionReason
    var detail: String?
    var testDescription: String { name }

    init(_ name: String, _ json: String, _ reason: RejectionReason, detail: String? = nil) {
        self.init(name, Array(json.utf8), reason, detail: detail)
    }

    init(_ name: String, _ bytes: [UInt8], _ reason: RejectionReason, detail: String? = nil) {
        self.name = name
        self.bytes = bytes
        self.reason = reason
        self.detail = detail
    }

    static let all: [RejectionCase] = [
        // Not JSON at all, or broken JSON.
        RejectionCase("empty message", "", .notJSON),
        RejectionCase("whitespace only", "  \n", .notJSON),
        RejectionCase("log line", "GET /product/p-42 HTTP/1.1 200", .notJSON),
        RejectionCase("truncated", String(EventFixtures.minimal().dropLast(9)), .notJSON),
        RejectionCase("trailing comma", adding(#""x": 1,"#), .notJSON),
        RejectionCase("two objects", EventFixtures.minimal() + EventFixtures.minimal(), .notJSON),
        RejectionCase("single quotes", "{'event_id': 'e-1'}", .notJSON),
        RejectionCase("unit separator in an id", replacing(#""product_id": "p-1""#, #""product_id": "p\u001f1""#), .invalidValue),
        RejectionCase("control character in a query", adding(#""query": "shoes\u0001""#), .invalidValue),
        RejectionCase("revenue overflows", adding(#""price": 1e308, "quantity": 2"#), .invalidValue),
        RejectionCase("leading zero", adding(#""position": 01"#), .notJSON),
        RejectionCase("bare decimal point", adding(#""price": 1."#), .notJSON),
        RejectionCase("NaN literal", adding(#""price": NaN"#), .notJSON),
        RejectionCase("Infinity literal", adding(#""price": -Infinity"#), .notJSON),
        RejectionCase("raw newline in string", "{\"event_id\": \"e-\n1\"}", .notJSON),
        RejectionCase("bad escape", adding(#""q": "\x41""#), .notJSON),
        RejectionCase("lone high surrogate", adding(#""q": "\ud83d""#), .notJSON),
        RejectionCase("lone low surrogate", adding(#""q": "\ude00x""#), .notJSON),
        RejectionCase("byte order mark", [0xEF, 0xBB, 0xBF] + Array(EventFixtures.minimal().utf8), .notJSON),
        RejectionCase("nested too deep", adding("\"x\": " + nestedArrays(32)), .notJSON),
        RejectionCase("syntax error after a bad field", #"{"event_id": 5, "x": }"#, .notJSON),

        // Invalid UTF-8 wins over everything but size.
        RejectionCase("latin-1 query", bytes(#"{"query": "caf"#, [0xE9], #""}"#), .notUTF8),
        RejectionCase("overlong slash", bytes(#"{"q": ""#, [0xC0, 0xAF], #""}"#), .notUTF8),
        RejectionCase("encoded surrogate", bytes(#"{"q": ""#, [0xED, 0xA0, 0x80], #""}"#), .notUTF8),
        RejectionCase("stray byte outside strings", bytes(#"{"a": 1"#, [0xFF], "}"), .notUTF8),
        RejectionCase("truncated sequence", bytes(#"{"q": ""#, [0xE2, 0x82], ""), .notUTF8),

        // Valid JSON that is not an object.
        RejectionCase("batch array", "[\(EventFixtures.minimal()), \(EventFixtures.minimal())]", .notObject),
        RejectionCase("string", #""view""#, .notObject),
        RejectionCase("number", "42", .notObject),
        RejectionCase("null", "null", .notObject),

        // Missing required fields.
        RejectionCase(
            "missing event_id", replacing(#""event_id": "e-1", "#, ""), .missingField,
            detail: "field 'event_id' is missing"),
        RejectionCase("missing event_type", replacing(#""event_type": "view", "#, ""), .missingField),
        RejectionCase("missing timestamp", replacing(#""timestamp": "2026-11-21T10:15:30.120Z", "#, ""), .missingField),
        RejectionCase("missing user_id", replacing(#""user_id": "u-1", "#, ""), .missingField),
        RejectionCase(
            "missing product_id", replacing(#", "product_id": "p-1""#, ""), .missingField,
            detail: "field 'product_id' is missing"),
        RejectionCase("empty object", "{}", .missingField),
        RejectionCase("null user_id", replacing(#""u-1""#, "null"), .missingField, detail: "field 'user_id' is null"),

        // Wrong JSON types.
        RejectionCase(
            "numeric user_id", replacing(#""u-1""#, "17"), .wrongType,
            detail: "field 'user_id' must be a string, got number"),
        RejectionCase(
            "price as string", adding(#""price": "59.90""#), .wrongType,
            detail: "field 'price' must be a number, got string"),
        RejectionCase("position as string", adding(#""position": "3""#), .wrongType),
        RejectionCase("quantity as boolean", adding(#""quantity": true"#), .wrongType),
        RejectionCase("query as array", adding(#""query": ["shoes"]"#), .wrongType),
        RejectionCase("event_type as number", replacing(#""view""#, "1"), .wrongType),
        RejectionCase("timestamp as object", replacing(#""2026-11-21T10:15:30.120Z""#, #"{"s": 1}"#), .wrongType),
        RejectionCase("session_id as number", adding(#""session_id": 9"#), .wrongType),

        // Values out of range, and well-formed JSON refused anyway.
        RejectionCase(
            "negative price", adding(#""price": -1.5"#), .invalidValue,
            detail: "field 'price' must be a finite number >= 0"),
        RejectionCase("price overflowing to infinity", adding(#""price": 1e999"#), .invalidValue),
        RejectionCase(
            "quantity 0", adding(#""quantity": 0"#), .invalidValue, detail: "field 'quantity' must be an integer >= 1"),
        RejectionCase("fractional quantity", adding(#""quantity": 1.5"#), .invalidValue),
        RejectionCase("negative position", adding(#""position": -1"#), .invalidValue),
        RejectionCase("position beyond Int64", adding(#""position": 9223372036854775808"#), .invalidValue),
        RejectionCase("position 1e999", adding(#""position": 1e999"#), .invalidValue),
        RejectionCase("empty event_id", replacing(#""e-1""#, #""""#), .invalidValue),
        RejectionCase("empty session_id", adding(#""session_id": """#), .invalidValue),
        RejectionCase("query over 512 bytes", adding("\"query\": \"\(longWord(513))\""), .invalidValue),
        RejectionCase(
            "duplicate known member", adding(#""user_id": "u-2""#), .invalidValue,
            detail: "duplicate member name 'user_id'"),
        RejectionCase("duplicate member spelled with an escape", adding(#""user\u005fid": "u-1""#), .invalidValue),
        RejectionCase("duplicate unknown member", adding(#""x": 1, "x": 2"#), .invalidValue),
        RejectionCase("duplicate nested member", adding(#""client": {"a": 1, "a": 1}"#), .invalidValue),
        RejectionCase("NUL escape", adding(#""note": "a\u0000b""#), .invalidValue, detail: "string contains \\u0000"),

        // Event types are exact and case-sensitive.
        RejectionCase(
            "unknown event type", replacing(#""view""#, #""hover""#), .unknownEventType,
            detail: "unknown event_type 'hover'"),
        RejectionCase("capitalised event type", replacing(#""view""#, #""Click""#), .unknownEventType),
        RejectionCase("empty event type", replacing(#""view""#, #""""#), .unknownEventType),

        // Timestamps.
        RejectionCase("timestamp without offset", timestamp(#""2026-11-21T10:15:30.120""#), .badTimestamp),
        RejectionCase("date only", timestamp(#""2026-11-21""#), .badTimestamp),
        RejectionCase("space separator", timestamp(#""2026-11-21 10:15:30Z""#), .badTimestamp),
        RejectionCase("month 13", timestamp(#""2026-13-01T00:00:00Z""#), .badTimestamp),
        RejectionCase("February 29 of a common year", timestamp(#""2026-02-29T00:00:00Z""#), .badTimestamp),
        RejectionCase("hour 24", timestamp(#""2026-11-21T24:00:00Z""#), .badTimestamp),
        RejectionCase("empty fraction", timestamp(#""2026-11-21T10:15:30.Z""#), .badTimestamp),
        RejectionCase("offset without colon", timestamp(#""2026-11-21T10:15:30+0200""#), .badTimestamp),
        RejectionCase("human date", timestamp(#""21/11/2026 10:15""#), .badTimestamp),
        RejectionCase("digits in a string", timestamp(#""1795256130120""#), .badTimestamp),
        RejectionCase(
            "before 2000", timestamp(#""1999-12-31T23:59:59.999Z""#), .badTimestamp,
            detail: "field 'timestamp' is before 2000-01-01"),
        RejectionCase("epoch seconds", timestamp("1795256130"), .badTimestamp),
        RejectionCase("fractional epoch milliseconds", timestamp("1795256130120.5"), .badTimestamp),
        RejectionCase("negative epoch", timestamp("-1"), .badTimestamp),
        RejectionCase("epoch beyond Int64", timestamp("1e30"), .badTimestamp),
        RejectionCase("one hour ahead", timestamp(#""2026-11-21T13:00:00Z""#), .futureTimestamp),
        RejectionCase("just past the tolerance", timestamp("\(EventFixtures.nowMs + 300_001)"), .futureTimestamp),
        RejectionCase("epoch microseconds", timestamp("1795256130120000"), .futureTimestamp),
    ]

    private static func adding(_ members: String) -> String {
        EventFixtures.minimal(with: members)
    }

    private static func replacing(_ target: String, _ replacement: String) -> String {
        EventFixtures.minimal(replacing: target, with: replacement)
    }

    private static func timestamp(_ json: String) -> String {
        replacing(#""2026-11-21T10:15:30.120Z""#, json)
    }

    private static func longWord(_ length: Int) -> String {
        String(repeating: "a", count: length)
    }

    private static func nestedArrays(_ depth: Int) -> String {
        String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
    }

    private static func bytes(_ before: String, _ raw: [UInt8], _ after: String) -> [UInt8] {
        Array(before.utf8) + raw + Array(after.utf8)
    }
}
