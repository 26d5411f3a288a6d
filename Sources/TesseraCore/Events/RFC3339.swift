/// RFC 3339 timestamps such as `2026-11-21T10:15:30.120Z` or `2026-11-21T12:15:30+02:00`,
/// read and written by hand: this is the ingestion hot path, and Foundation's formatters are
/// slow and locale-bound.
public enum RFC3339 {
    /// Epoch milliseconds of a `date-time` (RFC 3339 §5.6), the fraction truncated to milliseconds;
    /// nil when the text is not one.
    ///
    /// `T`/`Z` may be lower case (the ABNF is case-insensitive). A leap second (`:60`) is accepted
    /// as the RFC allows and lands on the first millisecond of the next minute's second 0.
    /// (Strings: spine files, command-line options.)
    public static func epochMilliseconds(_ text: String) -> Int64? {
        var text = text
        return text.withUTF8 { epochMilliseconds(UnsafeRawBufferPointer($0)) }
    }

    static func epochMilliseconds(_ text: UnsafeRawBufferPointer) -> Int64? {
        var cursor = 0

        func digits(_ count: Int) -> Int64? {
            guard cursor + count <= text.count else { return nil }
            var value: Int64 = 0
            for index in cursor..<(cursor + count) {
                guard let digit = digitValue(text[index]) else { return nil }
                value = value * 10 + digit
            }
            cursor += count
            return value
        }
        func skip(_ accepted: UInt8...) -> Bool {
            guard cursor < text.count, accepted.contains(text[cursor]) else { return false }
            cursor += 1
            return true
        }

        guard let year = digits(4), skip(UInt8(ascii: "-")), let month = digits(2), skip(UInt8(ascii: "-")),
            let day = digits(2), skip(UInt8(ascii: "T"), UInt8(ascii: "t")),
            let hour = digits(2), skip(UInt8(ascii: ":")), let minute = digits(2), skip(UInt8(ascii: ":")),
            let second = digits(2)
        else { return nil }

        var millisecond: Int64 = 0
        if skip(UInt8(ascii: ".")) {
            let fractionStart = cursor
            while cursor < text.count, let digit = digitValue(text[cursor]) {
                // Only the first three digits count: the fraction is truncated, not rounded.
                if cursor - fractionStart < 3 { millisecond = millisecond * 10 + digit }
                cursor += 1
            }
            let fractionLength = cursor - fractionStart
            guard fractionLength > 0 else { return nil }
            for _ in fractionLength..<max(fractionLength, 3) { millisecond *= 10 }
        }

        var offsetSeconds: Int64 = 0
        if !skip(UInt8(ascii: "Z"), UInt8(ascii: "z")) {
            guard cursor < text.count, text[cursor] == UInt8(ascii: "+") || text[cursor] == UInt8(ascii: "-") else {
                return nil
            }
            let sign: Int64 = text[cursor] == UInt8(ascii: "-") ? -1 : 1
            cursor += 1
            guard let offsetHour = digits(2), skip(UInt8(ascii: ":")), let offsetMinute = digits(2),
                offsetHour <= 23, offsetMinute <= 59
            else { return nil }
            offsetSeconds = sign * (offsetHour * 3_600 + offsetMinute * 60)
        }

        guard cursor == text.count, (1...12).contains(month),
            (1...CivilCalendar.daysInMonth(year: year, month: month)).contains(day),
            hour <= 23, minute <= 59, second <= 60
        else { return nil }

        let days = CivilCalendar.daysSinceEpoch(year: year, month: month, day: day)
        let seconds = days * 86_400 + hour * 3_600 + minute * 60 + second - offsetSeconds
        return seconds * 1_000 + millisecond
    }

    /// Writes `epochMilliseconds` as a `date-time` with `fractionDigits` (0...9) fraction digits,
    /// in UTC with `Z` when `utcOffsetMinutes` is nil, else in that offset (`+00:00` for 0).
    public static func string(epochMilliseconds: Int64, utcOffsetMinutes: Int? = nil, fractionDigits: Int = 3) -> String {
        var text: [UInt8] = []
        text.reserveCapacity(35)
        append(epochMilliseconds: epochMilliseconds, utcOffsetMinutes: utcOffsetMinutes, fractionDigits: fractionDigits, to: &text)
        return String(decoding: text, as: UTF8.self)
    }

    /// The same text appended as UTF-8 bytes, for writers that build a buffer (the lookup API's responses).
    public static func append(
        epochMilliseconds: Int64, utcOffsetMinutes: Int? = nil, fractionDigits: Int = 3, to text: inout [UInt8]
    ) {
        precondition((0...9).contains(fractionDigits), "RFC 3339 fraction digits must be 0...9")
        let offsetMinutes = Int64(utcOffsetMinutes ?? 0)
        let local = epochMilliseconds + offsetMinutes * 60_000
        let days = TileMath.floorDiv(local, CivilCalendar.millisecondsPerDay)
        let millisecondOfDay = local - days * CivilCalendar.millisecondsPerDay
        let date = CivilCalendar.date(daysSinceEpoch: days)
        precondition((0...9_999).contains(date.year), "RFC 3339 years have four digits")

        appendDigits(date.year, width: 4, to: &text)
        text.append(UInt8(ascii: "-"))
        appendDigits(date.month, width: 2, to: &text)
        text.append(UInt8(ascii: "-"))
        appendDigits(date.day, width: 2, to: &text)
        text.append(UInt8(ascii: "T"))
        appendDigits(millisecondOfDay / 3_600_000, width: 2, to: &text)
        text.append(UInt8(ascii: ":"))
        appendDigits(millisecondOfDay / 60_000 % 60, width: 2, to: &text)
        text.append(UInt8(ascii: ":"))
        appendDigits(millisecondOfDay / 1_000 % 60, width: 2, to: &text)
        if fractionDigits > 0 {
            text.append(UInt8(ascii: "."))
            let millisecond = millisecondOfDay % 1_000
            let fraction =
                fractionDigits >= 3
                ? millisecond * powerOfTen(fractionDigits - 3) : millisecond / powerOfTen(3 - fractionDigits)
            appendDigits(fraction, width: fractionDigits, to: &text)
        }
        if let utcOffsetMinutes {
            text.append(utcOffsetMinutes < 0 ? UInt8(ascii: "-") : UInt8(ascii: "+"))
            appendDigits(Int64(abs(utcOffsetMinutes) / 60), width: 2, to: &text)
            text.append(UInt8(ascii: ":"))
            appendDigits(Int64(abs(utcOffsetMinutes) % 60), width: 2, to: &text)
        } else {
            text.append(UInt8(ascii: "Z"))
        }
    }

    private static func digitValue(_ byte: UInt8) -> Int64? {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) ? Int64(byte - UInt8(ascii: "0")) : nil
    }

    private static func appendDigits(_ value: Int64, width: Int, to text: inout [UInt8]) {
        var divisor = powerOfTen(width - 1)
        while divisor > 0 {
            text.append(UInt8(ascii: "0") + UInt8(value / divisor % 10))
            divisor /= 10
        }
    }

    private static func powerOfTen(_ exponent: Int) -> Int64 {
        (0..<exponent).reduce(1) { power, _ in power * 10 }
    }
}
