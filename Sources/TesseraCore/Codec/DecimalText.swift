/// Numbers as decimal text appended straight to bytes, with no String made for each.
public enum DecimalText {
    public static func append(_ value: Int64, to bytes: inout [UInt8]) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            var magnitude = value.magnitude
            var start = digits.count
            repeat {
                start -= 1
                digits[start] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
            } while magnitude > 0
            if value < 0 {
                start -= 1
                digits[start] = UInt8(ascii: "-")
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: digits[start...]))
        }
    }

    /// Appends the text Swift's `description` gives `value` (the shortest that reads back as
    /// the same double) when that text has at most `maxFractionDigits` digits after the point
    /// and `value` lies in 1e-4 ..< 1e15 or is zero, and returns true; otherwise appends nothing
    /// and returns false. Most feature values (counts, sums of prices, short ratios) are such
    /// numbers, and formatting them with integers costs a fraction of the general algorithm.
    ///
    /// Why it is the same text: with `k` digits after the point, `m / 10^k` (m a whole number
    /// under 2^50, 10^k exact) is a correctly rounded division, so it equals `value` exactly
    /// when the decimal `m·10^-k` reads back as `value`. Trying k = 0, 1, 2, … finds the fewest
    /// digits, and `m` is the whole number nearest `value·10^k` (that product is within 1/16
    /// of exact below 2^50), the one closest to `value` as `description` chooses.
    public static func appendFixedPoint(_ value: Double, to bytes: inout [UInt8], maxFractionDigits: Int = 6) -> Bool {
        if value == 0 {
            bytes.append(contentsOf: value.sign == .minus ? [0x2D, 0x30, 0x2E, 0x30] : [0x30, 0x2E, 0x30])
            return true
        }
        let magnitude = value.magnitude
        guard magnitude >= 1e-4, magnitude < 1e15 else { return false }
        var scale = 1.0
        for fractionDigits in 0...maxFractionDigits {
            let scaled = (magnitude * scale).rounded()
            guard scaled < 1_125_899_906_842_624 else { return false }  // 2^50
            if scaled / scale == magnitude {
                appendFixedPoint(UInt64(scaled), fractionDigits: fractionDigits, negative: value < 0, to: &bytes)
                return true
            }
            scale *= 10
        }
        return false
    }

    /// `digits` with a point before its last `fractionDigits` (at least one digit each side;
    /// "220.0" for none, as `description` writes whole doubles).
    private static func appendFixedPoint(_ digits: UInt64, fractionDigits: Int, negative: Bool, to bytes: inout [UInt8]) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 24) { text in
            var remaining = digits
            var start = text.count
            if fractionDigits == 0 {
                start -= 2
                text[start] = UInt8(ascii: ".")
                text[start + 1] = UInt8(ascii: "0")
            } else {
                for _ in 0..<fractionDigits {
                    start -= 1
                    text[start] = UInt8(ascii: "0") + UInt8(remaining % 10)
                    remaining /= 10
                }
                start -= 1
                text[start] = UInt8(ascii: ".")
            }
            repeat {
                start -= 1
                text[start] = UInt8(ascii: "0") + UInt8(remaining % 10)
                remaining /= 10
            } while remaining > 0
            if negative {
                start -= 1
                text[start] = UInt8(ascii: "-")
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: text[start...]))
        }
    }
}
