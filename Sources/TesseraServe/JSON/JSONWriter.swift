import TesseraCore

/// A small streaming JSON writer for responses on the hot path: appends bytes, no
/// intermediate dictionaries.
struct JSONWriter {
    private(set) var bytes: [UInt8] = []
    private var needsComma = false
    private var numberText = ""
    /// false: values back to back with nothing between them, such as a response's cells
    /// encoded once each and copied into place later.
    private let separated: Bool

    init(capacity: Int = 256, separated: Bool = true) {
        self.separated = separated
        bytes.reserveCapacity(capacity)
        numberText.reserveCapacity(32)
    }

    mutating func beginObject() { open(UInt8(ascii: "{")) }
    mutating func endObject() { close(UInt8(ascii: "}")) }
    mutating func beginArray() { open(UInt8(ascii: "[")) }
    mutating func endArray() { close(UInt8(ascii: "]")) }

    private mutating func open(_ bracket: UInt8) {
        separate()
        bytes.append(bracket)
        needsComma = false
    }

    private mutating func close(_ bracket: UInt8) {
        bytes.append(bracket)
        needsComma = true
    }

    mutating func key(_ name: String) {
        string(name)
        bytes.append(UInt8(ascii: ":"))
        needsComma = false
    }

    mutating func field(_ name: String, _ value: String) {
        key(name)
        string(value)
    }

    mutating func string(_ value: String) {
        var value = value
        value.withUTF8 { writeQuoted(UnsafeRawBufferPointer($0)) }
    }

    /// A string given as its UTF-8 bytes, such as a batch vector's read in place. Bytes that
    /// are not all ASCII go through String, which repairs what is not UTF-8 (a corrupt vector).
    mutating func string(utf8: UnsafeRawBufferPointer) {
        guard utf8.allSatisfy({ $0 < 0x80 }) else { return string(String(decoding: utf8, as: UTF8.self)) }
        writeQuoted(utf8)
    }

    private mutating func writeQuoted(_ utf8: UnsafeRawBufferPointer) {
        separate()
        bytes.append(UInt8(ascii: "\""))
        // Most strings (ids, names, statuses) need no escape: copy them in one go.
        if utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
            for byte in utf8 { appendEscaped(byte) }
        } else {
            bytes.append(contentsOf: utf8)
        }
        bytes.append(UInt8(ascii: "\""))
        needsComma = true
    }

    private mutating func appendEscaped(_ byte: UInt8) {
        switch byte {
        case UInt8(ascii: "\""): bytes.append(contentsOf: [0x5C, 0x22])
        case UInt8(ascii: "\\"): bytes.append(contentsOf: [0x5C, 0x5C])
        case 0x0A: bytes.append(contentsOf: [0x5C, UInt8(ascii: "n")])
        case 0x0D: bytes.append(contentsOf: [0x5C, UInt8(ascii: "r")])
        case 0x09: bytes.append(contentsOf: [0x5C, UInt8(ascii: "t")])
        case 0..<0x20:
            let hex = Array("0123456789abcdef".utf8)
            bytes.append(contentsOf: [0x5C, UInt8(ascii: "u"), 0x30, 0x30, hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
        default: bytes.append(byte)
        }
    }

    /// An already encoded JSON value (a quoted status or timestamp kept for reuse), as it is.
    mutating func encoded(_ value: StaticString) {
        separate()
        bytes.append(contentsOf: UnsafeBufferPointer(start: value.utf8Start, count: value.utf8CodeUnitCount))
        needsComma = true
    }

    /// No String is made for each number: digits go into a small buffer from its end, then in at once.
    mutating func integer(_ value: Int64) {
        separate()
        DecimalText.append(value, to: &bytes)
        needsComma = true
    }

    /// Non-finite numbers have no JSON form: they are written as null. The shortest text that
    /// reads back as the same double: with integers when it has few decimals
    /// (`DecimalText.appendFixedPoint`), else formatted into a reused string (`description`
    /// would allocate one for every number longer than 15 characters, such as most ratios).
    mutating func number(_ value: Double) {
        guard value.isFinite else { return null() }
        separate()
        if DecimalText.appendFixedPoint(value, to: &bytes) {
            needsComma = true
            return
        }
        numberText.removeAll(keepingCapacity: true)
        value.write(to: &numberText)
        bytes.append(contentsOf: numberText.utf8)
        needsComma = true
    }

    mutating func null() { encoded("null") }

    /// A comma as it is, between values written back to back (`separated: false`) that are
    /// then copied out together.
    mutating func comma() { bytes.append(UInt8(ascii: ",")) }

    mutating func bool(_ value: Bool) { encoded(value ? "true" : "false") }

    private mutating func separate() {
        if needsComma && separated { bytes.append(UInt8(ascii: ",")) }
        needsComma = false
    }
}
