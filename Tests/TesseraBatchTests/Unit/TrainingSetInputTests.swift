import Foundation
import Testing
import TesseraCore
@testable import TesseraBatch

/// Spine files and feature lists: what is accepted, and the one-line errors for the rest.
@Suite struct TrainingSetInputTests {
    func spineError(_ text: String, keys: [EventField] = [.productID]) throws -> String {
        let scratch = try ScratchFolder()
        let path = try scratch.write("spine.csv", text)
        do {
            let reader = try SpineReader(path: path, joinKeys: keys)
            while try !reader.next(limit: 10).isEmpty {}
            return "no error"
        } catch {
            return "\(error)".replacingOccurrences(of: scratch.path + "/", with: "")
        }
    }

    @Test func badSpinesAreNamedByLine() throws {
        #expect(try spineError("") == "spine spine.csv: the file is empty (expected a header)")
        #expect(try spineError("product_id,label\np-1,1\n") == "spine spine.csv line 1: the header has no 'timestamp' column (it has: product_id, label)")
        #expect(try spineError("timestamp\n1\n") == "spine spine.csv line 1: the header has no 'product_id' column (it has: timestamp)")
        #expect(try spineError("timestamp,product_id,timestamp\n") == "spine spine.csv line 1: column 'timestamp' appears twice in the header")
        #expect(try spineError("timestamp,product_id\n1,p-1\n\n2,p-1,x\n") == "spine spine.csv line 4: 3 fields, but the header has 2")
        #expect(try spineError("timestamp,product_id\n2026-13-01T00:00:00Z,p-1\n").hasPrefix("spine spine.csv line 2: timestamp '2026-13-01T00:00:00Z' is neither"))
        #expect(try spineError("timestamp,product_id\n1,\n") == "spine spine.csv line 2: product_id is empty")
        #expect(try spineError("timestamp,query\n1,\"  \"\n", keys: [.query]) == "spine spine.csv line 2: query is empty")
        #expect(try spineError("timestamp,product_id\n1,\"p-1\n") == "spine spine.csv line 2: a quoted field is not closed")
        #expect(try spineError("timestamp,product_id\n1,\"p\"x\n") == "spine spine.csv line 2: text after a closing quote (a quote inside a quoted field is written \"\")")
        #expect(try spineError("timestamp,product_id\n99999999999999999,p-1\n") == "spine spine.csv line 2: timestamp '99999999999999999' is outside the years 1 to 9999")
    }

    @Test func spineRowsKeepTheirFieldsAndNormaliseQueries() throws {
        let scratch = try ScratchFolder()
        let path = try scratch.write("spine.csv", "\u{FEFF}timestamp,query,note\r\n2026-11-21T12:00:00+02:00,\" Running  SHOES\",\"a\nb\"\r\n42,x,\r\n")
        let reader = try SpineReader(path: path, joinKeys: [.query])
        let rows = try reader.next(limit: 10)
        #expect(reader.header == ["timestamp", "query", "note"])
        #expect(rows.map(\.fields) == [["2026-11-21T12:00:00+02:00", " Running  SHOES", "a\nb"], ["42", "x", ""]])
        #expect(rows.map(\.target.nowMs) == [RFC3339.epochMilliseconds("2026-11-21T10:00:00Z")!, 42])
        #expect(rows[0].target.keys == [.query: "running shoes"])
    }

    @Test func featureListsNameStreamAndBatchViews() throws {
        let catalog = try BatchTestServices.catalog()
        let selection = try FeatureSelection(
            parsing: "user_stats:clicks_7d, product_catalog:brand,product_stats:ctr_24h,user_stats:views_1h,product_catalog:price", catalog: catalog)
        #expect(selection.columnNames == [
            "user_stats__clicks_7d", "product_catalog__brand", "product_stats__ctr_24h", "user_stats__views_1h", "product_catalog__price",
        ])
        #expect(selection.columns == [
            .stream(group: 0, feature: 0), .batch(group: 0, feature: 0), .stream(group: 1, feature: 0), .stream(group: 0, feature: 1),
            .batch(group: 0, feature: 1),
        ])
        #expect(selection.streamViews.map(\.view.name) == ["user_stats", "product_stats"])
        #expect(selection.batchViews.map(\.featureIndexes) == [[2, 0]])
        #expect(selection.joinKeys == [.userID, .productID])
        func error(_ list: String) -> String {
            do { _ = try FeatureSelection(parsing: list, catalog: catalog); return "no error" } catch { return "\(error)" }
        }
        #expect(error("") == "--features: no features given (expected view:feature,...)")
        #expect(error("views_1h") == "--features: 'views_1h' is not view:feature")
        #expect(error("product_stats:nope") == "--features: view product_stats has no feature 'nope'")
        #expect(error("product_stats:views_1h,product_stats:views_1h") == "--features: product_stats:views_1h is named twice")
        #expect(error("product_catalog:nope") == "--features: view product_catalog has no feature 'nope'")
        #expect(error("product_catalog:price,product_catalog:price") == "--features: product_catalog:price is named twice")
        #expect(error("nope:price") == "--features: no view 'nope' (known: product_stats, user_stats, query_product_stats, product_catalog)")
    }

    @Test func valuesAreWrittenAsTheirTypes() {
        #expect(FeatureValueText.text(.nan, .int64) == "")
        #expect(FeatureValueText.text(12, .int64) == "12")
        #expect(FeatureValueText.text(1_763_700_000_123, .timestampMs) == "1763700000123")
        #expect(FeatureValueText.text(0.25, .double) == "0.25")
        #expect([BatchValue.null, .double(17.5), .int(-3), .string("a,b"), .bool(true), .bool(false)].map(FeatureValueText.text)
            == ["", "17.5", "-3", "a,b", "true", "false"])
    }
}
