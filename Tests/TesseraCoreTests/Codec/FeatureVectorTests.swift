import Testing
@testable import TesseraCore

@Suite struct FeatureVectorTests {
    @Test func roundTrips() throws {
        let vector = FeatureVector(layoutFingerprint: 4_000_000_001, newestEventMs: 1_763_720_000_123, computedAtMs: 1_763_720_000_456, values: [0, 1.5, .nan, 1e15])
        let decoded = try FeatureVector(decoding: vector.encoded())
        #expect(decoded.layoutFingerprint == vector.layoutFingerprint)
        #expect(decoded.newestEventMs == vector.newestEventMs && decoded.computedAtMs == vector.computedAtMs)
        #expect(decoded.values[0] == 0 && decoded.values[1] == 1.5 && decoded.values[2].isNaN && decoded.values[3] == 1e15)
    }

    @Test func rejectsForeignBytes() {
        #expect(throws: FeatureVector.DecodingError.badMagic) { try FeatureVector(decoding: Array("XX1".utf8) + [UInt8](repeating: 0, count: 26)) }
        #expect(throws: FeatureVector.DecodingError.truncated) { try FeatureVector(decoding: Array("TV1".utf8)) }
        var bytes = FeatureVector(layoutFingerprint: 1, newestEventMs: 0, computedAtMs: 0, values: [1, 2]).encoded()
        bytes.removeLast()
        #expect(throws: FeatureVector.DecodingError.countMismatch) { try FeatureVector(decoding: bytes) }
    }
}
