import Foundation
import Testing
import TesseraCore
import TesseraRedis
@testable import TesseraServe

/// The response encoder on its own, from packed vectors as Redis would return them: statuses,
/// timestamps and values per cell, and nothing that could trap on a corrupt vector.
@Suite struct LookupResponseTests {
    let now: Int64 = 1_763_720_025_000

    func encode(_ body: String, vectors: ([String]) -> [[UInt8]?]) throws -> (keys: [String], columns: [String: [String: [Any]]]) {
        let catalog = try LookupAPITests.catalog()
        let bytes = Array(body.utf8)
        let plan = try bytes.withUnsafeBytes { raw in
            Result { () throws(APIError) in try LookupPlan(body: raw, catalog: catalog, maxRows: 100) }
        }.get()
        let reads = VectorReads(plan: plan, keyspace: RedisKeyspace(prefix: "ts"))
        let keys = (0..<reads.keys.count).map { String(decoding: reads.keys[$0]!, as: UTF8.self) }
        let json = LookupResponse.encode(plan, reads: reads, vectors: ByteStrings(vectors(keys)), nowMs: now)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.readableBytesView)) as? [String: Any])
        let names = try #require((object["metadata"] as? [String: Any])?["feature_names"] as? [String])
        let results = try #require(object["results"] as? [[String: [Any]]])
        return (keys, Dictionary(uniqueKeysWithValues: zip(names, results)))
    }

    func streamVector(_ view: String, newestEventMs: Int64, values: [Double], fingerprint: UInt32? = nil) throws -> [UInt8] {
        let view = try #require(try LookupAPITests.catalog().streamView(named: view))
        return FeatureVector(
            layoutFingerprint: fingerprint ?? view.layoutFingerprint, newestEventMs: newestEventMs, computedAtMs: newestEventMs,
            values: values + Array(repeating: 0, count: view.features.count - values.count)
        ).encoded()
    }

    @Test func statusesTimestampsAndValuesPerCell() throws {
        let fresh = try streamVector("user_stats", newestEventMs: now - 1_000, values: [3, .nan, 2.5])
        let stale = try streamVector("user_stats", newestEventMs: now - 31 * 86_400_000, values: [3])
        let otherLayout = try streamVector("user_stats", newestEventMs: now - 1_000, values: [3], fingerprint: 7)
        let catalog = try LookupAPITests.catalog().batchView(named: "product_catalog")!
        let batch = BatchVector(
            layoutFingerprint: catalog.layoutFingerprint, sourceTimeMs: now - 5_000, materializedAtMs: now,
            values: [.double(9.5), .string("tab\there \"quoted\""), .null, .bool(true), .double(0.25)]
        ).encoded()
        let (keys, columns) = try encode(#"""
            {"features": ["user_stats:views_1h", "user_stats:views_24h", "user_stats:clicks_24h",
                          "product_catalog:price", "product_catalog:category", "product_catalog:brand", "product_catalog:in_stock"],
             "entities": {"user_id": ["u-fresh", "u-stale", "u-layout", "u-missing", "u-corrupt", "u-fresh"],
                          "product_id": ["p-1", "p-1", "p-2", "p-2", "p-2", "p-2"]}}
            """#) { keys in
            keys.map { key -> [UInt8]? in
                switch key {
                case "ts:{user_stats|u-fresh}:v": fresh
                case "ts:{user_stats|u-stale}:v": stale
                case "ts:{user_stats|u-layout}:v": otherLayout
                case "ts:{user_stats|u-corrupt}:v": Array("TV1 not a vector".utf8)
                case "ts:{product_catalog|p-1}:v": batch
                default: nil
                }
            }
        }
        // A row naming the entity of the row before it reads that vector again: six users
        // (u-fresh twice, apart) and two products (p-1 twice, then p-2 four times).
        #expect(keys.count == 6 + 2)
        #expect(columns["user_id"]?["values"] as? [String] == ["u-fresh", "u-stale", "u-layout", "u-missing", "u-corrupt", "u-fresh"])
        #expect(columns["user_id"]?["statuses"] as? [String] == Array(repeating: "PRESENT", count: 6))
        #expect(columns["product_id"]?["event_timestamps"]?.first as? String == "1970-01-01T00:00:00.000Z")

        let views = try #require(columns["views_1h"])
        #expect(views["statuses"] as? [String] == ["PRESENT", "OUTSIDE_MAX_AGE", "NOT_FOUND", "NOT_FOUND", "NOT_FOUND", "PRESENT"])
        #expect(views["values"]?[0] as? Int == 3 && views["values"]?[1] is NSNull && views["values"]?[2] is NSNull)
        let freshTime = RFC3339.string(epochMilliseconds: now - 1_000)
        #expect(views["event_timestamps"] as? [String] == [
            freshTime, RFC3339.string(epochMilliseconds: now - 31 * 86_400_000), "1970-01-01T00:00:00.000Z",
            "1970-01-01T00:00:00.000Z", "1970-01-01T00:00:00.000Z", freshTime,
        ])
        // A NULL_VALUE keeps its vector's time.
        #expect(columns["views_24h"]?["statuses"] as? [String] == ["NULL_VALUE", "OUTSIDE_MAX_AGE", "NOT_FOUND", "NOT_FOUND", "NOT_FOUND", "NULL_VALUE"])
        #expect(columns["views_24h"]?["event_timestamps"] as? [String] == views["event_timestamps"] as? [String])
        #expect(columns["views_24h"]?["values"]?.first is NSNull)
        // clicks_24h is a count: 2.5 is not whole, so it is written as it is.
        #expect(columns["clicks_24h"]?["values"]?.first as? Double == 2.5)

        #expect(columns["price"]?["values"]?.first as? Double == 9.5)
        #expect(columns["price"]?["statuses"] as? [String] == ["PRESENT", "PRESENT"] + Array(repeating: "NOT_FOUND", count: 4))
        #expect(columns["price"]?["event_timestamps"]?.first as? String == RFC3339.string(epochMilliseconds: now - 5_000))
        #expect(columns["category"]?["values"]?.first as? String == "tab\there \"quoted\"")
        #expect(columns["brand"]?["statuses"]?.first as? String == "NULL_VALUE")
        #expect(columns["in_stock"]?["values"]?.first as? Bool == true)
    }

    /// The exact bytes, so that a change of separators, order or measuring shows: a user on
    /// every row (one vector read for two rows), a batch string with escapes, a missing
    /// vector next to a present one, and a feature the vector is too short to hold.
    @Test func theBodyIsExactlyFeastsShape() throws {
        let catalog = try LookupAPITests.catalog()
        let user = try #require(catalog.streamView(named: "user_stats"))
        let shortUser = FeatureVector(
            layoutFingerprint: user.layoutFingerprint, newestEventMs: now - 1_000, computedAtMs: now, values: [3, 0.25]).encoded()
        let products = try #require(catalog.batchView(named: "product_catalog"))
        let product = BatchVector(
            layoutFingerprint: products.layoutFingerprint, sourceTimeMs: now - 5_000, materializedAtMs: now,
            values: [.double(9.5), .string("a \"b\"\n"), .null, .bool(false), .int(7)]
        ).encoded()
        let body = Array(#"""
            {"features": ["user_stats:views_1h", "user_stats:views_24h", "user_stats:spend_7d", "product_catalog:category"],
             "entities": {"user_id": ["u-1", "u-1"], "product_id": ["p-1", "p-2"]}}
            """#.utf8)
        let plan = try body.withUnsafeBytes { raw in
            Result { () throws(APIError) in try LookupPlan(body: raw, catalog: catalog, maxRows: 100) }
        }.get()
        let reads = VectorReads(plan: plan, keyspace: RedisKeyspace(prefix: "ts"))
        let keys = (0..<reads.keys.count).map { String(decoding: reads.keys[$0]!, as: UTF8.self) }
        #expect(keys == ["ts:{user_stats|u-1}:v", "ts:{product_catalog|p-1}:v", "ts:{product_catalog|p-2}:v"])
        let json = LookupResponse.encode(plan, reads: reads, vectors: ByteStrings([shortUser, product, nil]), nowMs: now)
        let userTime = "\"\(RFC3339.string(epochMilliseconds: now - 1_000))\""
        let productTime = "\"\(RFC3339.string(epochMilliseconds: now - 5_000))\""
        let epoch = #""1970-01-01T00:00:00.000Z""#
        let expected = #"{"metadata":{"feature_names":["user_id","product_id","views_1h","views_24h","spend_7d","category"]},"results":["#
            + #"{"values":["u-1","u-1"],"statuses":["PRESENT","PRESENT"],"event_timestamps":[\#(epoch),\#(epoch)]},"#
            + #"{"values":["p-1","p-2"],"statuses":["PRESENT","PRESENT"],"event_timestamps":[\#(epoch),\#(epoch)]},"#
            + #"{"values":[3,3],"statuses":["PRESENT","PRESENT"],"event_timestamps":[\#(userTime),\#(userTime)]},"#
            + #"{"values":[0.25,0.25],"statuses":["PRESENT","PRESENT"],"event_timestamps":[\#(userTime),\#(userTime)]},"#
            + #"{"values":[null,null],"statuses":["NOT_FOUND","NOT_FOUND"],"event_timestamps":[\#(epoch),\#(epoch)]},"#
            + #"{"values":["a \"b\"\n",null],"statuses":["PRESENT","NOT_FOUND"],"event_timestamps":[\#(productTime),\#(epoch)]}]}"#
        #expect(String(decoding: json.readableBytesView, as: UTF8.self) == expected)
    }

    /// A view's columns share its statuses and times unless a cell says otherwise: here a
    /// NULL_VALUE and a feature past a short vector's end, each after cells that do not, on
    /// rows that repeat a user and on rows that do not.
    @Test func aCellThatDiffersFromItsVectorChangesOnlyItsOwnColumn() throws {
        let user = try #require(try LookupAPITests.catalog().streamView(named: "user_stats"))
        let first = try streamVector("user_stats", newestEventMs: now - 1_000, values: [1, 10, 0, 0, 0, 5.5])
        let second = try streamVector("user_stats", newestEventMs: now - 2_000, values: [2, .nan, 0, 0, 0, 6.5])
        let short = FeatureVector(
            layoutFingerprint: user.layoutFingerprint, newestEventMs: now - 3_000, computedAtMs: now, values: [3, 30]).encoded()
        for users in [["u-1", "u-2", "u-3"], ["u-1", "u-1", "u-2", "u-2", "u-3"]] {
            let entities = users.map { "\"\($0)\"" }.joined(separator: ",")
            let (keys, columns) = try encode(
                #"{"features": ["user_stats:views_1h", "user_stats:views_24h", "user_stats:spend_7d"], "entities": {"user_id": [\#(entities)]}}"#
            ) { keys in keys.map { ["ts:{user_stats|u-1}:v": first, "ts:{user_stats|u-2}:v": second, "ts:{user_stats|u-3}:v": short][$0] } }
            #expect(keys.count == 3)
            let times = users.map { ["u-1": now - 1_000, "u-2": now - 2_000, "u-3": now - 3_000][$0]! }.map { RFC3339.string(epochMilliseconds: $0) }
            let expected: [String: (values: [Any], statuses: [String], times: [String])] = [
                "views_1h": ([1, 2, 3], ["PRESENT", "PRESENT", "PRESENT"], ["u-1", "u-2", "u-3"]),
                "views_24h": ([10, NSNull(), 30], ["PRESENT", "NULL_VALUE", "PRESENT"], ["u-1", "u-2", "u-3"]),
                "spend_7d": ([5.5, 6.5, NSNull()], ["PRESENT", "PRESENT", "NOT_FOUND"], ["u-1", "u-2", "epoch"]),
            ]
            for (feature, want) in expected {
                let index = { (user: String) in ["u-1": 0, "u-2": 1, "u-3": 2][user]! }
                let column = try #require(columns[feature])
                #expect((column["values"] ?? []).map { "\($0)" } == users.map { "\(want.values[index($0)])" }, "\(feature) for \(users)")
                #expect(column["statuses"] as? [String] == users.map { want.statuses[index($0)] }, "\(feature) for \(users)")
                let wantTimes = users.enumerated().map { row, user in
                    want.times[index(user)] == "epoch" ? "1970-01-01T00:00:00.000Z" : times[row]
                }
                #expect(column["event_timestamps"] as? [String] == wantTimes, "\(feature) for \(users)")
            }
        }
    }

    @Test func aVectorWithAnImpossibleTimeIsAnsweredNotATrap() throws {
        // Far in the future: not past its ttl, and beyond year 9999.
        let future = try streamVector("user_stats", newestEventMs: 400_000_000_000_000, values: [1])
        let (_, columns) = try encode(#"{"features": ["user_stats:views_1h"], "entities": {"user_id": ["u-1"]}}"#) { _ in [future] }
        #expect(columns["views_1h"]?["statuses"] as? [String] == ["PRESENT"])
        #expect(columns["views_1h"]?["event_timestamps"] as? [String] == ["1970-01-01T00:00:00.000Z"])
    }

    /// Batch strings are copied from the vector's bytes into the body: text that is not ASCII
    /// comes out as it went in, bytes that are not UTF-8 (a damaged vector) come out repaired,
    /// and a vector damaged in its value tags is NOT_FOUND.
    @Test func batchStringsAreCopiedFromTheVectorAndRepairedWhenNotUTF8() throws {
        let view = try #require(try LookupAPITests.catalog().batchView(named: "product_catalog"))
        func vector(category: String, brand: String) -> [UInt8] {
            BatchVector(
                layoutFingerprint: view.layoutFingerprint, sourceTimeMs: now - 5_000, materializedAtMs: now,
                values: [.double(9.5), .string(category), .string(brand), .bool(false), .null]
            ).encoded()
        }
        var notUTF8 = vector(category: "caf\u{E9}", brand: "ok")
        let accent = try #require(notUTF8[BatchVector.headerBytes...].firstIndex(of: 0xC3))
        notUTF8[accent] = 0xFF  // "café" with its é's lead byte broken
        var badTag = vector(category: "x", brand: "y")
        badTag[BatchVector.headerBytes] = 9
        let (_, columns) = try encode(#"""
            {"features": ["product_catalog:category", "product_catalog:brand", "product_catalog:popularity"],
             "entities": {"product_id": ["p-1", "p-2", "p-3"]}}
            """#) { keys in
            keys.map { key -> [UInt8]? in
                switch key {
                case "ts:{product_catalog|p-1}:v": vector(category: "caf\u{E9} \u{1F600}", brand: "tab\t\"q\"")
                case "ts:{product_catalog|p-2}:v": notUTF8
                case "ts:{product_catalog|p-3}:v": badTag
                default: nil
                }
            }
        }
        #expect(columns["category"]?["values"]?.prefix(2).map { $0 as? String } == ["caf\u{E9} \u{1F600}", "caf\u{FFFD}\u{FFFD}"])
        #expect(columns["brand"]?["values"]?.prefix(2).map { $0 as? String } == ["tab\t\"q\"", "ok"])
        #expect(columns["category"]?["statuses"] as? [String] == ["PRESENT", "PRESENT", "NOT_FOUND"])
        #expect(columns["popularity"]?["statuses"] as? [String] == ["NULL_VALUE", "NULL_VALUE", "NOT_FOUND"])
    }

    @Test func integersAndStringsAreWrittenAsJSON() throws {
        var json = JSONWriter()
        json.beginArray()
        for number in [0, 7, -7, 10, 1_000_000, Int64.max, Int64.min] { json.integer(number) }
        json.string("é\u{1}\n\\")
        json.number(.infinity)
        json.endArray()
        #expect(String(decoding: json.bytes, as: UTF8.self) == #"[0,7,-7,10,1000000,9223372036854775807,-9223372036854775808,"é\u0001\n\\",null]"#)
    }
}
