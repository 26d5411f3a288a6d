import Hummingbird
import Synchronization

/// Who may call what, and how often: API keys (`Authorization: Bearer <key>`) with
/// scopes, per-key rate limits (429 with Retry-After) and a cap on requests in flight
/// (503). /healthz and /readyz stay open so probes need no secret.
struct AccessMiddleware<Context: RequestContext>: RouterMiddleware {
    let keys: APIKeyStore?
    let limiter: RateLimiter?
    let inFlight: InFlightLimit
    static var openPaths: Set<String> { ["/healthz", "/readyz"] }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        if Self.openPaths.contains(path) { return try await next(request, context) }

        var client = "anonymous"
        if let keys {
            guard let header = request.headers[.authorization], header.hasPrefix("Bearer "),
                  let entry = keys.entry(forKey: String(header.dropFirst("Bearer ".count))) else {
                throw APIError(.unauthorized, code: "unauthorized", message: "send a valid API key as 'Authorization: Bearer <key>'")
            }
            let required: APIScope = path == "/metrics" ? .admin : .lookup
            guard entry.scope.allows(required) else {
                throw APIError(.forbidden, code: "forbidden", message: "this key's scope '\(entry.scope.rawValue)' does not allow \(path)")
            }
            client = entry.hash
        }
        if let limiter, let wait = limiter.retryAfter(client: client) {
            throw RateLimitedError(retryAfterSeconds: Int(wait.rounded(.up)))
        }
        guard inFlight.enter() else {
            throw APIError(.serviceUnavailable, code: "overloaded", message: "too many requests in flight; retry shortly")
        }
        defer { inFlight.leave() }
        return try await next(request, context)
    }
}

/// 429 with a Retry-After header and the API's JSON error body.
struct RateLimitedError: HTTPResponseError {
    var retryAfterSeconds: Int
    var status: HTTPResponse.Status { .tooManyRequests }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        var response = try APIError(.tooManyRequests, code: "rate_limited", message: "rate limit exceeded for this key")
            .response(from: request, context: context)
        response.headers[.retryAfter] = String(max(1, retryAfterSeconds))
        return response
    }
}

/// A cap on requests being served at once.
final class InFlightLimit: Sendable {
    private let current = Atomic<Int>(0)
    let maximum: Int

    init(maximum: Int) { self.maximum = maximum }

    func enter() -> Bool {
        if current.add(1, ordering: .relaxed).newValue > maximum {
            current.subtract(1, ordering: .relaxed)
            return false
        }
        return true
    }

    func leave() { current.subtract(1, ordering: .relaxed) }
}
