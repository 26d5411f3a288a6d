/// Rows in PostgreSQL's COPY text format, written field by field into the bytes `copyIn`
/// sends: fields separated by tab, rows ended by newline, `\N` for NULL, and the bytes that
/// would break that framing (backslash, tab, newline, carriage return) written as escapes.
public struct CopyTextWriter {
    /// The rows written so far, ready to send.
    public internal(set) var bytes: [UInt8] = []
    private var fieldsInRow = 0

    public init(reservingCapacity capacity: Int) {
        bytes.reserveCapacity(capacity)
    }

    /// Text; nil is NULL.
    public mutating func field(_ value: String?) {
        guard var value else { return null() }
        value.withUTF8 { field(utf8: UnsafeRawBufferPointer($0)) }
    }

    /// Text given as UTF-8 bytes; the caller vouches that they are UTF-8 (PostgreSQL refuses
    /// the whole COPY otherwise).
    public mutating func field(utf8 value: UnsafeRawBufferPointer) {
        separate()
        // Copied in runs between the bytes that need an escape (most values have none).
        var runStart = 0
        for (index, byte) in value.enumerated() {
            let escape: UInt8
            switch byte {
            case UInt8(ascii: "\\"): escape = UInt8(ascii: "\\")
            case UInt8(ascii: "\t"): escape = UInt8(ascii: "t")
            case UInt8(ascii: "\n"): escape = UInt8(ascii: "n")
            case UInt8(ascii: "\r"): escape = UInt8(ascii: "r")
            default: continue
            }
            bytes.append(contentsOf: value[runStart..<index])
            bytes.append(UInt8(ascii: "\\"))
            bytes.append(escape)
            runStart = index + 1
        }
        bytes.append(contentsOf: value[runStart...])
    }

    /// Bytes `write` appends as they are: for text that never holds a byte needing an escape
    /// (a formatted timestamp), without an intermediate buffer.
    public mutating func field(verbatim write: (inout [UInt8]) -> Void) {
        separate()
        write(&bytes)
    }

    /// A decimal integer; nil is NULL.
    public mutating func field(_ value: Int64?) {
        guard let value else { return null() }
        separate()
        guard value != 0 else { return bytes.append(UInt8(ascii: "0")) }
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        // Digits from the lowest, then reversed in place; magnitude kept unsigned for Int64.min.
        var magnitude = value.magnitude
        let first = bytes.count
        while magnitude > 0 {
            bytes.append(UInt8(ascii: "0") + UInt8(magnitude % 10))
            magnitude /= 10
        }
        bytes[first...].reverse()
    }

    /// A double as Swift prints it (the shortest text that reads back as the same value); nil is NULL.
    public mutating func field(_ value: Double?) {
        guard let value else { return null() }
        field(value.description)
    }

    public mutating func null() {
        separate()
        bytes.append(UInt8(ascii: "\\"))
        bytes.append(UInt8(ascii: "N"))
    }

    public mutating func endRow() {
        bytes.append(UInt8(ascii: "\n"))
        fieldsInRow = 0
    }

    private mutating func separate() {
        if fieldsInRow > 0 { bytes.append(UInt8(ascii: "\t")) }
        fieldsInRow += 1
    }
}
