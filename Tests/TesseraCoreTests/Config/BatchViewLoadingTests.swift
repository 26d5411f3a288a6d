import Testing
@testable import TesseraCore

@Suite struct BatchViewLoadingTests {
    @Test func defaultConfigDeclaresProductCatalog() throws {
        let view = try #require(try DefaultConfig.catalog().batchView(named: "product_catalog"))
        #expect(view.entity.joinKeys == [.productID])
        #expect(view.source == BatchSource(relation: .table("demo.product_catalog"), keyColumns: ["product_id"], timestampColumn: "updated_at"))
        #expect(view.features.map(\.name) == ["price", "category", "brand", "in_stock", "popularity"])
        #expect(view.features.map(\.type) == [.double, .string, .string, .bool, .double])
        #expect(view.features.map(\.column) == view.features.map(\.name))
        #expect(view.scheduleMs == 60_000 && view.ttlMs == 400 * 86_400_000 && view.lookbackMs == 300_000)
    }

    static let base = "entities: {qp: {join_keys: [query, product_id]}}\nbatch_views:\n  v:\n    entity: qp\n"

    @Test func queriesKeyMappingsAndColumnsLoad() throws {
        let catalog = try FeatureCatalog.load(yaml: Self.base + """
                source: {query: "select * from x", timestamp_column: changed_at, key_columns: {product_id: sku}}
                schedule: 30s
                lookback: 1h
                features: {units: {type: int, column: stock_units}}
            """, file: "f")
        let view = try #require(catalog.batchView(named: "v"))
        #expect(view.source.relation == .query("select * from x"))
        #expect(view.source.keyColumns == ["query", "sku"])
        #expect(view.features == [BatchFeature(name: "units", type: .int, column: "stock_units")])
        #expect(view.scheduleMs == 30_000 && view.lookbackMs == 3_600_000 && view.ttlMs == 30 * 86_400_000)
    }

    /// A new column or source means stored vectors and the watermark no longer apply.
    @Test func fingerprintFollowsTheDefinition() throws {
        func fingerprint(_ source: String, _ features: String) throws -> UInt32 {
            try FeatureCatalog.load(yaml: Self.base + "    source: \(source)\n    features: \(features)\n", file: "f").batchViews[0].layoutFingerprint
        }
        let table = "{table: t, timestamp_column: ts}"
        let original = try fingerprint(table, "{a: {type: int}}")
        #expect(try fingerprint(table, "{a: {type: int}}") == original)
        #expect(try fingerprint(table, "{a: {type: double}}") != original)
        #expect(try fingerprint(table, "{a: {type: int, column: b}}") != original)
        #expect(try fingerprint("{table: u, timestamp_column: ts}", "{a: {type: int}}") != original)
    }

    @Test(arguments: [
        ("source: {table: t, timestamp_column: ts}\n    features: {a: {type: float}}", "batch_views.v.features.a.type: unknown type 'float' (use double, int, string, bool)"),
        ("source: {table: t, query: q, timestamp_column: ts}\n    features: {a: {type: int}}", "batch_views.v.source: needs exactly one of 'table' or 'query'"),
        ("source: {table: t}\n    features: {a: {type: int}}", "batch_views.v.source.timestamp_column: is required"),
        ("source: {table: a.b.c, timestamp_column: ts}\n    features: {a: {type: int}}", "batch_views.v.source.table: 'a.b.c' is not a table name"),
        ("source: {table: t, timestamp_column: ts, key_columns: {user_id: u}}\n    features: {a: {type: int}}", "batch_views.v.source.key_columns.user_id: 'user_id' is not a join key of entity 'qp'"),
        ("source: {table: t, timestamp_column: ts}\n    features: {}", "batch_views.v.features: must declare at least one feature"),
        ("source: {table: t, timestamp_column: ts}\n    schedule: 10ms\n    features: {a: {type: int}}", "batch_views.v.schedule: must be at least 1s"),
        ("source: {table: t, timestamp_column: ts}\n    features: {a: {type: int, colum: x}}", "batch_views.v.features.a.colum: unknown key"),
    ])
    func badBatchViewsNameFileKeyAndProblem(rest: String, expected: String) {
        do {
            _ = try FeatureCatalog.load(yaml: Self.base + "    " + rest + "\n", file: "features.yaml")
            Issue.record("accepted a bad config")
        } catch {
            #expect("\(error)".hasPrefix("features.yaml: "))
            #expect("\(error)".contains(expected), "\(error)")
        }
    }

    @Test func batchViewNamesMustNotClashWithStreamViews() {
        let yaml = """
            entities: {p: {join_keys: [product_id]}}
            stream_views: {v: {entity: p, features: {a: {aggregation: count, window: 1h}}}}
            batch_views: {v: {entity: p, source: {table: t, timestamp_column: ts}, features: {a: {type: int}}}}
            """
        #expect(throws: ConfigError(file: "f", key: "batch_views.v", problem: "'v' is already a stream view; view names must be unique")) {
            try FeatureCatalog.load(yaml: yaml, file: "f")
        }
    }
}
