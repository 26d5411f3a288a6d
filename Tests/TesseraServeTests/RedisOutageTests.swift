import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Testing
import TesseraCore
import TesseraKafka
import TesseraRedis
import TesseraServe
@testable import TesseraStream

/// Redis stopped and started again under ingestion and lookups: lookups answer 503 while
/// it is down, ingestion keeps its batch and retries, and afterwards every count is exact.
/// Runs a Redis of its own (with an append-only file, so a restart keeps the data), since
/// stopping the shared one would break other tests.
@Suite struct RedisOutageTests {
    /// A private redis-server process on its own port and folder.
    final class PrivateRedis: @unchecked Sendable {
        // The test starts and stops it from one task at a time.
        /// Below Linux's ephemeral range (32768 and up), so no outgoing connection of another
        /// test can hold it, and clear of the ports the scripts use (26379, 25432, 36380, ...).
        let port: Int
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tessera-redis-\(UUID().uuidString)")

        var url: RedisURL { try! RedisURL(parsing: "redis://127.0.0.1:\(port)/0") }

        init() throws {
            // A port nothing answers on (the suite's other test runs a Redis of its own too).
            var port = Int.random(in: 28_000...32_000)
            while (try? RedisConnection(url: RedisURL(parsing: "redis://127.0.0.1:\(port)/0"), timeoutMs: 200).send(["PING"])) != nil {
                port = Int.random(in: 28_000...32_000)
            }
            self.port = port
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try start()
        }

        deinit {
            stop()
            try? FileManager.default.removeItem(at: folder)
        }

        private func answers() -> Bool {
            (try? RedisConnection(url: url, timeoutMs: 200).send(["PING"]))?.string == "PONG"
        }

        /// Starts redis-server daemonized (the launcher exits at once), with an
        /// append-only file so a restart keeps the data, and waits until it answers.
        func start() throws {
            let arguments = [
                "/usr/bin/redis-server", "--port", String(port), "--bind", "127.0.0.1", "--dir", folder.path, "--save", "",
                "--appendonly", "yes", "--appendfsync", "always", "--daemonize", "yes",
                "--logfile", folder.appendingPathComponent("log").path, "--pidfile", pidFile.path,
            ]
            var pid: pid_t = 0
            let argv = arguments.map { strdup($0) } + [nil]
            defer { argv.forEach { free($0) } }
            guard posix_spawn(&pid, arguments[0], nil, nil, argv, environ) == 0 else { throw RedisError("cannot run redis-server") }
            var status: Int32 = 0
            waitpid(pid, &status, 0)
            let deadline = Date().addingTimeInterval(30)
            while Date() < deadline {
                if answers() { return }
                Thread.sleep(forTimeInterval: 0.05)
            }
            let log = (try? String(contentsOf: folder.appendingPathComponent("log"), encoding: .utf8)) ?? ""
            throw RedisError("private redis-server did not start on port \(port): \(log.split(separator: "\n").suffix(3).joined(separator: " | "))")
        }

        private var pidFile: URL { folder.appendingPathComponent("redis.pid") }

