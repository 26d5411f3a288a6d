import Foundation
import Hummingbird
import Metrics
import TesseraCore

/// The HTTP API: Feast-compatible lookup, the feature catalogue, health and readiness.
public struct LookupAPI: Sendable {
    public struct Limits: Sendable {
        public var maxBodyBytes: Int
        public var maxEntitiesPerRequest: Int
        /// nil: no rate limit.
        public var ratePerSecond: Double?
        public var burst: Int
        public var maxInFlight: Int

        public init(maxBodyBytes: Int, maxEntitiesPerRequest: Int, ratePerSecond: Double? = nil, burst: Int = 100, maxInFlight: Int = 512) {
            self.maxBodyBytes = maxBodyBytes
            self.maxEntitiesPerRequest = maxEntitiesPerRequest
            self.ratePerSecond = ratePerSecond
            self.burst = burst
            self.maxInFlight = maxInFlight
        }
    }

    /// One dependency readiness depends on, e.g. Redis answering or partitions assigned.
    public struct ReadinessCheck: Sendable {
        public var name: String
        public var ok: Bool
        public var detail: String

        public init(name: String, ok: Bool, detail: String) {
            self.name = name
            self.ok = ok
            self.detail = detail
        }
    }

    let catalog: FeatureCatalog
    /// nil: authentication off.
    let keys: APIKeyStore?
    let lookup: FeatureLookup
    let limits: Limits
    let readinessChecks: @Sendable () async -> [ReadinessCheck]
    /// The Prometheus text exposition, when /metrics is served on this router.
    let metricsText: (@Sendable () -> [UInt8])?
    let clock: @Sendable () -> Int64
    private let entitiesPerRequest = Recorder(label: "tessera_lookup_entities", aggregate: true)

    public init(
        catalog: FeatureCatalog, keyspace: RedisKeyspace, store: VectorStore, limits: Limits, keys: APIKeyStore? = nil,
        readinessChecks: @escaping @Sendable () async -> [ReadinessCheck],
        metricsText: (@Sendable () -> [UInt8])? = nil,
        clock: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1_000) }
    ) {
        self.catalog = catalog
        self.keys = keys
        self.lookup = FeatureLookup(keyspace: keyspace, store: store)
        self.limits = limits
        self.readinessChecks = readinessChecks
        self.metricsText = metricsText
        self.clock = clock
    }

    public func router() -> Router<BasicRequestContext> {
        let router = Router()
        let paths = ["/get-online-features", "/v1/features", "/healthz", "/readyz", "/metrics"]
        router.middlewares.add(RequestMetricsMiddleware(knownPaths: Set(paths)))
        router.middlewares.add(TraceContextMiddleware())
        router.middlewares.add(AccessMiddleware(
            keys: keys, limiter: limits.ratePerSecond.map { RateLimiter(ratePerSecond: $0, burst: limits.burst) },
            inFlight: InFlightLimit(maximum: limits.maxInFlight)))
        router.middlewares.add(JSONErrorMiddleware())
        router.post("get-online-features") { request, context in try await getOnlineFeatures(request, context) }
        router.get("v1/features") { _, _ in json(CatalogueDocument.bytes(catalog)) }
        router.get("healthz") { _, _ in json(Array(#"{"status":"ok"}"#.utf8)) }
        router.get("readyz") { _, _ in try await readyz() }
        if let metricsText { MetricsRoute.add(to: router, metricsText: metricsText) }
        return router
    }

    private func getOnlineFeatures(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: limits.maxBodyBytes)
        } catch let error as HTTPResponseError where error.status == .contentTooLarge {
            throw APIError(.contentTooLarge, code: "body_too_large", message: "request body is over \(limits.maxBodyBytes) bytes")
        }
        let plan = try body.withUnsafeReadableBytes { bytes throws(APIError) in
            try LookupPlan(body: bytes, catalog: catalog, maxRows: limits.maxEntitiesPerRequest)
        }
        entitiesPerRequest.record(plan.rowCount)
        let answer: ByteBuffer
        do {
            answer = try await lookup.respond(to: plan, nowMs: clock())
        } catch let error as ReadDeadlines.Exceeded {
            throw APIError(.serviceUnavailable, code: "request_timeout", message: "\(error); retry shortly")
        } catch {
            context.logger.error("online store read failed", metadata: ["error": "\(error)"])
            throw APIError(.serviceUnavailable, code: "online_store_unavailable", message: "the online store did not answer; retry shortly")
        }
        return json(answer)
    }

    private func readyz() async throws -> Response {
        let checks = await readinessChecks()
        let ready = checks.allSatisfy(\.ok)
        var writer = JSONWriter()
        writer.beginObject()
        writer.field("status", ready ? "ready" : "not_ready")
        writer.key("checks")
        writer.beginObject()
        for check in checks {
            writer.key(check.name)
            writer.beginObject()
            writer.key("ok")
            writer.bool(check.ok)
            writer.field("detail", check.detail)
            writer.endObject()
        }
        writer.endObject()
        writer.endObject()
        return json(writer.bytes, status: ready ? .ok : .serviceUnavailable)
    }

    private func json(_ bytes: [UInt8], status: HTTPResponse.Status = .ok) -> Response {
        json(ByteBuffer(bytes: bytes), status: status)
    }

    private func json(_ body: ByteBuffer, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: body))
    }
}
