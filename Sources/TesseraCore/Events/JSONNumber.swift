/// A number as written: its digits stay in the input until a field asks for an integer or a double.
public struct JSONNumber {
    /// Exponents are clamped to this: no message can shift the decimal point further and stay meaningful.
    static let exponentLimit = 1_000_000

    /// The whole token, sign and exponent included.
    var text: Range<Int>
    var isNegative: Bool
    var integerDigits: Range<Int>
    /// Empty, and starting where the integer digits end, when there is no fraction.
    var fractionDigits: Range<Int>
    /// The decimal exponent after `e`, clamped to ±`exponentLimit`.
    var exponent: Int

    /// Integer and fraction digits with the '.' between them: callers skip the '.'.
    var significand: Range<Int> { integerDigits.lowerBound..<fractionDigits.upperBound }
}

extension JSONReader {
    /// The number's exact value when it is an integer that fits in Int64, else nil.
    ///
    /// Integral spellings such as `3.0`, `3e0` or `30e-1` count as integers: JSON has a single
    /// number type, and many producers write every number as a double.
    public func exactInteger(_ number: JSONNumber) -> Int64? {
        // Digits before `pointPosition` (counting integer then fraction digits) are the integer
        // part once the exponent is applied; any digit at or after it must be zero.
        let digitCount = number.integerDigits.count + number.fractionDigits.count
        let pointPosition = number.integerDigits.count + number.exponent
        var magnitude: UInt64 = 0
        var position = 0
        for index in number.significand where bytes[index] != UInt8(ascii: ".") {
            let digit = UInt64(bytes[index] - UInt8(ascii: "0"))
            if position < pointPosition {
                guard magnitude <= (UInt64(Int64.max) - digit) / 10 else { return nil }
                magnitude = magnitude * 10 + digit
            } else if digit != 0 {
                return nil
            }
            position += 1
        }
        // Trailing zeros implied by a positive exponent, e.g. 17e11.
        if magnitude != 0 {
            for _ in digitCount..<max(digitCount, pointPosition) {
                guard magnitude <= UInt64(Int64.max) / 10 else { return nil }
                magnitude *= 10
            }
        }
        return number.isNegative ? -Int64(magnitude) : Int64(magnitude)
    }

    /// The nearest double; values beyond the double range become ±infinity.
    func double(_ number: JSONNumber) -> Double {
        // Clinger's fast path: with at most 15 significant digits and |scale| <= 22, both the
        // mantissa and the power of ten are exact doubles, so one multiply or divide rounds correctly.
        var mantissa: UInt64 = 0
        var significantDigits = 0
        for index in number.significand where bytes[index] != UInt8(ascii: ".") {
            let digit = UInt64(bytes[index] - UInt8(ascii: "0"))
            if mantissa == 0 && digit == 0 { continue }
            significantDigits += 1
            if significantDigits > 15 { break }
            mantissa = mantissa * 10 + digit
        }
        if mantissa == 0 { return number.isNegative ? -0.0 : 0.0 }
        let scale = number.exponent - number.fractionDigits.count
        guard significantDigits <= 15, abs(scale) < Self.exactPowersOfTen.count else {
            // Rare in events: let the standard library's correctly rounded parser handle it.
            return Double(String(decoding: UnsafeRawBufferPointer(rebasing: bytes[number.text]), as: UTF8.self))!
        }
        let magnitude = Double(mantissa)
        let value = scale >= 0 ? magnitude * Self.exactPowersOfTen[scale] : magnitude / Self.exactPowersOfTen[-scale]
        return number.isNegative ? -value : value
    }

    private static let exactPowersOfTen: [Double] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
        1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ]
}
