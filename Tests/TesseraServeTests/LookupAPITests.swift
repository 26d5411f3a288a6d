import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Metrics
import Prometheus
import Testing
import TesseraCore
import TesseraRedis
import TesseraServe
import TesseraStream

/// The lookup API against a real Redis filled through the apply script.
@Suite struct LookupAPITests {
    let now: Int64 = 1_763_720_025_000

    struct Fixture {
        let application: Application<RouterResponder<BasicRequestContext>>
    }

    /// swift-metrics bootstraps once per process: every test shares this registry.
    static let metricsRegistry: PrometheusCollectorRegistry = {
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        return registry
    }()

    static func redisURL() throws -> RedisURL {
        guard let text = ProcessInfo.processInfo.environment["TESSERA_REDIS_URL"] else {
            throw RedisError("TESSERA_REDIS_URL is not set: run the tests through scripts/test")
        }
        return try RedisURL(parsing: text)
    }

    static func catalog() throws -> FeatureCatalog {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../config/features.yaml").standardized.path
        return try FeatureCatalog.load(yaml: String(contentsOfFile: path, encoding: .utf8), file: path)
    }

    /// Two products and one user with known events, served by a fresh API.
    func withAPI(
        maxEntities: Int = 1_000, maxBody: Int = 1_048_576, redisURL: RedisURL? = nil, keys: APIKeyStore? = nil,
        ratePerSecond: Double? = nil, burst: Int = 100, _ body: @escaping @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        _ = Self.metricsRegistry  // before any handle is made, or it binds to the no-op backend
        let catalog = try Self.catalog()
        let keyspace = RedisKeyspace(prefix: "t\(UUID().uuidString.prefix(8).lowercased())")
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        let store = OnlineStore(url: try Self.redisURL(), keyspace: keyspace, catalog: catalog, futureToleranceMs: 300_000, logger: logger)
        let events = [
            ClickEvent(eventID: "1", type: .view, timestampMs: now - 1_000, userID: "u-1", productID: "p-1"),
            ClickEvent(eventID: "2", type: .view, timestampMs: now - 2_000, userID: "u-2", productID: "p-1"),
            ClickEvent(eventID: "3", type: .click, timestampMs: now - 3_000, userID: "u-1", productID: "p-1"),
            ClickEvent(eventID: "4", type: .view, timestampMs: now - 4_000, userID: "u-1", productID: "42"),
            ClickEvent(eventID: "5", type: .view, timestampMs: now - 40 * 86_400_000, userID: "u-9", productID: "p-old"),
        ].enumerated().map { SourcedEvent(event: $1, partition: 0, offset: Int64($0)) }
        _ = try store.apply(catalog.streamViews.map {
            OnlineStore.ViewDeltas(view: $0.name, deltas: TileFolder(view: $0).fold(events, nowMs: now).deltas)
        }, nowMs: now)
        // Ingested 31 days ago: the vector is still there, its newest event past the 30-day ttl.
        let monthAgo = now - 31 * 86_400_000
        let stale = [SourcedEvent(event: ClickEvent(eventID: "6", type: .view, timestampMs: monthAgo - 1_000, userID: "u-9", productID: "p-stale"), partition: 1, offset: 0)]
        _ = try store.apply(catalog.streamViews.map {
            OnlineStore.ViewDeltas(view: $0.name, deltas: TileFolder(view: $0).fold(stale, nowMs: monthAgo).deltas)
        }, nowMs: monthAgo)

        let redis = RedisPipeline(url: try redisURL ?? Self.redisURL(), timeoutMs: 500)
        let vectors = VectorStore(redis: redis)
        let api = LookupAPI(
            catalog: catalog, keyspace: keyspace, store: vectors,
            limits: .init(maxBodyBytes: maxBody, maxEntitiesPerRequest: maxEntities, ratePerSecond: ratePerSecond, burst: burst),
            keys: keys,
            readinessChecks: { [.init(name: "redis", ok: await vectors.ping(), detail: "")] },
            metricsText: { Self.metricsRegistry.emitToBuffer() },
            clock: { [now] in now })
        let app = Application(router: api.router(), logger: logger)
        do {
            try await app.test(.router) { client in try await body(client) }
        } catch {
            await redis.close()
            throw error
        }
        await redis.close()
    }

