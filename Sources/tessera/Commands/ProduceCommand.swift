import ArgumentParser
import Foundation
import Logging
import TesseraBatch
import TesseraCore
import TesseraKafka
import TesseraPostgres

/// `tessera produce`: publishes a realistic demo clickstream to the topic.
struct ProduceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "produce", abstract: "Publish a demo clickstream (users, Zipf products, funnels, typos, some malformed events).")

    @OptionGroup var options: ConfigOptions
    @Option(help: "How many events to publish.") var events = 100_000
    @Option(help: "Events per second (0 = as fast as possible).") var rate = 10_000
    @Option(help: "Spread event times over the last D days.") var days = 7.0
    @Option(help: "Random seed; the same seed gives the same stream.") var seed: UInt64 = 42
    @Option(help: "Share of malformed events (0...1), which the daemon must dead-letter.") var badRatio = 0.01
    @Option(help: "Number of distinct users.") var users = 5_000
    @Option(help: "Number of distinct products.") var products = 2_000
    @Flag(help: "Leave demo.product_catalog alone (publish events only, e.g. while PostgreSQL is down).") var noCatalog = false

    func validate() throws {
        guard events > 0 else { throw ValidationError("--events must be > 0") }
        guard rate >= 0 else { throw ValidationError("--rate must be >= 0") }
        guard days > 0 else { throw ValidationError("--days must be > 0") }
        guard (0...1).contains(badRatio) else { throw ValidationError("--bad-ratio must be within 0...1") }
    }

    func run() async throws {
        let files = try ConfigFiles.load(configDir: options.configDir)
        let logger = LogSetup.logger("produce", level: files.service.logLevel)
        let producer = try KafkaProducer(
            brokers: files.service.kafka.brokers, settings: KafkaSettings.forProducer(files.service.kafka.settings), logger: logger)
        defer { producer.close() }
        var generator = ClickstreamGenerator(options: .init(
            seed: seed, days: days, badRatio: badRatio, users: users, products: products,
            nowMs: Int64(Date().timeIntervalSince1970 * 1_000)))

        if !noCatalog { try fillProductTable(generator.productDetails, postgresURL: files.service.postgresURL) }

        let topic = files.service.kafka.topic
        let progress = ProgressLine(total: events, label: "events to \(topic)")
        let started = Date()
        var malformed = 0
        var eventsPerUser: [[UInt8]: Int] = [:]
        for sent in 1...events {
            let message = generator.next()
            if message.isMalformed { malformed += 1 } else { eventsPerUser[message.key, default: 0] += 1 }
            try producer.send(topic: topic, key: message.key, value: message.value)
            if rate > 0 {
                // Pace against the schedule, not per message, so rounding never drifts.
                let due = started.addingTimeInterval(Double(sent) / Double(rate))
                let wait = due.timeIntervalSinceNow
                if wait > 0.001 { try await Task.sleep(for: .seconds(wait)) }
            }
            progress.update(sent)
        }
        try producer.flush(timeoutMs: 30_000)
        progress.finish()
        let seconds = Date().timeIntervalSince(started)
        print("published \(events) events (\(malformed) malformed) to \(topic) in \(String(format: "%.1f", seconds)) s")
        // Ids worth looking up afterwards (scripts/quickstart reads these two lines).
        print("most popular products: \(generator.productIDs.prefix(5).joined(separator: ", "))")
        let activeUsers = eventsPerUser.sorted { $0.value > $1.value }.prefix(5).map { String(decoding: $0.key, as: UTF8.self) }
        print("most active users: \(activeUsers.joined(separator: ", "))")
    }
}

extension ProduceCommand {
    /// The `product_catalog` batch view's demo source: the products this stream uses.
    private func fillProductTable(_ products: [DemoProductDetails], postgresURL: String) throws {
        guard !postgresURL.isEmpty else {
            print("postgres.url is not set: \(DemoProductTable.name) not filled")
            return
        }
        do {
            let connection = try PostgresConnection(url: postgresURL)
            defer { connection.close() }
            let changed = try DemoProductTable.upsert(products, on: connection)
            print("upserted \(products.count) products into \(DemoProductTable.name) (\(changed) new or changed)")
        } catch let error as PostgresError {
            throw StartupError(message: "\(DemoProductTable.name): \(error)")
        }
    }
}

/// One self-rewriting progress line on a terminal; silent otherwise.
final class ProgressLine {
    private let total: Int
    private let label: String
    private let started = Date()
    private let isTerminal = isatty(STDERR_FILENO) != 0
    private var lastDraw = Date.distantPast

    init(total: Int, label: String) {
        self.total = total
        self.label = label
    }

    func update(_ done: Int) {
        guard isTerminal, Date().timeIntervalSince(lastDraw) > 0.2 || done == total else { return }
        lastDraw = Date()
        let elapsed = max(Date().timeIntervalSince(started), 0.001)
        let rate = Double(done) / elapsed
        let percent = 100 * done / max(total, 1)
        FileHandle.standardError.write(Data("\r\(done)/\(total) \(label) (\(percent)%, \(Int(rate))/s)   ".utf8))
    }

    func finish() {
        if isTerminal { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
