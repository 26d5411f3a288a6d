/// A JSON object written member by member, so that a malformation can drop, replace or repeat one.
struct DemoJSONObject {
    private var members: [(name: String, value: [UInt8])] = []

    mutating func append(_ name: String, _ value: [UInt8]) {
        members.append((name, value))
    }

    /// Replaces the member's value, or appends the member when it is not there.
    mutating func set(_ name: String, _ value: [UInt8]) {
        if let index = members.firstIndex(where: { $0.name == name }) {
            members[index].value = value
        } else {
            append(name, value)
        }
    }

    mutating func remove(_ name: String) {
        members.removeAll { $0.name == name }
    }

    /// `{"name": value, ...}` with a space after each separator, as most serialisers write it.
    var bytes: [UInt8] {
        var json: [UInt8] = [UInt8(ascii: "{")]
        for (index, member) in members.enumerated() {
            if index > 0 { json += [UInt8(ascii: ","), UInt8(ascii: " ")] }
            json += DemoJSON.string(member.name)
            json += [UInt8(ascii: ":"), UInt8(ascii: " ")]
            json += member.value
        }
        json.append(UInt8(ascii: "}"))
        return json
    }
}

/// JSON scalars written by hand.
enum DemoJSON {
    static let null = Array("null".utf8)

    /// A JSON string. With `escapingNonASCII`, everything beyond ASCII becomes `\uXXXX` (surrogate
    /// pairs above U+FFFF), as Python's `json.dumps` writes by default.
    static func string(_ text: String, escapingNonASCII: Bool = false) -> [UInt8] {
        var json: [UInt8] = [UInt8(ascii: "\"")]
        json.reserveCapacity(text.utf8.count + 2)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": json += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
            case "\\": json += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
            case "\n": json += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
            case "\r": json += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
            case "\t": json += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
            case _ where scalar.value < 0x20 || (escapingNonASCII && scalar.value >= 0x80):
                UTF16.encode(scalar) { appendUnicodeEscape($0, to: &json) }
            default:
                UTF8.encode(scalar) { json.append($0) }
            }
        }
        json.append(UInt8(ascii: "\""))
        return json
    }

    /// The shortest decimal that reads back as the same double.
    static func number(_ value: Double) -> [UInt8] {
        Array(value.description.utf8)
    }

    static func integer(_ value: Int64) -> [UInt8] {
        Array(String(value).utf8)
    }

    private static func appendUnicodeEscape(_ unit: UInt16, to json: inout [UInt8]) {
        let hexDigits = Array("0123456789abcdef".utf8)
        json += [UInt8(ascii: "\\"), UInt8(ascii: "u")]
        for shift in stride(from: 12, through: 0, by: -4) {
            json.append(hexDigits[Int(unit >> UInt16(shift)) & 0xF])
        }
    }
}
