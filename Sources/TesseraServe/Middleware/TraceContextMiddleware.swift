import HTTPTypes
import Hummingbird

/// Honours a W3C `traceparent` header: its trace id goes into every log line of the
/// request, and the header is echoed on the response so callers can correlate.
struct TraceContextMiddleware<Context: RequestContext>: RouterMiddleware {
    static var headerName: HTTPField.Name { HTTPField.Name("traceparent")! }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let header = request.headers[Self.headerName], let traceID = Self.traceID(of: header) else {
            return try await next(request, context)
        }
        var context = context
        context.logger[metadataKey: "trace_id"] = .string(traceID)
        var response = try await next(request, context)
        response.headers[Self.headerName] = header
        return response
    }

    /// The trace id of a version-00 `traceparent` (`00-<32 hex>-<16 hex>-<2 hex>`), or nil
    /// when malformed or all zeros, which the spec says to ignore.
    static func traceID(of header: String) -> String? {
        let parts = header.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "00", parts[1].count == 32, parts[2].count == 16, parts[3].count == 2,
              parts.dropFirst().allSatisfy({ $0.allSatisfy(\.isHexDigit) && $0 == $0.lowercased() }),
              parts[1].contains(where: { $0 != "0" }), parts[2].contains(where: { $0 != "0" }) else { return nil }
        return String(parts[1])
    }
}
