import Testing
@testable import TesseraCore

@Suite struct JSONStringTests {
    private func decodedUserID(_ jsonString: String) throws -> String {
        try EventFixtures.decode(EventFixtures.minimal(replacing: #""u-1""#, with: jsonString)).get().userID
    }

    @Test func decodesEveryEscape() throws {
        #expect(try decodedUserID(#""a\"b\\c\/d""#) == "a\"b\\c/d")
        // Whitespace escapes decode to real whitespace, which a query collapses to spaces.
        let query = try EventFixtures.decode(EventFixtures.minimal(with: #""query": "a\nb\rc\td""#)).get().query
        #expect(query == "a b c d")
        // \b and \f decode to control characters, which ids refuse.
        #expect(throws: EventRejection.self) { try decodedUserID(#""a\bb""#) }
        #expect(throws: EventRejection.self) { try decodedUserID(#""a\fb""#) }
    }

    @Test func decodesUnicodeEscapes() throws {
        #expect(try decodedUserID(#""caf\u00e9""#) == "café")
        #expect(try decodedUserID(#""caf\u00E9""#) == "café")
        #expect(try decodedUserID(#""\u20ac 5""#) == "€ 5")
        #expect(try decodedUserID(#""\ud83d\ude00!""#) == "😀!")  // surrogate pair
        #expect(try decodedUserID(#""\uD834\uDD1E""#) == "𝄞")
        #expect(try decodedUserID(#""\u0041\u0042""#) == "AB")
    }

    @Test func keepsRawUTF8() throws {
        #expect(try decodedUserID(#""Łódź-😀-日本""#) == "Łódź-😀-日本")
    }

    @Test func escapedAndRawSpellingsAreTheSameValue() throws {
        let escaped = try EventFixtures.decode(
            EventFixtures.minimal(replacing: #""event_type": "view""#, with: #""event_type": "\u0076iew""#)
        ).get()
        #expect(escaped.type == .view)
        let escapedName = try EventFixtures.decode(
            EventFixtures.minimal(replacing: #""product_id""#, with: #""product\u005Fid""#)
        ).get()
        #expect(escapedName.productID == "p-1")
    }

    @Test func readsNumbersExactly() {
        func integer(_ text: String) -> Int64? {
            Array(text.utf8).withUnsafeBytes { bytes in
                var reader = JSONReader(bytes)
                guard case .number(let number) = try? reader.readValue(depth: 1) else { return nil }
                return reader.exactInteger(number)
            }
        }
        #expect(integer("0") == 0)
        #expect(integer("-0") == 0)
        #expect(integer("42") == 42)
        #expect(integer("-42") == -42)
        #expect(integer("4.20e1") == 42)
        #expect(integer("420e-1") == 42)
        #expect(integer("0.000e5") == 0)
        #expect(integer("0e999999999999") == 0)
        #expect(integer("17e11") == 1_700_000_000_000)
        #expect(integer("9223372036854775807") == Int64.max)
        #expect(integer("-9223372036854775807") == -Int64.max)
        #expect(integer("9223372036854775808") == nil)
        #expect(integer("18446744073709551619") == nil)
        #expect(integer("1E2") == 100)
        #expect(integer("1e19") == nil)
        #expect(integer("4.21e1") == nil)
        #expect(integer("1e-1") == nil)
    }
}
