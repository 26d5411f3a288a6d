import Foundation
import Testing
import TesseraBatch
import TesseraCore
import TesseraPostgres
import TesseraRedis

/// `BatchMaterializer` against a real PostgreSQL (a fresh database per test) and Redis (a
/// key prefix per test). Plain synchronous tests: libpq and hiredis block.
@Suite struct MaterializeTests {
    static let yaml = """
        entities:
          product: {join_keys: [product_id]}
          query_product: {join_keys: [query, product_id]}
        batch_views:
          catalog:
            entity: product
            source: {table: src.products, timestamp_column: updated_at}
            ttl: 30d
            lookback: 5m
            features:
              price: {type: double}
              category: {type: string}
              in_stock: {type: bool}
              units: {type: int, column: stock_units}
          searches:
            entity: query_product
            source:
              query: "select sku, search, changed_at, score from src.search_scores where score >= 0"
              timestamp_column: changed_at
              key_columns: {product_id: sku, query: search}
            features:
              score: {type: double}
        """

    /// 2026-01-01T00:00:00Z; rows are hours apart, far more than the 5-minute lookback.
    static let base: Int64 = 1_767_225_600_000
    static func hour(_ n: Int64) -> Int64 { base + n * 3_600_000 }

    final class Harness {
        let database: FreshDatabase
        let connection: PostgresConnection
        let redis: RedisConnection
        let materializer: BatchMaterializer
        let keyspace = RedisKeyspace(prefix: BatchTestServices.uniquePrefix())
        let catalog: FeatureCatalog

        init(yaml: String = MaterializeTests.yaml) throws {
            database = try BatchTestServices.freshDatabase()
            connection = try database.connect()
            redis = try RedisConnection(url: BatchTestServices.redisURL())
            catalog = try FeatureCatalog.load(yaml: yaml, file: "features.yaml")
            materializer = BatchMaterializer(
                postgresURL: database.url, redisURL: try BatchTestServices.redisURL(), keyspace: keyspace,
                clock: { MaterializeTests.hour(100) })
            try connection.executeScript(
                """
                create schema src;
                create table src.products (product_id text, updated_at timestamptz, price float8, category text,
                                           in_stock boolean, stock_units integer);
                create table src.search_scores (sku text, search text, changed_at timestamp, score numeric);
                """)
        }

        var view: BatchView { catalog.batchView(named: "catalog")! }

        func insert(_ product: String, at ms: Int64, price: Double?, category: String = "shoes", inStock: Bool = true, units: Int = 3) throws {
            try connection.execute(
                "insert into src.products values ($1, to_timestamp($2::float8 / 1000), $3, $4, $5, $6)",
                [product, String(ms), price.map { String($0) }, category, inStock ? "t" : "f", String(units)])
        }

        func run(_ view: BatchView? = nil, since: Int64? = nil) throws -> MaterializeReport {
            try materializer.run(view ?? self.view, sinceUs: since.map { $0 * 1_000 })
        }

        func stored(_ key: String..., view: String = "catalog") throws -> BatchVector? {
            let reply = try redis.send(["GET", keyspace.vectorKey(view: view, entity: EntityKey(values: key))])
            guard case .bytes(let bytes) = reply else { return nil }
            return try BatchVector(decoding: bytes)
        }
    }

    @Test func latestRowPerEntityWins() throws {
        let harness = try Harness()
        try harness.insert("p-1", at: Self.hour(0), price: 10)
        try harness.insert("p-1", at: Self.hour(2), price: 30, category: "boots", inStock: false, units: 0)
        try harness.insert("p-1", at: Self.hour(1), price: 20)
        try harness.insert("p-2", at: Self.hour(1), price: nil)

        let report = try harness.run()
        #expect(report.rowsRead == 4 && report.entitiesWritten == 2 && report.entitiesKeptNewer == 0)
        #expect(report.readFromUs == nil && report.previousWatermarkUs == nil)
        #expect(report.watermarkUs == Self.hour(2) * 1_000)

        let first = try #require(try harness.stored("p-1"))
        #expect(first.values == [.double(30), .string("boots"), .bool(false), .int(0)])
        #expect(first.sourceTimeMs == Self.hour(2) && first.materializedAtMs == Self.hour(100))
        #expect(first.layoutFingerprint == harness.view.layoutFingerprint)
        #expect(try harness.stored("p-2")?.values == [.null, .string("shoes"), .bool(true), .int(3)])
    }

