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
        self = try readContiguously(bytes) { (contiguous) throws(DecodingError) in
            var cells: [BatchCell] = []
            let header = try Self.read(UnsafeRawBufferPointer(contiguous), into: &cells)
            return BatchVector(
                layoutFingerprint: header.layoutFingerprint, sourceTimeMs: header.sourceTimeMs,
                materializedAtMs: header.materializedAtMs,
                values: cells.map { cell in
                    switch cell {
                    case .null: .null
                    case .double(let number): .double(number)
                    case .int(let number): .int(number)
                    case .string(let range): .string(String(decoding: contiguous[range], as: UTF8.self))
                    case .bool(let flag): .bool(flag)
                    }
                })
        }
    }

    /// What a TB1 vector's header says.
    public struct Header: Sendable {
        public var layoutFingerprint: UInt32
        public var sourceTimeMs: Int64
        public var materializedAtMs: Int64
    }

    /// Checks a packed vector's shape, reads its header and appends one cell per value to
    /// `cells`, strings left where they lie: the lookup path reuses one `cells` for all its
    /// vectors and copies each string it shows once, straight into the response.
    public static func read(_ bytes: UnsafeRawBufferPointer, into cells: inout [BatchCell]) throws(DecodingError) -> Header {
        var reader = ByteReader(bytes: bytes)
        guard bytes.count >= headerBytes else { throw .truncated }
        // `magic`, byte by byte: no array to reach for each of a lookup's vectors.
        guard bytes[0] == UInt8(ascii: "T"), bytes[1] == UInt8(ascii: "B"), bytes[2] == UInt8(ascii: "1") else { throw .badMagic }
        reader.offset = 3
        let count = Int(try reader.integer(UInt16.self))
        let header = Header(
            layoutFingerprint: UInt32(exactly: Double(bitPattern: try reader.integer(UInt64.self))) ?? 0,
            sourceTimeMs: Int64(exactly: Double(bitPattern: try reader.integer(UInt64.self))) ?? 0,
            materializedAtMs: Int64(exactly: Double(bitPattern: try reader.integer(UInt64.self))) ?? 0)
        // No reserveCapacity: an exact reservation per vector would copy the whole array each time.
        for _ in 0..<count {
            let tagByte = try reader.integer(UInt8.self)
            guard let tag = Tag(rawValue: tagByte) else { throw .unknownTag(tagByte) }
            switch tag {
            case .null: cells.append(.null)
            case .double: cells.append(.double(Double(bitPattern: try reader.integer(UInt64.self))))
            case .int: cells.append(.int(Int64(bitPattern: try reader.integer(UInt64.self))))
            case .string:
                let length = Int(try reader.integer(UInt32.self))
                cells.append(.string(try reader.take(length)))
            case .bool: cells.append(.bool(try reader.integer(UInt8.self) != 0))
            }
        }
        guard reader.offset == bytes.count else { throw .trailingBytes }
        return header
    }
}

/// One value of a packed batch vector as `BatchVector.read` finds it: a string is where its
/// UTF-8 bytes lie in the vector.
public enum BatchCell: Sendable, Equatable {
    case null
    case double(Double)
    case int(Int64)
    case string(Range<Int>)
    case bool(Bool)
}

/// Reads little-endian integers and byte runs, throwing instead of reading past the end.
private struct ByteReader {
    let bytes: UnsafeRawBufferPointer
    var offset = 0

    /// The next `count` bytes' place in `bytes`.
    mutating func take(_ count: Int) throws(BatchVector.DecodingError) -> Range<Int> {
        guard count <= bytes.count - offset else { throw .truncated }
        defer { offset += count }
        return offset..<(offset + count)
    }

    mutating func integer<Number: FixedWidthInteger>(_: Number.Type) throws(BatchVector.DecodingError) -> Number {
        let range = try take(MemoryLayout<Number>.size)
        return Number(littleEndian: bytes.loadUnaligned(fromByteOffset: range.lowerBound, as: Number.self))
    }
}
