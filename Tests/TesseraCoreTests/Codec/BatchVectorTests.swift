import Testing
@testable import TesseraCore

@Suite struct BatchVectorTests {
    let vector = BatchVector(
        layoutFingerprint: 4_000_000_001, sourceTimeMs: 1_763_720_000_123, materializedAtMs: 1_763_720_000_456,
        values: [.double(59.9), .int(-9_007_199_254_740_993), .string("café \u{1F600} \"quoted\""), .string(""), .bool(true),
                 .bool(false), .null])

    @Test func roundTripsEveryType() throws {
        #expect(try BatchVector(decoding: vector.encoded()) == vector)
        #expect(try BatchVector(decoding: BatchVector(layoutFingerprint: 7, sourceTimeMs: -1, materializedAtMs: 0, values: []).encoded()).sourceTimeMs == -1)
    }

    /// The write script reads the fingerprint and source time where TV1 keeps its first two numbers.
    @Test func headerHasTheFingerprintAndSourceTimeAtFixedOffsets() {
        let bytes = vector.encoded()
        func double(at offset: Int) -> Double {
            Double(bitPattern: (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[offset + $1]) << (8 * UInt64($1)) })
        }
        #expect(Array(bytes.prefix(3)) == Array("TB1".utf8))
        #expect(bytes[3] == 7 && bytes[4] == 0)
        #expect(double(at: 5) == 4_000_000_001 && double(at: 13) == 1_763_720_000_123)
    }

    @Test func rejectsForeignOrDamagedBytes() {
        let bytes = vector.encoded()
        #expect(throws: BatchVector.DecodingError.badMagic) { try BatchVector(decoding: Array("TV1".utf8) + bytes.dropFirst(3)) }
        #expect(throws: BatchVector.DecodingError.truncated) { try BatchVector(decoding: bytes.prefix(20)) }
        #expect(throws: BatchVector.DecodingError.truncated) { try BatchVector(decoding: bytes.dropLast(2)) }
        #expect(throws: BatchVector.DecodingError.trailingBytes) { try BatchVector(decoding: bytes + [0]) }
        var badTag = BatchVector(layoutFingerprint: 1, sourceTimeMs: 0, materializedAtMs: 0, values: [.null]).encoded()
        badTag[BatchVector.headerBytes] = 9
        #expect(throws: BatchVector.DecodingError.unknownTag(9)) { try BatchVector(decoding: badTag) }
        // A string length past the end must not read out of bounds.
        var longString = BatchVector(layoutFingerprint: 1, sourceTimeMs: 0, materializedAtMs: 0, values: [.string("ab")]).encoded()
        longString[BatchVector.headerBytes + 1] = 0xFF
        #expect(throws: BatchVector.DecodingError.truncated) { try BatchVector(decoding: longString) }
    }
}
