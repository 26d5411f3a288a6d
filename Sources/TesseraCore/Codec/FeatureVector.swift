/// The packed feature vector stored in Redis for one entity of one view.
///
/// Layout (little-endian), written by the Redis apply script with `struct.pack('<c3Hddd' ..)`
/// and read here on the lookup path:
///   "TV1" | UInt16 feature count | Float64 layout fingerprint | Float64 newest event time (ms)
///   | Float64 computed-at time (ms) | count × Float64 values (NaN = no value)
/// Every number is a Float64 because that is what Lua has; times in ms and counts are
/// exact below 2^53.
public struct FeatureVector: Sendable, Equatable {
    public var layoutFingerprint: UInt32
    public var newestEventMs: Int64
    public var computedAtMs: Int64
    public var values: [Double]

    public init(layoutFingerprint: UInt32, newestEventMs: Int64, computedAtMs: Int64, values: [Double]) {
        self.layoutFingerprint = layoutFingerprint
        self.newestEventMs = newestEventMs
        self.computedAtMs = computedAtMs
        self.values = values
    }

    public static let magic: [UInt8] = Array("TV1".utf8)
    public static let headerBytes = 3 + 2 + 8 * 3

    public func encoded() -> [UInt8] {
        var bytes = FeatureVector.magic
        bytes.reserveCapacity(FeatureVector.headerBytes + 8 * values.count)
        withUnsafeBytes(of: UInt16(values.count).littleEndian) { bytes.append(contentsOf: $0) }
        for number in [Double(layoutFingerprint), Double(newestEventMs), Double(computedAtMs)] + values {
            withUnsafeBytes(of: number.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
        }
        return bytes
    }

    public enum DecodingError: Error, Equatable {
        case badMagic, truncated, countMismatch
    }

    public init(decoding bytes: some Collection<UInt8>) throws(DecodingError) {
        self = try readContiguously(bytes) { (contiguous) throws(DecodingError) in
            let raw = UnsafeRawBufferPointer(contiguous)
            let header = try Self.header(of: raw)
            return FeatureVector(
                layoutFingerprint: header.layoutFingerprint, newestEventMs: header.newestEventMs,
                computedAtMs: header.computedAtMs, values: (0..<header.count).map { Self.value($0, of: raw) })
        }
    }

    /// What a TV1 vector's header says; `count` Float64 values follow it.
    public struct Header: Sendable {
        public var layoutFingerprint: UInt32
        public var newestEventMs: Int64
        public var computedAtMs: Int64
        public var count: Int
    }

    /// Checks a packed vector's shape and reads its header, leaving its values where they lie:
    /// the lookup path reads each value it shows once, with `value(_:of:)`.
    public static func header(of bytes: UnsafeRawBufferPointer) throws(DecodingError) -> Header {
        guard bytes.count >= headerBytes else { throw .truncated }
        // `magic`, byte by byte: no array to reach for each of a lookup's vectors.
        guard bytes[0] == UInt8(ascii: "T"), bytes[1] == UInt8(ascii: "V"), bytes[2] == UInt8(ascii: "1") else { throw .badMagic }
        let count = Int(UInt16(bytes[3]) | UInt16(bytes[4]) << 8)
        guard bytes.count == headerBytes + 8 * count else { throw .countMismatch }
        // Exact conversions: a corrupt vector must not trap the lookup path.
        return Header(
            layoutFingerprint: UInt32(exactly: double(at: 5, in: bytes)) ?? 0,
            newestEventMs: Int64(exactly: double(at: 13, in: bytes)) ?? 0,
            computedAtMs: Int64(exactly: double(at: 21, in: bytes)) ?? 0,
            count: count)
    }

    /// Value `index` of a vector whose header `header(of:)` read; `index` < its `count`.
    public static func value(_ index: Int, of bytes: UnsafeRawBufferPointer) -> Double {
        double(at: headerBytes + 8 * index, in: bytes)
    }

    private static func double(at offset: Int, in bytes: UnsafeRawBufferPointer) -> Double {
        Double(bitPattern: UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self)))
    }
}
