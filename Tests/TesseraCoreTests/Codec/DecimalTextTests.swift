import Testing
@testable import TesseraCore

/// The fixed-point shortcut must write exactly what `description` writes, or decline.
@Suite struct DecimalTextTests {
    func fixedPoint(_ value: Double) -> String? {
        var bytes: [UInt8] = []
        guard DecimalText.appendFixedPoint(value, to: &bytes) else {
            #expect(bytes.isEmpty, "declined after writing for \(value)")
            return nil
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    @Test func writesWhatDescriptionWrites() {
        let values: [Double] = [
            0, -0.0, 1, -1, 220, 1_013.5, 0.0895, 0.0001, 0.00012, 57.25, -3.5, 24.99, 0.731, 0.1, 0.2, 0.3, 1.0 / 3.0,
            0.1 + 0.2, 999_999_999_999_999, 1e15, 1e-5, 9.999e-5, 123_456.789012, 4.35, 2.675, 1.005, 0.000123456,
        ]
        for value in values {
            if let text = fixedPoint(value) { #expect(text == value.description, "\(value)") }
        }
        #expect(fixedPoint(1_013.5) == "1013.5")
        #expect(fixedPoint(-0.0) == "-0.0")
        #expect(fixedPoint(220) == "220.0")
        // Beyond the shortcut: exponents, and more than six decimals.
        #expect(fixedPoint(1e-5) == nil && fixedPoint(1e15) == nil && fixedPoint(1.0 / 3.0) == nil && fixedPoint(0.1 + 0.2) == nil)
    }

    /// Prices, sums and ratios as features produce them, and random bit patterns; seeded, so a
    /// failure names a value that fails again.
    @Test func agreesWithDescriptionOnManyValues() {
        var random = DemoRandom(seed: 20_261_203)
        var taken = 0
        for round in 0..<300_000 {
            let value: Double
            switch round % 4 {
            case 0: value = Double(Int64.random(in: -10_000_000...10_000_000, using: &random)) / [1, 10, 100, 1_000, 10_000, 1e6][round % 6]
            case 1: value = Double(Int.random(in: 0...5_000, using: &random)) * 0.01 * Double(Int.random(in: 1...40, using: &random))
            case 2: value = Double(Int.random(in: 0...1_000, using: &random)) / Double(Int.random(in: 1...1_000, using: &random))
            default: value = Double(bitPattern: UInt64.random(in: 0...UInt64.max, using: &random))
            }
            guard value.isFinite, let text = fixedPoint(value) else { continue }
            taken += 1
            if text != value.description {
                Issue.record("\(value.description) written as \(text)")
                return
            }
        }
        #expect(taken > 100_000)
    }
}

extension DemoRandom: RandomNumberGenerator {}
