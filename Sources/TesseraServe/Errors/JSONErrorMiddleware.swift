import Hummingbird

/// Turns Hummingbird's and NIO's own errors (unknown route, wrong method, body over the
/// limit, …) into the API's JSON error body, so every client error has the same shape.
struct JSONErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            throw error
        } catch let error as HTTPResponseError {
            let code = error.status.reasonPhrase.lowercased().replacingOccurrences(of: " ", with: "_")
            throw APIError(error.status, code: code, message: (error as? HTTPError)?.body ?? error.status.reasonPhrase)
        }
    }
}
