import Foundation
import Testing
import TesseraCore
import TesseraPostgres
@testable import TesseraBatch

/// Batch views in training sets: each spine row takes its entity's latest source row at or
/// before its time (never a later one), nothing past the view's ttl, beside stream features.
@Suite struct BatchTrainingSetTests {
    static let hour: Int64 = 3_600_000
    static let day = 24 * hour
    /// 2026-01-01T00:00:00Z.
    static let base: Int64 = 1_767_225_600_000

    /// The default config plus two batch views over history tables: one with a zone-less
    /// `timestamp` column (read as UTC) and a 2-day ttl, one from a query with renamed keys.
    static func catalog() throws -> FeatureCatalog {
        let path = BatchTestServices.repositoryRoot.appendingPathComponent("config/features.yaml").path
        let yaml = try String(contentsOfFile: path, encoding: .utf8) + """

              price_history:
                entity: product
                source: {table: src.price_history, timestamp_column: changed_at}
                ttl: 2d
                features:
                  price:   {type: double}
                  label:   {type: string, column: tag}
                  on_sale: {type: bool}
                  units:   {type: int}
              search_scores:
                entity: query_product
                source:
                  query: "select sku, search, at, score from src.scores"
                  timestamp_column: at
                  key_columns: {product_id: sku, query: search}
                features:
                  score: {type: double}

            """
        return try FeatureCatalog.load(yaml: yaml, file: path)
    }

    static func stamp(_ ms: Int64) -> String { RFC3339.string(epochMilliseconds: ms) }

    @Test func rowsTakeTheLatestSourceRowAtOrBeforeTheirTimeWithinTheTtl() throws {
        let catalog = try Self.catalog()
        let db = try BatchTestServices.freshDatabase()
        let scratch = try ScratchFolder()
        let connection = try db.connect()
        defer { connection.close() }
        // Written in a non-UTC session: the zone-less column must still read as UTC.
        try connection.executeScript(
            """
            set time zone 'America/New_York';
            create schema src;
            create table src.price_history (product_id text, changed_at timestamp, price float8, tag text, on_sale boolean, units int);
            create table src.scores (sku text, search text, at timestamptz, score numeric);
            """)
        func price(_ product: String, _ ms: Int64?, _ price: Double?, _ tag: String, _ onSale: Bool, _ units: Int) throws {
            try connection.execute(
                "insert into src.price_history values ($1, (to_timestamp($2::float8 / 1000) at time zone 'UTC'), $3, $4, $5, $6)",
                [product, ms.map { String($0) }, price.map { String($0) }, tag, onSale ? "t" : "f", String(units)])
        }
        try price("p-0", Self.base - 3 * Self.day, 10, "old", false, 5)
        try price("p-0", Self.base - Self.hour, 12, "a,b", true, 4)
        try price("p-0", Self.base, nil, "at base", false, 3)
        try price("p-0", Self.base + Self.hour, 14, "future", false, 2)
        try price("p-1", Self.base - 3 * Self.day, 20.5, "only", true, -1)
        try price("p-1", nil, 99, "no time", true, 0)  // no timestamp: never read
        try connection.execute(
            "insert into src.scores values ('p-0', 'running shoes', $1, 0.5), ('p-0', 'other', $2, 0.9)",
            [Self.stamp(Self.base - 10 * 60_000), Self.stamp(Self.base + 60_000)])
        // Stream events for the same product, to mix both kinds of view in one row.
        let events = [-2 * Self.hour, -Self.hour, 30 * 60_000].enumerated().map { index, offset in
            EventLogFixtures.event("e\(index)", .view, at: Self.base + offset, product: "p-0")
        }
        try EventLogFixtures.log(events, to: db)

        // (time, product, query) → expected price, label, on_sale, units, score, views_24h.
        let cases: [(Int64, String, String, [String])] = [
            (Self.base - 3 * Self.day - 1, "p-0", "running shoes", ["", "", "", "", "", "0"]),
            (Self.base - 3 * Self.day, "p-0", "running shoes", ["10.0", "old", "false", "5", "", "0"]),
            (Self.base - Self.day, "p-0", "running shoes", ["10.0", "old", "false", "5", "", "0"]),  // age = ttl: still served
            (Self.base - Self.hour - 1, "p-0", "running shoes", ["", "", "", "", "", "1"]),  // its only row is past the ttl
            (Self.base - Self.hour, "p-0", "running shoes", ["12.0", "a,b", "true", "4", "", "2"]),
            (Self.base - 1, "p-0", "running shoes", ["12.0", "a,b", "true", "4", "0.5", "2"]),
            (Self.base, "p-0", "  Running SHOES", ["", "at base", "false", "3", "0.5", "2"]),
            (Self.base, "p-0", "other", ["", "at base", "false", "3", "", "2"]),
            (Self.base + 2 * Self.hour, "p-0", "other", ["14.0", "future", "false", "2", "0.9", "3"]),
            (Self.base - 2 * Self.day, "p-1", "x", ["20.5", "only", "true", "-1", "", "0"]),
            (Self.base - Self.day + 1, "p-1", "x", ["", "", "", "", "", "0"]),  // past the ttl
            (Self.base, "p-none", "x", ["", "", "", "", "", "0"]),
        ]
        let spine = "timestamp,product_id,query\n" + cases.map { "\(Self.stamp($0.0)),\($0.1),\($0.2)" }.joined(separator: "\n") + "\n"
        let spinePath = try scratch.write("spine.csv", spine)
        let features = "price_history:price,price_history:label,price_history:on_sale,price_history:units,search_scores:score,product_stats:views_24h"
        let summary = try TrainingSetBuilder(catalog: catalog, chunkRows: 5).build(
            spine: spinePath, features: features, output: "\(scratch.path)/out.csv", on: connection)
        #expect(summary == .init(rows: cases.count, features: 6))

        let reader = try CSVReader(path: "\(scratch.path)/out.csv")
        #expect(try reader.next()?.fields == [
            "timestamp", "product_id", "query", "price_history__price", "price_history__label", "price_history__on_sale",
            "price_history__units", "search_scores__score", "product_stats__views_24h",
        ])
        for (time, product, query, expected) in cases {
            let record = try #require(try reader.next())
            #expect(Array(record.fields.prefix(3)) == [Self.stamp(time), product, query])
            #expect(Array(record.fields.dropFirst(3)) == expected, "row at \(Self.stamp(time)) for \(product)/\(query)")
        }
        #expect(try reader.next()?.fields == nil)
    }

    @Test func aMissingSourceTableIsOneClearError() throws {
        let db = try BatchTestServices.freshDatabase()
        let scratch = try ScratchFolder()
        let connection = try db.connect()
        defer { connection.close() }
        let spine = try scratch.write("spine.csv", "timestamp,product_id\n\(Self.base),p-1\n")
        #expect {
            try TrainingSetBuilder(catalog: try Self.catalog()).build(
                spine: spine, features: "price_history:price", output: "\(scratch.path)/out.csv", on: connection)
        } throws: { "\($0)".contains(#"relation "src.price_history" does not exist"#) }
        #expect(!FileManager.default.fileExists(atPath: "\(scratch.path)/out.csv"))
    }
}
