import Testing
@testable import TesseraCore

@Suite struct TimestampParsingTests {
    private func decodedTimestamp(_ json: String) throws -> Int64 {
        try EventFixtures.decode(
            EventFixtures.minimal(replacing: #""2026-11-21T10:15:30.120Z""#, with: json)
        ).get().timestampMs
    }

    private func parse(_ text: String) -> Int64? {
        Array(text.utf8).withUnsafeBytes(RFC3339.epochMilliseconds)
    }

    @Test func acceptsEveryContractForm() throws {
        let expected = EventFixtures.exampleTimestampMs
        #expect(try decodedTimestamp(#""2026-11-21T10:15:30.120Z""#) == expected)
        #expect(try decodedTimestamp(#""2026-11-21T12:15:30.120+02:00""#) == expected)
        #expect(try decodedTimestamp(#""2026-11-21T05:15:30.120-05:00""#) == expected)
        #expect(try decodedTimestamp(#""2026-11-21T10:15:30.120999999Z""#) == expected)  // truncated, not rounded
        #expect(try decodedTimestamp(#""2026-11-21T10:15:30.12Z""#) == expected)
        #expect(try decodedTimestamp(#""2026-11-21t10:15:30.120z""#) == expected)
        #expect(try decodedTimestamp(#""2026-11-21T10:15:30Z""#) == expected - 120)
        #expect(try decodedTimestamp(#""2026-11-21T10:15:30.1Z""#) == expected - 20)
        #expect(try decodedTimestamp("1795256130120") == expected)
        #expect(try decodedTimestamp("1.79525613012e12") == expected)
    }

    @Test func fractionDigitsBeyondMillisecondsAreTruncated() {
        #expect(parse("2026-11-21T10:15:30.123456789Z") == EventFixtures.exampleTimestampMs + 3)
        #expect(parse("2026-11-21T10:15:30.000000001Z") == EventFixtures.exampleTimestampMs - 120)
    }

    @Test func calendarEdges() {
        #expect(parse("2000-01-01T00:00:00Z") == 946_684_800_000)
        #expect(parse("2024-02-29T23:59:59.999Z") == 1_709_251_199_999)
        #expect(parse("2000-02-29T00:00:00Z") != nil)  // divisible by 400: leap
        #expect(parse("2100-02-29T00:00:00Z") == nil)  // divisible by 100: common
        #expect(parse("2026-04-31T00:00:00Z") == nil)
        #expect(parse("2026-11-21T00:30:00+01:00") == parse("2026-11-20T23:30:00Z"))
        #expect(parse("2026-12-31T23:59:60Z") == parse("2027-01-01T00:00:00Z"))  // leap second rolls over
        #expect(parse("2026-11-21T10:15:30+24:00") == nil)
        #expect(parse("2026-11-21T10:15:30.120Z ") == nil)
        #expect(parse("+2026-11-21T10:15:30Z") == nil)
    }

    @Test func calendarRoundTripsEveryDayFrom1999To2101() {
        let first = CivilCalendar.daysSinceEpoch(year: 1999, month: 1, day: 1)
        let last = CivilCalendar.daysSinceEpoch(year: 2101, month: 12, day: 31)
        var expected = (year: Int64(1999), month: Int64(1), day: Int64(1))
        for days in first...last {
            let date = CivilCalendar.date(daysSinceEpoch: days)
            #expect(date == expected)
            #expect(CivilCalendar.daysSinceEpoch(year: date.year, month: date.month, day: date.day) == days)
            if expected.day < CivilCalendar.daysInMonth(year: expected.year, month: expected.month) {
                expected.day += 1
            } else if expected.month < 12 {
                expected = (expected.year, expected.month + 1, 1)
            } else {
                expected = (expected.year + 1, 1, 1)
            }
        }
        #expect(CivilCalendar.daysSinceEpoch(year: 1970, month: 1, day: 1) == 0)
    }

    @Test func writesWhatItReads() {
        let ms = EventFixtures.exampleTimestampMs
        #expect(RFC3339.string(epochMilliseconds: ms) == "2026-11-21T10:15:30.120Z")
        #expect(RFC3339.string(epochMilliseconds: ms, utcOffsetMinutes: 120) == "2026-11-21T12:15:30.120+02:00")
        #expect(RFC3339.string(epochMilliseconds: ms, utcOffsetMinutes: -330) == "2026-11-21T04:45:30.120-05:30")
        #expect(RFC3339.string(epochMilliseconds: ms, utcOffsetMinutes: 0, fractionDigits: 6)
            == "2026-11-21T10:15:30.120000+00:00")
        #expect(RFC3339.string(epochMilliseconds: ms, fractionDigits: 0) == "2026-11-21T10:15:30Z")
        #expect(RFC3339.string(epochMilliseconds: ms, fractionDigits: 1) == "2026-11-21T10:15:30.1Z")
        for offset in [-720, -330, 0, 60, 345, 840] {
            for sample in stride(from: Int64(946_684_800_000), to: 4_102_444_800_000, by: 86_399_977_123) {
                let text = RFC3339.string(epochMilliseconds: sample, utcOffsetMinutes: offset)
                #expect(parse(text) == sample, "\(text)")
            }
        }
    }
}
