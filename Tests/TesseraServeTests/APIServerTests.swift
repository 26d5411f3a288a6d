import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
import TesseraCore
import TesseraRedis
import TesseraServe

/// The API's server (`APIServer.builder`): each connection's requests run on the event loop
/// that owns the connection, across awaits and in child tasks, and lookups answer through it.
@Suite struct APIServerTests {
    /// A context that keeps the request's channel, to ask where the handler runs.
    struct ChannelContext: RequestContext {
        var coreContext: CoreRequestContextStorage
        let channel: any Channel

        init(source: ApplicationRequestContextSource) {
            coreContext = .init(source: source)
            channel = source.channel
        }
    }

    @Test func aRequestRunsOnItsConnectionsEventLoopAcrossAwaits() async throws {
        let router = Router(context: ChannelContext.self)
        router.get("/where") { _, context -> String in
            let before = context.channel.eventLoop.inEventLoop
            try await Task.sleep(for: .milliseconds(2))
            let afterSleep = context.channel.eventLoop.inEventLoop
            // A child task keeps the preference (an unstructured `Task {}` would not).
            async let child = context.channel.eventLoop.inEventLoop
            let afterChild = await child
            return "\(before),\(afterSleep),\(afterChild)"
        }
        let app = Application(router: router, server: APIServer.builder(), logger: APIOperationsTests.logger)
        try await app.test(.live) { client in
            for _ in 0..<5 {
                try await client.execute(uri: "/where", method: .get) { response in
                    #expect(response.status == .ok)
                    #expect(String(buffer: response.body) == "true,true,true")
                }
            }
        }
    }

    @Test func lookupsAnswerThroughIt() async throws {
        let api = try APIOperationsTests.api(redisURL: LookupAPITests.redisURL(), metricsText: nil)
        let app = Application(router: api.router(), server: APIServer.builder(), logger: APIOperationsTests.logger)
        try await app.test(.live) { client in
            try await client.execute(uri: "/get-online-features", method: .post, body: ByteBuffer(string: APIOperationsTests.lookupBody)) { response in
                #expect(response.status == .ok)
                let object = try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any]
                let names = (object?["metadata"] as? [String: Any])?["feature_names"] as? [String]
                #expect(names == ["product_id", "views_24h"])
                let results = object?["results"] as? [[String: Any]]
                #expect(results?.count == 2)
                #expect(results?.last?["statuses"] as? [String] == ["NOT_FOUND"])
            }
        }
    }
}
