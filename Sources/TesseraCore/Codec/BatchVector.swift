/// One typed value of a batch feature.
public enum BatchValue: Sendable, Equatable {
    case null
    case double(Double)
    case int(Int64)
    case string(String)
    case bool(Bool)
}

/// The packed vector stored in Redis for one entity of one batch view, written by
/// `tessera materialize` and read on the lookup path.
///
/// Layout (little-endian):
///   "TB1" | UInt16 feature count | Float64 layout fingerprint | Float64 source row time (ms)
///   | Float64 materialized-at time (ms) | count × value
/// and each value is a type tag and its payload:
///   0 null | 1 Float64 | 2 Int64 | 3 UInt32 byte length + UTF-8 bytes | 4 one byte, 0 or 1.
/// The header matches TV1's shape so the write script reads the fingerprint and source
/// time with `struct.unpack('<dd', vector, 6)` to refuse older rows.
public struct BatchVector: Sendable, Equatable {
    public var layoutFingerprint: UInt32
    public var sourceTimeMs: Int64
    public var materializedAtMs: Int64
    public var values: [BatchValue]

    public init(layoutFingerprint: UInt32, sourceTimeMs: Int64, materializedAtMs: Int64, values: [BatchValue]) {
        self.layoutFingerprint = layoutFingerprint
        self.sourceTimeMs = sourceTimeMs
        self.materializedAtMs = materializedAtMs
        self.values = values
    }

    public static let magic: [UInt8] = Array("TB1".utf8)
    public static let headerBytes = 3 + 2 + 8 * 3

    private enum Tag: UInt8 {
        case null = 0, double, int, string, bool
    }

    public func encoded() -> [UInt8] {
        var bytes = BatchVector.magic
        bytes.reserveCapacity(BatchVector.headerBytes + 9 * values.count)
        append(UInt16(values.count), to: &bytes)
        for number in [Double(layoutFingerprint), Double(sourceTimeMs), Double(materializedAtMs)] {
            append(number.bitPattern, to: &bytes)
        }
        for value in values {
            switch value {
            case .null:
                bytes.append(Tag.null.rawValue)
            case .double(let number):
                bytes.append(Tag.double.rawValue)
                append(number.bitPattern, to: &bytes)
            case .int(let number):
                bytes.append(Tag.int.rawValue)
                append(UInt64(bitPattern: number), to: &bytes)
            case .string(let text):
                bytes.append(Tag.string.rawValue)
                append(UInt32(text.utf8.count), to: &bytes)
                bytes.append(contentsOf: text.utf8)
            case .bool(let flag):
                bytes.append(Tag.bool.rawValue)
                bytes.append(flag ? 1 : 0)
            }
        }
        return bytes
    }

    private func append(_ number: some FixedWidthInteger, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: number.littleEndian) { bytes.append(contentsOf: $0) }
    }

    public enum DecodingError: Error, Equatable {
        case badMagic, truncated, unknownTag(UInt8), trailingBytes
    }

    /// Never traps on corrupt input: the lookup path treats a vector it cannot read as absent.
    public init(decoding bytes: some Collection<UInt8>) throws(DecodingError) {
        self = try readContiguously(bytes) { (contiguous) throws(DecodingError) in try BatchVector(contiguous: contiguous) }
    }

    private init(contiguous bytes: UnsafeBufferPointer<UInt8>) throws(DecodingError) {
        var reader = ByteReader(bytes: bytes)
        guard reader.bytes.count >= BatchVector.headerBytes else { throw .truncated }
        guard reader.bytes[0..<3].elementsEqual(BatchVector.magic) else { throw .badMagic }
        reader.offset = 3
        let count = Int(try reader.integer(UInt16.self))
        layoutFingerprint = UInt32(exactly: Double(bitPattern: try reader.integer(UInt64.self))) ?? 0
        sourceTimeMs = Int64(exactly: Double(bitPattern: try reader.integer(UInt64.self))) ?? 0
        materializedAtMs = Int64(exactly: Double(bitPattern: try reader.integer(UInt64.self))) ?? 0
        var values: [BatchValue] = []
        values.reserveCapacity(count)
        for _ in 0..<count {
            let tagByte = try reader.integer(UInt8.self)
            guard let tag = Tag(rawValue: tagByte) else { throw .unknownTag(tagByte) }
            switch tag {
            case .null: values.append(.null)
            case .double: values.append(.double(Double(bitPattern: try reader.integer(UInt64.self))))
            case .int: values.append(.int(Int64(bitPattern: try reader.integer(UInt64.self))))
            case .string:
                let length = Int(try reader.integer(UInt32.self))
                values.append(.string(String(decoding: try reader.take(length), as: UTF8.self)))
            case .bool: values.append(.bool(try reader.integer(UInt8.self) != 0))
            }
        }
        guard reader.offset == reader.bytes.count else { throw .trailingBytes }
        self.values = values
    }
}

/// Reads little-endian integers and byte runs, throwing instead of reading past the end.
private struct ByteReader {
    let bytes: UnsafeBufferPointer<UInt8>
    var offset = 0

    mutating func take(_ count: Int) throws(BatchVector.DecodingError) -> Slice<UnsafeBufferPointer<UInt8>> {
        guard count <= bytes.count - offset else { throw .truncated }
        defer { offset += count }
        return bytes[offset..<(offset + count)]
    }

    mutating func integer<Number: FixedWidthInteger>(_: Number.Type) throws(BatchVector.DecodingError) -> Number {
        var number: Number = 0
        for (index, byte) in try take(MemoryLayout<Number>.size).enumerated() {
            number |= Number(truncatingIfNeeded: byte) << (8 * index)
        }
        return number
    }
}