        /// SHUTDOWN writes the append-only file and exits; the connection drops, as expected.
        /// Waits for the process itself to be gone (it stops answering before it has let go
        /// of its port), so a restart on the same port can bind it.
        func stop() {
            let pid = (try? String(contentsOf: pidFile, encoding: .utf8)).flatMap { pid_t($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            _ = try? RedisConnection(url: url, timeoutMs: 500).send(["SHUTDOWN"])
            let deadline = Date().addingTimeInterval(20)
            while Date() < deadline && (answers() || pid.map(Self.isRunning) == true) { Thread.sleep(forTimeInterval: 0.05) }
        }

        /// Alive and not a zombie (the daemonized server's parent may never reap it).
        private static func isRunning(_ pid: pid_t) -> Bool {
            guard kill(pid, 0) == 0, let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let state = stat.split(separator: ")").last?.split(separator: " ").first
            else { return false }
            return state != "Z"
        }
    }

    /// Kafka, a private Redis and the ingestion pipeline. The test calls it from one task
    /// at a time and waits for each call, so its unsynchronised state is never shared.
    final class OutageRig: @unchecked Sendable {
        let now: Int64 = 1_763_720_025_000
        let redis: PrivateRedis
        let broker: DevKafkaBroker
        let producer: KafkaProducer
        let consumer: KafkaConsumer
        let pipeline: IngestionPipeline
        let status = IngestionStatus()
        private(set) var failures = 0

        init(catalog: FeatureCatalog, keyspace: RedisKeyspace, consumerSettings: [String: String] = [:], logger: Logger) throws {
            redis = try PrivateRedis()
            broker = try DevKafkaBroker()
            try broker.createTopic("clickstream", partitions: 2)
            try broker.createTopic("clickstream.dlq", partitions: 1)
            producer = try KafkaProducer(brokers: broker.bootstrapServers, logger: logger)
            consumer = try KafkaConsumer(
                brokers: broker.bootstrapServers, groupID: "outage", topics: ["clickstream"],
                settings: ["session.timeout.ms": "6000", "heartbeat.interval.ms": "500"].merging(consumerSettings) { _, new in new }, logger: logger)
            pipeline = IngestionPipeline(
                consumer: consumer, deadLetters: producer,
                store: OnlineStore(url: redis.url, keyspace: keyspace, catalog: catalog, futureToleranceMs: 300_000, logger: logger),
                catalog: catalog,
                settings: .init(deadLetterTopic: "clickstream.dlq", batchMaxEvents: 50, batchMaxWaitMs: 50, decoder: EventDecoder()),
                clock: { [now] in now }, status: status, logger: logger)
        }

        deinit {
            consumer.close()
            producer.close()
            broker.shutdown()
        }

        func publish(_ count: Int, from start: Int) throws {
            for index in start..<(start + count) {
                let json = #"{"event_id":"e\#(index)","event_type":"view","timestamp":\#(now - Int64(index)),"user_id":"u-\#(index % 3)","product_id":"p-1"}"#
                try producer.send(topic: "clickstream", key: Array("u-\(index % 3)".utf8), value: Array(json.utf8))
            }
            try producer.flush(timeoutMs: 10_000)
        }

        /// Runs batches as the daemon's retry loop does, for a while.
        func ingest(for seconds: Double, backoff: Double = 0.05, afterFailure: () -> Void = {}) {
            let deadline = Date().addingTimeInterval(seconds)
            while Date() < deadline {
                do { _ = try pipeline.processBatch() } catch {
                    failures += 1
                    afterFailure()
                    Thread.sleep(forTimeInterval: backoff)
                }
            }
        }
    }

    @Test func lookupsAnswer503WhileRedisIsDownAndCountsAreExactAfter() async throws {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let catalog = try LookupAPITests.catalog()
        let keyspace = RedisKeyspace(prefix: "ts")
        let rig = try OutageRig(catalog: catalog, keyspace: keyspace, logger: logger)

        let lookupRedis = RedisPipeline(url: rig.redis.url, timeoutMs: 300)
        let api = LookupAPI(
            catalog: catalog, keyspace: keyspace,
            store: VectorStore(redis: lookupRedis),
            limits: .init(maxBodyBytes: 65_536, maxEntitiesPerRequest: 100), readinessChecks: { [] }, clock: { [now = rig.now] in now })
        let app = Application(router: api.router(), logger: logger)
        let request = #"{"features": ["product_stats:views_24h"], "entities": {"product_id": ["p-1"]}}"#

        try await app.test(.router) { client in
            func lookup() async throws -> (Int, Int?) {
                try await client.execute(uri: "/get-online-features", method: .post, body: ByteBuffer(string: request)) { response in
                    let object = try? JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any]
                    let views = ((object?["results"] as? [[String: Any]])?[1]["values"] as? [Any])?.first as? Int
                    return (response.status.code, views)
                }
            }
            // Blocking work runs off the cooperative pool, which has two threads here.
            func blocking(_ work: @escaping @Sendable () throws -> Void) async throws {
                try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, Error>) in
                    Thread { continuation.resume(with: Result { try work() }) }.start()
                }
            }

            try await blocking { try rig.publish(100, from: 0); rig.ingest(for: 8) }
            #expect(try await lookup() == (200, 100))

            try await blocking { rig.redis.stop(); try rig.publish(60, from: 100); rig.ingest(for: 2) }
            #expect(rig.failures > 0)
            #expect(rig.pipeline.hasPendingBatch)
            var codes: [Int] = []
            for _ in 0..<8 { codes.append(try await lookup().0) }
            #expect(codes.allSatisfy { $0 == 503 }, "\(codes)")

            try await blocking { try rig.redis.start(); try rig.publish(40, from: 160); rig.ingest(for: 6) }
            // The breaker lets a trial through after its pause; then lookups work again.
            try await Task.sleep(for: .seconds(1.2))
            var recovered = try await lookup()
            if recovered.0 != 200 { recovered = try await lookup() }
            #expect(recovered == (200, 200))
            #expect(rig.status.appliedEvents == 200)
        }
        await lookupRedis.close()
    }

    /// Redis down for longer than `max.poll.interval.ms`: the pipeline pauses its
    /// partitions and polls between retries, so it keeps them (no rebalance) and fetches
    /// nothing more meanwhile; afterwards it resumes and every count is exact.
    @Test func aLongOutagePausesThePartitionsAndKeepsThem() async throws {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let rig = try OutageRig(
            catalog: try LookupAPITests.catalog(), keyspace: RedisKeyspace(prefix: "tp"),
            consumerSettings: ["max.poll.interval.ms": "7000"], logger: logger)
        final class Seen: @unchecked Sendable {
            // Written and read by the one thread the rig runs on, then by the test after it.
            var revocations = 0
            var pausedThroughout = true
            var assignment: Set<TopicPartition> = []
        }
        let seen = Seen()
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, Error>) in
            Thread {
                continuation.resume(with: Result {
                    try rig.publish(100, from: 0)
                    rig.ingest(for: 6)
                    seen.assignment = rig.consumer.assignment
                    rig.consumer.onRevoke = { _ in seen.revocations += 1 }
                    rig.redis.stop()
                    try rig.publish(60, from: 100)
                    // Longer than max.poll.interval.ms, at the daemon's retry pace.
                    rig.ingest(for: 10, backoff: 0.5) {
                        seen.pausedThroughout = seen.pausedThroughout && rig.pipeline.isPaused
                            && rig.consumer.pausedPartitions == seen.assignment
                    }
                    try rig.redis.start()
                    rig.ingest(for: 6)
                    rig.consumer.onRevoke = nil
                })
            }.start()
        }
        #expect(rig.failures > 5)
        #expect(!seen.assignment.isEmpty)
        #expect(seen.pausedThroughout)
        #expect(seen.revocations == 0)
        #expect(!rig.pipeline.isPaused && rig.consumer.pausedPartitions.isEmpty)
        #expect(rig.status.appliedEvents == 160)
    }
}
