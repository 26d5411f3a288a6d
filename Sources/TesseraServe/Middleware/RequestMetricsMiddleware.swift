import Hummingbird
import Metrics

/// Counts requests by endpoint and status, times them, and counts client errors by
/// their API error code. Unknown paths share one label so a scanner cannot blow up the
/// number of series.
struct RequestMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let knownPaths: Set<String>

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        let endpoint = knownPaths.contains(request.uri.path) ? request.uri.path : "unmatched"
        do {
            let response = try await next(request, context)
            record(endpoint: endpoint, status: response.status.code, errorCode: nil, since: started)
            return response
        } catch let error as APIError {
            record(endpoint: endpoint, status: error.status.code, errorCode: error.code, since: started)
            throw error
        } catch let error as HTTPResponseError {
            record(endpoint: endpoint, status: error.status.code, errorCode: nil, since: started)
            throw error
        } catch {
            record(endpoint: endpoint, status: 500, errorCode: "internal", since: started)
            throw error
        }
    }

    private func record(endpoint: String, status: Int, errorCode: String?, since started: ContinuousClock.Instant) {
        Counter(label: "tessera_http_requests_total", dimensions: [("endpoint", endpoint), ("status", String(status))]).increment()
        Metrics.Timer(label: "tessera_http_request_duration_seconds", dimensions: [("endpoint", endpoint)])
            .record(duration: ContinuousClock.now - started)
        if let errorCode {
            Counter(label: "tessera_http_errors_total", dimensions: [("endpoint", endpoint), ("code", errorCode)]).increment()
        }
    }
}
