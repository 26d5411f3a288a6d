/// A strict RFC 8259 pull reader working in place on a message's bytes.
///
/// It is shaped for event decoding: the caller walks the top-level object member by member and
/// reads each value; objects and arrays inside values are validated and skipped, because no
/// event field holds one. Strings and numbers come back as ranges into the input, so a known
/// field is converted straight from the bytes. The lookup API reads its request bodies with
/// it too, walking into arrays with `beginArray`.
public struct JSONReader {
    /// Containers nested deeper than this are refused: RFC 8259 §9 lets a parser set such a limit,
    /// and it bounds the recursion when skipping unknown fields.
    public static let maxDepth = 32

    let bytes: UnsafeRawBufferPointer
    private(set) var offset = 0
    /// The first problem with well-formed JSON that is refused anyway (a repeated member name,
    /// `\u0000`). It is kept rather than thrown so that a syntax error later in the message wins.
    public private(set) var deferredRejection: EventRejection?

    public init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    // MARK: Structure

    /// The next significant byte, not consumed; nil at the end of the input.
    public mutating func peekToken() -> UInt8? {
        while offset < bytes.count {
            switch bytes[offset] {
            case 0x20, 0x09, 0x0A, 0x0D: offset += 1
            default: return bytes[offset]
            }
        }
        return nil
    }

    /// Consumes `{` and reports whether a member follows (false: the object was `{}`).
    public mutating func beginObject() throws(EventRejection) -> Bool {
        try beginContainer(opening: UInt8(ascii: "{"), closing: UInt8(ascii: "}"), expected: "'{'")
    }

    /// Consumes `[` and reports whether an element follows (false: the array was `[]`).
    public mutating func beginArray() throws(EventRejection) -> Bool {
        try beginContainer(opening: UInt8(ascii: "["), closing: UInt8(ascii: "]"), expected: "'['")
    }

    private mutating func beginContainer(opening: UInt8, closing: UInt8, expected: String) throws(EventRejection) -> Bool {
        try consume(opening, expected: expected)
        if peekToken() == closing {
            offset += 1
            return false
        }
        return true
    }

    /// Reads `"name":` and leaves the cursor at the member's value.
    public mutating func readMemberName() throws(EventRejection) -> JSONString {
        guard peekToken() == UInt8(ascii: "\"") else { throw syntaxError("expected a member name") }
        let name = try readString()
        try consume(UInt8(ascii: ":"), expected: "':' after a member name")
        return name
    }

    /// After a member or element: consumes `,` (true, another follows) or the closing bracket (false).
    public mutating func continueContainer(closing: UInt8) throws(EventRejection) -> Bool {
        switch peekToken() {
        case UInt8(ascii: ","):
            offset += 1
            return true
        case closing:
            offset += 1
            return false
        default:
            throw syntaxError("expected ',' or '\(Character(Unicode.Scalar(closing)))'")
        }
    }

    /// Only whitespace may follow the top-level value.
    public mutating func expectEnd() throws(EventRejection) {
        if peekToken() != nil { throw syntaxError("unexpected data after the JSON value") }
    }

    /// Records a member name seen twice in one object: RFC 8259 leaves their meaning open, and
    /// the online path and a jsonb column would each pick a different one.
    mutating func noteDuplicate(name: JSONString) {
        deferRejection(EventRejection(.invalidValue, "duplicate member name '\(string(name).prefix(64))'"))
    }

    // MARK: Values

    /// Reads the value at the cursor. `depth` is its nesting level: the top-level value is 1.
    public mutating func readValue(depth: Int) throws(EventRejection) -> JSONValue {
        guard let byte = peekToken() else { throw syntaxError("expected a value, found the end of the message") }
        switch byte {
        case UInt8(ascii: "\""): return .string(try readString())
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try readNumber())
        case UInt8(ascii: "t"):
            try readLiteral("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try readLiteral("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try readLiteral("null")
            return .null
        case UInt8(ascii: "{"):
            try skipObject(depth: depth)
            return .object
        case UInt8(ascii: "["):
            try skipArray(depth: depth)
            return .array
        default: throw syntaxError("expected a value")
        }
    }

    private mutating func skipObject(depth: Int) throws(EventRejection) {
        try checkDepth(depth)
        guard try beginObject() else { return }
        // Only unknown fields get here, so a set of copied names costs nothing on the hot path.
        var names = Set<[UInt8]>()
        repeat {
            let name = try readMemberName()
            if !names.insert(unescapedBytes(name)).inserted { noteDuplicate(name: name) }
            _ = try readValue(depth: depth + 1)
        } while try continueContainer(closing: UInt8(ascii: "}"))
    }

