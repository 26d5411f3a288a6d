import Hummingbird

/// `GET /metrics`: the Prometheus text exposition. On the API's router (admin scope when
/// keys are on) or, with `api.metrics_listen`, alone on a router of its own for a
/// separate address, without keys (keep that address inside the cluster).
public enum MetricsRoute {
    public static func router(metricsText: @escaping @Sendable () -> [UInt8]) -> Router<BasicRequestContext> {
        let router = Router()
        router.middlewares.add(JSONErrorMiddleware())
        add(to: router, metricsText: metricsText)
        return router
    }

    static func add(to router: Router<BasicRequestContext>, metricsText: @escaping @Sendable () -> [UInt8]) {
        router.get("metrics") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                body: .init(byteBuffer: ByteBuffer(bytes: metricsText())))
        }
    }
}