    @Test func incrementalRunsReadNewRowsAndNeverRegress() throws {
        let harness = try Harness()
        try harness.insert("p-1", at: Self.hour(0), price: 10)
        try harness.insert("p-2", at: Self.hour(2), price: 20)
        _ = try harness.run()

        // Nothing new: only the rows within the lookback of the watermark are read again.
        let idle = try harness.run()
        #expect(idle.rowsRead == 1 && idle.readFromUs == (Self.hour(2) - 300_000) * 1_000)
        #expect(idle.watermarkUs == Self.hour(2) * 1_000)

        try harness.insert("p-1", at: Self.hour(3), price: 11)
        try harness.insert("p-3", at: Self.hour(4), price: 30)
        let next = try harness.run()
        #expect(next.rowsRead == 3 && next.entitiesWritten == 3)
        #expect(next.previousWatermarkUs == Self.hour(2) * 1_000 && next.watermarkUs == Self.hour(4) * 1_000)
        #expect(try harness.stored("p-1")?.values.first == .double(11))

        // A row committed late with a timestamp just behind the watermark is still picked up.
        try harness.insert("p-2", at: Self.hour(4) - 120_000, price: 21)
        #expect(try harness.run().entitiesWritten >= 1)
        #expect(try harness.stored("p-2")?.values.first == .double(21))

        // A run that sees only an older row (its newest was deleted, or a stale concurrent
        // run) leaves Redis's newer vector alone.
        try harness.connection.execute("delete from src.products where product_id = 'p-1' and price = 11")
        let stale = try harness.run(since: Self.base)
        #expect(stale.entitiesKeptNewer == 1)
        let kept = try #require(try harness.stored("p-1"))
        #expect(kept.values.first == .double(11) && kept.sourceTimeMs == Self.hour(3))
    }

    @Test func sinceOverridesTheWatermark() throws {
        let harness = try Harness()
        for (index, product) in ["p-1", "p-2", "p-3"].enumerated() {
            try harness.insert(product, at: Self.hour(Int64(index)), price: Double(index))
        }
        // No watermark yet: a run from hour 1 must not set one, or hour 0 would never be read.
        let partial = try harness.run(since: Self.hour(1))
        #expect(partial.rowsRead == 2 && partial.watermarkUs == nil)
        #expect(try harness.stored("p-1") == nil)

        let full = try harness.run()
        #expect(full.rowsRead == 3 && full.watermarkUs == Self.hour(2) * 1_000)

        let later = try harness.run(since: Self.hour(5))
        #expect(later.rowsRead == 0 && later.watermarkUs == Self.hour(2) * 1_000)
        let again = try harness.run(since: Self.base)
        #expect(again.rowsRead == 3 && again.entitiesWritten == 3 && again.watermarkUs == Self.hour(2) * 1_000)
    }

    @Test func aChangedDefinitionReadsTheWholeSourceAgain() throws {
        let harness = try Harness()
        try harness.insert("p-1", at: Self.hour(0), price: 10)
        try harness.insert("p-2", at: Self.hour(2), price: 20)
        _ = try harness.run()
        let changed = try FeatureCatalog.load(
            yaml: Self.yaml.replacingOccurrences(of: "category: {type: string}", with: "category: {type: string}\n      units_left: {type: int, column: stock_units}"),
            file: "features.yaml")
        let view = try #require(changed.batchView(named: "catalog"))
        #expect(view.layoutFingerprint != harness.view.layoutFingerprint)
        let report = try harness.run(view)
        #expect(report.previousWatermarkUs == nil && report.rowsRead == 2 && report.entitiesWritten == 2)
        #expect(try harness.stored("p-1")?.values.count == 5)
    }

    @Test func querySourcesMapKeysAndReadTimestampsAsUTC() throws {
        let harness = try Harness()
        try harness.connection.execute(
            """
            insert into src.search_scores values
              ('p-1', '  Running   Shoes ', '2026-01-01 00:00:00', 0.5),
              ('p-1', 'running shoes', '2026-01-01 01:00:00', 0.75),
              ('p-2', 'boots', '2026-01-01 00:30:00', -1)
            """)
        let view = try #require(harness.catalog.batchView(named: "searches"))
        let report = try harness.run(view)
        // The query's filter drops p-2. The two spellings of one query are one entity once
        // normalised, as lookups normalise it; the newer row wins whichever is written first.
        #expect(report.rowsRead == 2 && report.entitiesWritten + report.entitiesKeptNewer == 2)
        let vector = try #require(try harness.stored("running shoes", "p-1", view: "searches"))
        #expect(vector.values == [.double(0.75)] && vector.sourceTimeMs == Self.hour(1))
    }

    @Test func aMissingSourceIsAClearError() throws {
        let harness = try Harness()
        try harness.connection.execute("drop table src.products")
        do {
            _ = try harness.run()
            Issue.record("materialized a view whose table does not exist")
        } catch let error as MaterializeError {
            #expect(error.isMissingSource)
            #expect("\(error)".contains("materialize catalog:") && "\(error)".contains("src.products"), "\(error)")
        }
    }

    @Test func theDemoTableUpsertsOnlyChangedProducts() throws {
        let database = try BatchTestServices.freshDatabase()
        let connection = try database.connect()
        let generator = ClickstreamGenerator(options: .init(seed: 7, products: 50, nowMs: Self.base))
        let products = generator.productDetails
        #expect(products.count == 50 && products.first?.popularity == 1 && Set(products.map(\.productID)).count == 50)
        #expect(try DemoProductTable.upsert(products, on: connection) == 50)
        #expect(try DemoProductTable.upsert(products, on: connection) == 0)
        var changed = products
        changed[3].inStock.toggle()
        #expect(try DemoProductTable.upsert(changed, on: connection) == 1)
    }
}