    private mutating func skipArray(depth: Int) throws(EventRejection) {
        try checkDepth(depth)
        guard try beginArray() else { return }
        repeat {
            _ = try readValue(depth: depth + 1)
        } while try continueContainer(closing: UInt8(ascii: "]"))
    }

    private func checkDepth(_ depth: Int) throws(EventRejection) {
        if depth > Self.maxDepth { throw syntaxError("JSON nested deeper than \(Self.maxDepth) levels") }
    }

    private mutating func readLiteral(_ literal: StaticString) throws(EventRejection) {
        let matches = literal.withUTF8Buffer { expected in
            offset + expected.count <= bytes.count
                && expected.indices.allSatisfy { bytes[offset + $0] == expected[$0] }
        }
        guard matches else { throw syntaxError("invalid literal") }
        offset += literal.utf8CodeUnitCount
    }

    private mutating func consume(_ byte: UInt8, expected: String) throws(EventRejection) {
        guard peekToken() == byte else { throw syntaxError("expected \(expected)") }
        offset += 1
    }

    // MARK: Strings

    /// Scans a string, checking escapes and UTF-8 on the way, and returns where its content is.
    private mutating func readString() throws(EventRejection) -> JSONString {
        offset += 1  // the opening quote
        let start = offset
        var hasEscapes = false
        while offset < bytes.count {
            let byte = bytes[offset]
            switch byte {
            case UInt8(ascii: "\""):
                let content = start..<offset
                offset += 1
                return JSONString(content: content, hasEscapes: hasEscapes)
            case UInt8(ascii: "\\"):
                hasEscapes = true
                try skipEscape()
            case 0x00..<0x20:
                throw syntaxError("unescaped control character in a string")
            case 0x20..<0x80:
                offset += 1
            default:
                guard let length = UTF8Validation.multiByteSequenceLength(in: bytes, at: offset) else {
                    throw EventRejection(.notUTF8, "invalid UTF-8 at byte \(offset)")
                }
                offset += length
            }
        }
        throw syntaxError("unterminated string")
    }

    /// Skips one escape; a `\u` high surrogate must be followed by a `\u` low surrogate.
    private mutating func skipEscape() throws(EventRejection) {
        guard offset + 1 < bytes.count else { throw syntaxError("unterminated string") }
        switch bytes[offset + 1] {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
            UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
            offset += 2
        case UInt8(ascii: "u"):
            let unit = try hexCodeUnit(at: offset + 2)
            offset += 6
            switch unit {
            case 0:
                // PostgreSQL text and jsonb cannot hold U+0000, so the offline log could not store it.
                deferRejection(EventRejection(.invalidValue, "string contains \\u0000"))
            case 0xD800...0xDBFF:
                let lowFollows =
                    offset + 1 < bytes.count && bytes[offset] == UInt8(ascii: "\\")
                    && bytes[offset + 1] == UInt8(ascii: "u")
                guard lowFollows, (0xDC00...0xDFFF).contains(try hexCodeUnit(at: offset + 2)) else {
                    throw syntaxError("unpaired surrogate in a \\u escape")
                }
                offset += 6
            case 0xDC00...0xDFFF:
                throw syntaxError("unpaired surrogate in a \\u escape")
            default:
                break
            }
        default:
            throw syntaxError("invalid escape in a string")
        }
    }

    private func hexCodeUnit(at index: Int) throws(EventRejection) -> UInt32 {
        guard index + 4 <= bytes.count else { throw syntaxError("truncated \\u escape") }
        var unit: UInt32 = 0
        for position in index..<(index + 4) {
            guard let digit = Self.hexDigitValue(bytes[position]) else { throw syntaxError("invalid \\u escape") }
            unit = unit << 4 | digit
        }
        return unit
    }

