import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTLS
import HummingbirdTesting
import Logging
import NIOSSL
import Synchronization
import Testing
import TesseraCore
import TesseraRedis
import TesseraServe

/// Server setup for operations: /metrics on an address of its own, request timeouts
/// that answer 503 and feed the circuit breaker, and HTTPS.
@Suite struct APIOperationsTests {
    static let logger: Logger = {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return logger
    }()

    static let lookupBody = #"{"features": ["product_stats:views_24h"], "entities": {"product_id": ["p-1"]}}"#

    static func api(redisURL: RedisURL, replyTimeoutMs: Int = 500, requestTimeout: Duration? = nil,
                    metricsText: (@Sendable () -> [UInt8])?) throws -> LookupAPI {
        try LookupAPI(
            catalog: LookupAPITests.catalog(), keyspace: RedisKeyspace(prefix: "t\(UUID().uuidString.prefix(8).lowercased())"),
            store: VectorStore(redis: RedisPipeline(url: redisURL, timeoutMs: replyTimeoutMs), readTimeout: requestTimeout),
            limits: .init(maxBodyBytes: 65_536, maxEntitiesPerRequest: 100),
            readinessChecks: { [] }, metricsText: metricsText)
    }

    @Test func metricsOnTheirOwnAddressAreOpenAndGoneFromTheAPI() async throws {
        _ = LookupAPITests.metricsRegistry
        // The API's router as serve builds it with api.metrics_listen set: no /metrics.
        let keys = try APIKeyStore(fileContents: "", file: "api-keys")
        let api = try LookupAPI(
            catalog: LookupAPITests.catalog(), keyspace: RedisKeyspace(prefix: "tm"),
            store: VectorStore(redis: RedisPipeline(url: LookupAPITests.redisURL())),
            limits: .init(maxBodyBytes: 65_536, maxEntitiesPerRequest: 100), keys: keys, readinessChecks: { [] }, metricsText: nil)
        try await Application(router: api.router(), logger: Self.logger).test(.router) { client in
            try await client.execute(uri: "/metrics", method: .get) { response in
                // Auth comes first on the API, so without a key it is 401, not a metrics page.
                #expect(response.status == .unauthorized)
            }
        }
        let openAPI = try Self.api(redisURL: LookupAPITests.redisURL(), metricsText: nil)
        try await Application(router: openAPI.router(), logger: Self.logger).test(.router) { client in
            try await client.execute(uri: "/metrics", method: .get) { response in #expect(response.status == .notFound) }
        }
        let metrics = MetricsRoute.router(metricsText: { LookupAPITests.metricsRegistry.emitToBuffer() })
        try await Application(router: metrics, logger: Self.logger).test(.router) { client in
            try await client.execute(uri: "/metrics", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "text/plain; version=0.0.4")
                #expect(String(buffer: response.body).contains("# TYPE"))
            }
            try await client.execute(uri: "/get-online-features", method: .post, body: ByteBuffer(string: Self.lookupBody)) { response in
                #expect(response.status == .notFound)
            }
        }
    }

    @Test func aLookupPastItsTimeoutAnswers503AndCountsInTheBreaker() async throws {
        let redis = try RedisOutageTests.PrivateRedis()
        // The connection would wait 8 s for a reply: the 500 ms deadline answers first.
        let api = try Self.api(
            redisURL: redis.url, replyTimeoutMs: 8_000, requestTimeout: .milliseconds(500), metricsText: nil)
        try await Application(router: api.router(), logger: Self.logger).test(.router) { client in
            func lookup() async throws -> (HTTPResponse.Status, String?) {
                try await client.execute(uri: "/get-online-features", method: .post, body: ByteBuffer(string: Self.lookupBody)) { response in
                    let object = try? JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any]
                    return (response.status, (object?["error"] as? [String: Any])?["code"] as? String)
                }
            }
            #expect(try await lookup() == (.ok, nil))

            // A Redis that holds every command for 6 s: alive, but not answering.
            _ = try RedisConnection(url: redis.url).send(["CLIENT", "PAUSE", "6000"])
            var timedOut: [(HTTPResponse.Status, String?)] = []
            for _ in 0..<5 { timedOut.append(try await lookup()) }
            #expect(timedOut.allSatisfy { $0 == (.serviceUnavailable, "request_timeout") }, "\(timedOut)")
            // Five failures in a row opened the breaker: the next lookup fails at once.
            #expect(try await lookup() == (.serviceUnavailable, "online_store_unavailable"))

            try await Task.sleep(for: .seconds(6.5))
            var recovered = try await lookup()
            if recovered.0 != .ok { recovered = try await lookup() }
            #expect(recovered == (.ok, nil))
        }
    }

    /// A self-signed certificate for localhost, made with the openssl CLI.
    static func selfSignedCertificate(in folder: URL) throws -> (certificate: String, key: String) {
        let certificate = folder.appendingPathComponent("cert.pem").path
        let key = folder.appendingPathComponent("key.pem").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = [
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", certificate, "-days", "1",
            "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        struct OpenSSLFailed: Error { var status: Int32 }
        guard process.terminationStatus == 0 else { throw OpenSSLFailed(status: process.terminationStatus) }
        return (certificate, key)
    }

    @Test func theAPISpeaksHTTPSWithTheConfiguredCertificate() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tessera-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let files = try Self.selfSignedCertificate(in: folder)

        let api = try Self.api(redisURL: LookupAPITests.redisURL(), metricsText: nil)
        let port = Mutex<Int?>(nil)
        let app = Application(
            router: api.router(),
            server: APIServer.builder(tls: try APITLS.serverConfiguration(certificatePath: files.certificate, privateKeyPath: files.key)),
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in port.withLock { $0 = channel.localAddress?.port } },
            logger: Self.logger)
        let stopped = Mutex<String?>(nil)
        let server = Task {
            do { try await app.runService(gracefulShutdownSignals: []) } catch { stopped.withLock { $0 = "\(error)" } }
        }
        defer { server.cancel() }
        // A bound, not a timing: the whole suite shares two cores.
        let deadline = ContinuousClock.now + .seconds(120)
        while port.withLock({ $0 }) == nil && stopped.withLock({ $0 }) == nil && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        let listening = try #require(port.withLock { $0 }, "the HTTPS server did not start: \(stopped.withLock { $0 } ?? "no error")")

        // A client that trusts only this certificate and checks the host name.
        var trusting = TLSConfiguration.makeClientConfiguration()
        trusting.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(files.certificate))
        let client = TestClient(
            host: "127.0.0.1", port: listening, configuration: .init(tlsConfiguration: trusting, serverName: "localhost"))
        client.connect()
        let health = try await client.get("/healthz")
        #expect(health.status == .ok)
        #expect(health.body.map { String(buffer: $0) } == #"{"status":"ok"}"#)
        try await client.shutdown()

        // Plain HTTP to the HTTPS port gets no HTTP answer.
        let plain = TestClient(host: "127.0.0.1", port: listening, configuration: .init(timeout: .seconds(5)))
        plain.connect()
        await #expect(throws: (any Error).self) { _ = try await plain.get("/healthz") }
        try? await plain.shutdown()

        // A key file that is not a key: the error names the file, not its contents.
        let error = try #require(throws: APITLS.LoadError.self) {
            try APITLS.serverConfiguration(certificatePath: files.certificate, privateKeyPath: files.certificate)
        }
        #expect(error.description.hasPrefix("api.tls.private_key '\(files.certificate)': not a readable PEM private key"))
        #expect(!error.description.contains("BEGIN CERTIFICATE"))
    }
}
