import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Testing
import TesseraBatch
import TesseraCore
import TesseraRedis
import TesseraServe
import TesseraStream

/// The default config's `product_catalog`, materialized from its demo table, looked up
/// through the API together with a stream view's features in one request.
@Suite struct BatchLookupTests {
    @Test func lookupsAnswerTypedBatchValuesBesideStreamFeatures() async throws {
        let now = Int64(Date().timeIntervalSince1970 * 1_000)
        let database = try BatchTestServices.freshDatabase()
        let connection = try database.connect()
        let catalog = try BatchTestServices.catalog()
        let keyspace = RedisKeyspace(prefix: BatchTestServices.uniquePrefix())
        try DemoProductTable.upsert([
            DemoProductDetails(productID: "p-1", price: 59.9, category: "running \"shoes\"", brand: "Acme", inStock: true, popularity: 0.5),
            DemoProductDetails(productID: "p-old", price: 5, category: "toys", brand: "Globex", inStock: true, popularity: 0.1),
            DemoProductDetails(productID: "p-2", price: 12.5, category: "kitchen", brand: "Hooli", inStock: false, popularity: 1),
        ], on: connection)
        try connection.execute("update demo.product_catalog set updated_at = now() - interval '500 days' where product_id = 'p-old'")
        try connection.execute("update demo.product_catalog set brand = null where product_id = 'p-2'")
        let updatedMs = try #require(try connection.execute(
            "select floor(extract(epoch from updated_at) * 1000)::bigint from demo.product_catalog where product_id = 'p-1'"
        ).rows.first?[0].flatMap { Int64($0) })

        let materializer = BatchMaterializer(
            postgresURL: database.url, redisURL: try BatchTestServices.redisURL(), keyspace: keyspace, clock: { now })
        let report = try materializer.run(try #require(catalog.batchView(named: "product_catalog")))
        #expect(report.rowsRead == 3 && report.entitiesWritten == 3)

        let store = OnlineStore(
            url: try BatchTestServices.redisURL(), keyspace: keyspace, catalog: catalog, futureToleranceMs: 300_000,
            logger: BatchTestServices.logger)
        let view = ClickEvent(eventID: "e-1", type: .view, timestampMs: now - 1_000, userID: "u-1", productID: "p-1")
        _ = try store.apply(catalog.streamViews.map {
            OnlineStore.ViewDeltas(view: $0.name, deltas: TileFolder(view: $0).fold([SourcedEvent(event: view, partition: 0, offset: 0)], nowMs: now).deltas)
        }, nowMs: now)

        let api = LookupAPI(
            catalog: catalog, keyspace: keyspace,
            store: VectorStore(redis: RedisPipeline(url: try BatchTestServices.redisURL())),
            limits: .init(maxBodyBytes: 65_536, maxEntitiesPerRequest: 100), readinessChecks: { [] }, clock: { now })
        let app = Application(router: api.router(), logger: BatchTestServices.logger)
        let request = #"""
            {"features": ["product_stats:views_24h", "product_catalog:price", "product_catalog:category",
                          "product_catalog:in_stock", "product_catalog:brand", "product_catalog:popularity"],
             "entities": {"product_id": ["p-1", "p-old", "p-missing", "p-2"]}}
            """#
        try await app.test(.router) { client in
            try await client.execute(uri: "/get-online-features", method: .post, body: ByteBuffer(string: request)) { response in
                #expect(response.status == .ok)
                let text = String(buffer: response.body)
                let body = try #require(try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any])
                let results = try #require(body["results"] as? [[String: Any]])
                #expect(results.count == 7)
                #expect((results[1]["values"] as? [Any])?.first as? Int == 1)
                #expect(results[2]["statuses"] as? [String] == ["PRESENT", "OUTSIDE_MAX_AGE", "NOT_FOUND", "PRESENT"])
                #expect(results[5]["statuses"] as? [String] == ["PRESENT", "OUTSIDE_MAX_AGE", "NOT_FOUND", "NULL_VALUE"])
                // Typed JSON: numbers, strings (escaped), booleans, null.
                #expect(text.contains(#""values":[59.9,null,null,12.5]"#), "\(text)")
                #expect(text.contains(#""values":["running \"shoes\"",null,null,"kitchen"]"#), "\(text)")
                #expect(text.contains(#""values":[true,null,null,false]"#), "\(text)")
                #expect(text.contains(#""values":["Acme",null,null,null]"#), "\(text)")
                #expect(text.contains(#""values":[0.5,null,null,1.0]"#), "\(text)")
                // The batch columns are as of the source row's timestamp.
                #expect((results[2]["event_timestamps"] as? [String])?.first == RFC3339.string(epochMilliseconds: updatedMs))
            }
            try await client.execute(uri: "/v1/features", method: .get) { response in
                let body = try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any]
                let views = body?["views"] as? [[String: Any]] ?? []
                let batch = try #require(views.first { $0["name"] as? String == "product_catalog" })
                #expect(batch["kind"] as? String == "batch" && batch["schedule"] as? String == "1m")
                let types = (batch["features"] as? [[String: Any]])?.map { $0["type"] as? String }
                #expect(types == ["double", "string", "string", "bool", "double"])
            }
        }
    }
}
