import Testing
@testable import TesseraServe

/// The lookup request parser on its own: Feast's body shape, and a clear 400 for anything else.
@Suite struct FeastRequestParserTests {
    func parse(_ text: String) throws(APIError) -> FeastLookupRequest {
        try Self.parse(bytes: Array(text.utf8))
    }

    static func parse(bytes: [UInt8]) throws(APIError) -> FeastLookupRequest {
        try bytes.withUnsafeBytes { raw in
            Result { () throws(APIError) in try FeastLookupRequest(parsing: raw) }
        }.get()
    }

    func error(_ text: String) -> APIError? {
        do {
            _ = try parse(text)
            return nil
        } catch {
            return error
        }
    }

    @Test func readsFeastsShape() throws {
        let request = try parse(#"""
            {"features": ["user_stats:views_24h", "product_stats:ctr_7d"],
             "entities": {"user_id": ["u-1", "u-\u00e9"], "product_id": [42, -7, 3.0, "p\"1"]},
             "full_feature_names": true, "project": {"nested": [1, {"x": null}]}}
            """#)
        #expect(request.features == ["user_stats:views_24h", "product_stats:ctr_7d"])
        #expect(request.entities == ["user_id": ["u-1", "u-é"], "product_id": ["42", "-7", "3", "p\"1"]])
        #expect(request.fullFeatureNames)
    }

    @Test func fullFeatureNamesDefaultsToFalse() throws {
        #expect(try parse(#"{"entities": {}, "features": []}"#).fullFeatureNames == false)
        #expect(try parse(#"{"entities": {}, "features": [], "full_feature_names": null}"#).fullFeatureNames == false)
    }

    @Test(arguments: [
        ("", "bad_json"),
        ("   ", "bad_json"),
        ("{not json", "bad_json"),
        (#"{"features": ["a:b"], "entities": {"product_id": ["p-1"]}"#, "bad_json"),
        (#"{"features": ["a:b"], "entities": {"product_id": ["p-1"]}} trailing"#, "bad_json"),
        (#"{"features": ["a:b",], "entities": {}}"#, "bad_json"),
        (#"{"features": ["a:b"], "entities": {"product_id": ["p-1\u"]}}"#, "bad_json"),
        (#"{"features": ["a:b"], "entities": {"product_id": [01]}}"#, "bad_json"),
        (#"{"features": ["a:b"] "entities": {}}"#, "bad_json"),
        // A shape error early does not hide a syntax error later.
        (#"{"features": 5, "entities": {"product_id": [}"#, "bad_json"),
        ("[1, 2]", "bad_request_body"),
        ("\"features\"", "bad_request_body"),
        (#"{"entities": {"product_id": ["p-1"]}}"#, "bad_request_body"),
        (#"{"features": ["a:b"]}"#, "bad_request_body"),
        (#"{"features": "a:b", "entities": {}}"#, "bad_request_body"),
        (#"{"features": [1], "entities": {}}"#, "bad_request_body"),
        (#"{"features": ["a:b"], "entities": []}"#, "bad_request_body"),
        (#"{"features": ["a:b"], "entities": {"product_id": "p-1"}}"#, "bad_request_body"),
        (#"{"features": ["a:b"], "entities": {"product_id": [1.5]}}"#, "bad_request_body"),
        (#"{"features": ["a:b"], "entities": {"product_id": [99999999999999999999]}}"#, "bad_request_body"),
        (#"{"features": ["a:b"], "entities": {"product_id": [true]}}"#, "bad_request_body"),
        (#"{"features": ["a:b"], "entities": {"product_id": [["p-1"]]}}"#, "bad_request_body"),
        (#"{"features": ["a:b"], "entities": {"product_id": ["p-1"], "product_id": ["p-2"]}}"#, "bad_request_body"),
        (#"{"features": ["a:b"], "features": ["c:d"], "entities": {}}"#, "bad_request_body"),
        (#"{"features": ["a:b"], "entities": {}, "full_feature_names": "yes"}"#, "bad_request_body"),
        (#"{"features": ["a\u0000:b"], "entities": {}}"#, "bad_request_body"),
    ])
    func malformedBodiesAre400WithACode(body: String, code: String) {
        let error = error(body)
        #expect(error?.status == .badRequest, "\(body)")
        #expect(error?.code == code, "\(body): \(error?.message ?? "accepted")")
        #expect(error?.message.isEmpty == false)
    }

    @Test func messagesNameTheField() {
        #expect(error(#"{"features": ["a:b"], "entities": {"product_id": ["p-1", 1.5]}}"#)?.message.contains("'entities.product_id[1]'") == true)
        #expect(error(#"{"features": ["a:b"]}"#)?.message == "missing field 'entities'")
        #expect(error("{not json")?.message.contains("byte 1") == true)
    }

    @Test func deepNestingInAnUnknownFieldIsRefusedNotARecursionCrash() {
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        #expect(error(#"{"features": ["a:b"], "entities": {}, "x": \#(deep)}"#)?.code == "bad_json")
    }

    /// Every prefix of a valid body, and the body with each byte replaced by characters that
    /// matter to JSON, parses or fails with a 400: never a crash, never another status.
    @Test func truncatedAndMutatedBodiesNeverCrash() {
        let valid = Array(#"{"features": ["user_stats:views_24h"], "entities": {"user_id": ["u-1", 42]}, "full_feature_names": false}"#.utf8)
        var accepted = 0
        func check(_ bytes: [UInt8]) {
            do {
                _ = try Self.parse(bytes: bytes)
                accepted += 1
            } catch {
                #expect(error.status == .badRequest && ["bad_json", "bad_request_body"].contains(error.code))
            }
        }
        for length in 0...valid.count { check(Array(valid[..<length])) }
        let replacements = Array("{}[]\",:\\0-e.nt \u{1}".utf8) + [0xFF, 0xC3]
        for index in valid.indices {
            for replacement in replacements {
                var mutated = valid
                mutated[index] = replacement
                check(mutated)
            }
        }
        #expect(accepted > 0)  // e.g. a space for a space
    }
}