    private static func hexDigitValue(_ byte: UInt8) -> UInt32? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt32(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt32(byte - UInt8(ascii: "A") + 10)
        default: nil
        }
    }

    /// Calls `body` with the string's decoded UTF-8, borrowed from the input when there are no escapes.
    func withUnescapedBytes<Result>(_ string: JSONString, _ body: (UnsafeRawBufferPointer) -> Result) -> Result {
        guard string.hasEscapes else { return body(UnsafeRawBufferPointer(rebasing: bytes[string.content])) }
        return unescapedBytes(string).withUnsafeBytes(body)
    }

    public func string(_ string: JSONString) -> String {
        withUnescapedBytes(string) { String(decoding: $0, as: UTF8.self) }
    }

    /// The string's decoded UTF-8. Only valid for strings that `readString` accepted.
    func unescapedBytes(_ string: JSONString) -> [UInt8] {
        let content = UnsafeRawBufferPointer(rebasing: bytes[string.content])
        guard string.hasEscapes else { return Array(content) }
        var decoded: [UInt8] = []
        decoded.reserveCapacity(content.count)
        var index = 0
        while index < content.count {
            let byte = content[index]
            guard byte == UInt8(ascii: "\\") else {
                decoded.append(byte)
                index += 1
                continue
            }
            let escape = content[index + 1]
            index += 2
            switch escape {
            case UInt8(ascii: "b"): decoded.append(0x08)
            case UInt8(ascii: "f"): decoded.append(0x0C)
            case UInt8(ascii: "n"): decoded.append(0x0A)
            case UInt8(ascii: "r"): decoded.append(0x0D)
            case UInt8(ascii: "t"): decoded.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = Self.hexCodeUnit(in: content, at: index)
                index += 4
                if (0xD800...0xDBFF).contains(scalar) {
                    let low = Self.hexCodeUnit(in: content, at: index + 2)
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    index += 6
                }
                UTF8.encode(Unicode.Scalar(scalar)!) { decoded.append($0) }
            default: decoded.append(escape)  // '"', '\\' and '/' stand for themselves
            }
        }
        return decoded
    }

    /// A `\u` code unit that `readString` has already validated.
    private static func hexCodeUnit(in content: UnsafeRawBufferPointer, at index: Int) -> UInt32 {
        (index..<(index + 4)).reduce(0) { unit, position in unit << 4 | hexDigitValue(content[position])! }
    }

    // MARK: Numbers

    /// Scans `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
    private mutating func readNumber() throws(EventRejection) -> JSONNumber {
        let start = offset
        let isNegative = bytes[offset] == UInt8(ascii: "-")
        if isNegative { offset += 1 }

        let integerStart = offset
        if offset < bytes.count, bytes[offset] == UInt8(ascii: "0") {
            offset += 1
        } else if skipDigits() == 0 {
            throw syntaxError("expected a digit")
        }
        let integerDigits = integerStart..<offset

        var fractionDigits = offset..<offset
        if offset < bytes.count, bytes[offset] == UInt8(ascii: ".") {
            offset += 1
            let fractionStart = offset
            guard skipDigits() > 0 else { throw syntaxError("expected a digit after '.'") }
            fractionDigits = fractionStart..<offset
        }

        var exponent = 0
        if offset < bytes.count, bytes[offset] | 0x20 == UInt8(ascii: "e") {
            offset += 1
            var exponentIsNegative = false
            if offset < bytes.count, bytes[offset] == UInt8(ascii: "+") || bytes[offset] == UInt8(ascii: "-") {
                exponentIsNegative = bytes[offset] == UInt8(ascii: "-")
                offset += 1
            }
            let exponentStart = offset
            guard skipDigits() > 0 else { throw syntaxError("expected a digit in the exponent") }
            for index in exponentStart..<offset {
                // Clamped: a message of at most a few megabytes cannot move the point further than this.
                exponent = min(exponent * 10 + Int(bytes[index] - UInt8(ascii: "0")), JSONNumber.exponentLimit)
            }
            if exponentIsNegative { exponent = -exponent }
        }
        return JSONNumber(
            text: start..<offset, isNegative: isNegative, integerDigits: integerDigits,
            fractionDigits: fractionDigits, exponent: exponent)
    }

    private mutating func skipDigits() -> Int {
        let start = offset
        while offset < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[offset]) { offset += 1 }
        return offset - start
    }

    // MARK: Errors

    /// Malformed input is `not_utf8` when the bytes are not UTF-8 at all, the root cause, else `not_json`.
    private func syntaxError(_ message: String) -> EventRejection {
        if let invalid = UTF8Validation.firstInvalidOffset(in: bytes) {
            return EventRejection(.notUTF8, "invalid UTF-8 at byte \(invalid)")
        }
        return EventRejection(.notJSON, "\(message) at byte \(offset)")
    }

    private mutating func deferRejection(_ rejection: EventRejection) {
        if deferredRejection == nil { deferredRejection = rejection }
    }
}

/// A string value or member name: where its content lies in the input, still escaped.
public struct JSONString {
    var content: Range<Int>
    var hasEscapes: Bool
}

/// A value as the event decoder sees it; containers have been validated and skipped.
public enum JSONValue {
    case string(JSONString)
    case number(JSONNumber)
    case bool(Bool)
    case null
    case object
    case array

    /// The JSON type name, for rejection messages.
    public var typeName: String {
        switch self {
        case .string: "string"
        case .number: "number"
        case .bool: "boolean"
        case .null: "null"
        case .object: "object"
        case .array: "array"
        }
    }
}