    func post(_ client: any TestClientProtocol, _ json: String) async throws -> (HTTPResponse.Status, [String: Any]) {
        try await client.execute(uri: "/get-online-features", method: .post, body: ByteBuffer(string: json)) { response in
            let object = try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any] ?? [:]
            return (response.status, object)
        }
    }

    @Test func answersInFeastsShape() async throws {
        try await withAPI { client in
            let (status, body) = try await post(client, #"""
                {"features": ["product_stats:views_24h", "product_stats:ctr_24h", "product_stats:unique_users_24h", "product_stats:last_event_at"],
                 "entities": {"product_id": ["p-1", 42, "p-missing"]}}
                """#)
            #expect(status == .ok)
            let names = (body["metadata"] as? [String: Any])?["feature_names"] as? [String]
            #expect(names == ["product_id", "views_24h", "ctr_24h", "unique_users_24h", "last_event_at"])
            let results = try #require(body["results"] as? [[String: Any]])
            #expect(results.count == 5)
            #expect(results[0]["values"] as? [String] == ["p-1", "42", "p-missing"])
            let views = results[1]["values"] as? [Any]
            #expect((views?[0] as? Int) == 2 && (views?[1] as? Int) == 1 && views?[2] is NSNull)
            #expect(results[1]["statuses"] as? [String] == ["PRESENT", "PRESENT", "NOT_FOUND"])
            #expect(((results[2]["values"] as? [Any])?[0] as? Double) == (1.0 + 1) / (2 + 20))
            #expect(((results[3]["values"] as? [Any])?[0] as? Int) == 2)
            #expect(((results[4]["values"] as? [Any])?[0] as? Int) == Int(now - 1_000))
            #expect((results[1]["event_timestamps"] as? [String])?[0] == "2025-11-21T10:13:44.000Z")
        }
    }

    @Test func fullFeatureNamesAndSeveralViews() async throws {
        try await withAPI { client in
            let (status, body) = try await post(client, #"""
                {"features": ["user_stats:views_24h", "product_stats:views_24h"], "full_feature_names": true,
                 "entities": {"user_id": ["u-1", "u-1"], "product_id": ["p-1", "42"]}}
                """#)
            #expect(status == .ok)
            let names = (body["metadata"] as? [String: Any])?["feature_names"] as? [String]
            #expect(names == ["user_id", "product_id", "user_stats__views_24h", "product_stats__views_24h"])
            let results = try #require(body["results"] as? [[String: Any]])
            #expect(results[2]["values"] as? [Int] == [2, 2])
            #expect(results[3]["values"] as? [Int] == [2, 1])
        }
    }

    @Test func staleEntitiesAreOutsideMaxAge() async throws {
        try await withAPI { client in
            let (_, body) = try await post(client, #"{"features": ["product_stats:views_7d"], "entities": {"product_id": ["p-stale", "p-old"]}}"#)
            let results = body["results"] as? [[String: Any]]
            // p-old's only event, 40 days old, is too old for every window, but the lifetime
            // last_event_at keeps it (every event counts there), so the vector is past the ttl.
            #expect(results?[1]["statuses"] as? [String] == ["OUTSIDE_MAX_AGE", "OUTSIDE_MAX_AGE"])
        }
    }

    @Test(arguments: [
        ("{not json", 400, "bad_json"),
        (#"{"features": [], "entities": {"product_id": ["p-1"]}}"#, 400, "missing_features"),
        (#"{"features": ["nope:views_24h"], "entities": {"product_id": ["p-1"]}}"#, 400, "unknown_view"),
        (#"{"features": ["product_stats:nope"], "entities": {"product_id": ["p-1"]}}"#, 400, "unknown_feature"),
        (#"{"features": ["views_24h"], "entities": {"product_id": ["p-1"]}}"#, 400, "bad_feature_reference"),
        (#"{"features": ["product_stats:views_24h:x"], "entities": {"product_id": ["p-1"]}}"#, 400, "bad_feature_reference"),
        (#"{"features": [":views_24h"], "entities": {"product_id": ["p-1"]}}"#, 400, "bad_feature_reference"),
        (#"{"features": ["product_stats:"], "entities": {"product_id": ["p-1"]}}"#, 400, "bad_feature_reference"),
        (#"{"features": ["product_stats:views_24h"], "entities": {"user_id": ["u-1"]}}"#, 400, "missing_join_key"),
        (#"{"features": ["user_stats:views_24h", "product_stats:views_7d"], "entities": {"user_id": ["u-1"], "product_id": ["p-1", "p-2"]}}"#, 400, "mismatched_entity_lengths"),
        (#"{"features": ["user_stats:views_24h", "product_stats:views_24h"], "entities": {"user_id": ["u-1"], "product_id": ["p-1"]}}"#, 400, "duplicate_feature"),
        (#"{"features": ["product_stats:views_24h"], "entities": {"product_id": [1.5]}}"#, 400, "bad_request_body"),
        (#"{"features": ["product_stats:views_24h"]}"#, 400, "bad_request_body"),
        (#"{"features": ["product_stats:views_24h"], "entities": {"product_id": ["a","b","c","d"]}}"#, 400, "too_many_entities"),
    ])
    func badRequestsGetAJSONError(body: String, status: Int, code: String) async throws {
        try await withAPI(maxEntities: 3) { client in
            let (got, object) = try await post(client, body)
            #expect(got.code == status)
            let error = object["error"] as? [String: Any]
            #expect(error?["code"] as? String == code)
            #expect((error?["message"] as? String)?.isEmpty == false)
        }
    }

    @Test func oversizedBodiesAre413() async throws {
        try await withAPI(maxBody: 256) { client in
            let ids = (0..<100).map { "\"p-\($0)\"" }.joined(separator: ",")
            let (status, object) = try await post(client, #"{"features": ["product_stats:views_24h"], "entities": {"product_id": [\#(ids)]}}"#)
            #expect(status == .contentTooLarge)
            #expect((object["error"] as? [String: Any])?["code"] as? String == "body_too_large")
        }
    }

    @Test func aTraceparentIsEchoedAndAMalformedOneIgnored() async throws {
        try await withAPI { client in
            let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
            try await client.execute(uri: "/healthz", method: .get, headers: [HTTPField.Name("traceparent")!: traceparent]) { response in
                #expect(response.headers[HTTPField.Name("traceparent")!] == traceparent)
            }
            try await client.execute(uri: "/healthz", method: .get, headers: [HTTPField.Name("traceparent")!: "00-zz-00-01"]) { response in
                #expect(response.headers[HTTPField.Name("traceparent")!] == nil)
            }
        }
    }

    @Test func metricsCountLookupsAndErrors() async throws {
        try await withAPI { client in
            func sample(_ series: String) async throws -> Double {
                try await client.execute(uri: "/metrics", method: .get) { response in
                    let line = String(buffer: response.body).split(separator: "\n").first { $0.hasPrefix(series + " ") }
                    return line.flatMap { Double($0.split(separator: " ").last!) } ?? 0
                }
            }
            let okSeries = #"tessera_http_requests_total{endpoint="/get-online-features",status="200"}"#
            let errorSeries = #"tessera_http_errors_total{endpoint="/get-online-features",code="unknown_view"}"#
            let (okBefore, errorsBefore) = (try await sample(okSeries), try await sample(errorSeries))
            _ = try await post(client, #"{"features": ["product_stats:views_24h"], "entities": {"product_id": ["p-1", "42"]}}"#)
            _ = try await post(client, #"{"features": ["nope:views_24h"], "entities": {"product_id": ["p-1"]}}"#)
            #expect(try await sample(okSeries) >= okBefore + 1)
            #expect(try await sample(errorSeries) >= errorsBefore + 1)
            #expect(try await sample("tessera_lookup_entities_count") >= 1)
        }
    }

    @Test func apiKeysGuardEveryRouteButProbes() async throws {
        let lookupKey = APIKeyStore.newKey(scope: .lookup, name: "ranker", created: "2026-11-21T00:00:00Z")
        let adminKey = APIKeyStore.newKey(scope: .admin, name: "ops", created: "2026-11-21T00:00:00Z")
        let store = try APIKeyStore(fileContents: "# keys\n\(lookupKey.line)\n\(adminKey.line)\n", file: "api-keys")
        #expect(!lookupKey.line.contains(lookupKey.key))  // only the hash is stored
        try await withAPI(keys: store) { client in
            let body = ByteBuffer(string: #"{"features": ["product_stats:views_24h"], "entities": {"product_id": ["p-1"]}}"#)
            func status(_ uri: String, _ method: HTTPRequest.Method = .get, key: String?) async throws -> (Int, String) {
                let headers: HTTPFields = key.map { [.authorization: "Bearer \($0)"] } ?? [:]
                return try await client.execute(uri: uri, method: method, headers: headers, body: method == .post ? body : nil) {
                    ($0.status.code, String(buffer: $0.body))
                }
            }
            #expect(try await status("/get-online-features", .post, key: nil).0 == 401)
            #expect(try await status("/get-online-features", .post, key: "tsk_wrong").1.contains(#""code":"unauthorized""#))
            #expect(try await status("/get-online-features", .post, key: lookupKey.key).0 == 200)
            #expect(try await status("/v1/features", key: lookupKey.key).0 == 200)
            let forbidden = try await status("/metrics", key: lookupKey.key)
            #expect(forbidden.0 == 403 && forbidden.1.contains(#""code":"forbidden""#))
            #expect(try await status("/metrics", key: adminKey.key).0 == 200)
            #expect(try await status("/healthz", key: nil).0 == 200)
            #expect(try await status("/readyz", key: nil).0 == 200)
        }
    }

    @Test func aKeyOverItsRateLimitGets429WithRetryAfter() async throws {
        // One token per 100 s: the test never runs long enough for a refill.
        try await withAPI(ratePerSecond: 0.01, burst: 3) { client in
            var codes: [Int] = []
            var retryAfter: String?
            for _ in 0..<5 {
                try await client.execute(uri: "/v1/features", method: .get) { response in
                    codes.append(response.status.code)
                    if response.status == .tooManyRequests {
                        retryAfter = response.headers[.retryAfter]
                        #expect(String(buffer: response.body).contains(#""code":"rate_limited""#))
                    }
                }
            }
            #expect(codes == [200, 200, 200, 429, 429])
            #expect(retryAfter.flatMap(Int.init).map { (90...100).contains($0) } == true, "Retry-After \(retryAfter ?? "missing")")
        }
    }

    @Test func keyFilesRejectMalformedLines() {
        #expect(throws: APIKeyFileError.self) { try APIKeyStore(fileContents: "abc lookup x y\n", file: "api-keys") }
        #expect(throws: APIKeyFileError.self) { try APIKeyStore(fileContents: String(repeating: "a", count: 64) + " root x y\n", file: "api-keys") }
    }

    @Test func catalogueHealthAndUnknownRoutes() async throws {
        try await withAPI { client in
            try await client.execute(uri: "/v1/features", method: .get) { response in
                #expect(response.status == .ok)
                let object = try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any]
                let views = object?["views"] as? [[String: Any]]
                #expect(views?.map { $0["name"] as? String } == ["product_stats", "user_stats", "query_product_stats", "product_catalog"])
                let features = views?.first?["features"] as? [[String: Any]]
                #expect(features?.first?["window"] as? String == "1h")
            }
            try await client.execute(uri: "/healthz", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/readyz", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/nope", method: .get) { response in
                #expect(response.status == .notFound)
                #expect(String(buffer: response.body).contains(#""code":"not_found""#))
            }
        }
    }

    @Test func anUnreachableRedisAnswers503NotAHang() async throws {
        try await withAPI(redisURL: try RedisURL(parsing: "redis://127.0.0.1:1/0")) { client in
            let (status, object) = try await post(client, #"{"features": ["product_stats:views_24h"], "entities": {"product_id": ["p-1"]}}"#)
            #expect(status == .serviceUnavailable)
            #expect((object["error"] as? [String: Any])?["code"] as? String == "online_store_unavailable")
            try await client.execute(uri: "/readyz", method: .get) { #expect($0.status == .serviceUnavailable) }
        }
    }
}
