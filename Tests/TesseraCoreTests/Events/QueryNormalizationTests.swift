import Testing
@testable import TesseraCore

@Suite struct QueryNormalizationTests {
    private func decodedQuery(_ jsonString: String) throws -> String? {
        try EventFixtures.decode(EventFixtures.minimal(with: "\"query\": \(jsonString)")).get().query
    }

    @Test func trimsLowerCasesAndCollapsesWhitespace() throws {
        #expect(try decodedQuery(#""running shoes""#) == "running shoes")
        #expect(try decodedQuery(#""  Running   SHOES ""#) == "running shoes")
        #expect(try decodedQuery(#""\tRunning\n\r shoes\t""#) == "running shoes")
        #expect(try decodedQuery(#""USB-C  Cable 2M""#) == "usb-c cable 2m")
        #expect(try decodedQuery(#""27\" Monitor""#) == "27\" monitor")
    }

    @Test func handlesUnicode() throws {
        #expect(try decodedQuery(#""  CAFÉ   Crème ""#) == "café crème")
        #expect(try decodedQuery(#""ΣΟΦΊΑ""#) == "σοφία")
        #expect(try decodedQuery("\"Tee\u{00A0}\u{3000}Shirt\u{2003}\"") == "tee shirt")  // NBSP, ideographic, em space
        #expect(try decodedQuery(#""\u00c9T\u00c9""#) == "été")
    }

    @Test func emptyAfterNormalisingIsAbsent() throws {
        #expect(try decodedQuery(#""""#) == nil)
        #expect(try decodedQuery(#""   \t\n ""#) == nil)
        #expect(try decodedQuery("\"\u{00A0}\u{3000}\"") == nil)
    }

    @Test func lengthLimitAppliesToTheNormalisedQuery() throws {
        let padded = "  " + String(repeating: "a", count: 512) + "      "
        #expect(try decodedQuery("\"\(padded)\"")?.utf8.count == 512)
    }

    @Test func asciiAndUnicodePathsAgree() {
        for text in ["  A  b\tC\n", "x", " ", "Hello   World", "MiXeD-Case_123  !!"] {
            let viaBytes = Array(text.utf8).withUnsafeBytes(QueryNormalization.normalize(utf8:))
            #expect(viaBytes == QueryNormalization.normalize(text), "\(text)")
        }
    }
}
