import ArgumentParser
import Dispatch
import Foundation
import Logging
import TesseraKafka

/// `tessera dev-kafka`: a Kafka-protocol broker on loopback (librdkafka's mock cluster) for
/// development and tests, running until SIGTERM or SIGINT.
struct DevKafkaCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dev-kafka",
        abstract: "Run an in-memory Kafka-protocol broker on loopback until SIGTERM or SIGINT."
    )

    @Option(help: "Partitions for each topic.")
    var partitions: Int32 = 3

    @Option(help: "Comma-separated topics to create.")
    var topics: String = "clickstream,clickstream.dlq"

    @Option(help: "File that receives the bootstrap address (written atomically).")
    var bootstrapFile: String

    @Option(help: "Number of brokers in the cluster.")
    var brokers: Int = 1

    func validate() throws {
        guard partitions >= 1, brokers >= 1 else {
            throw ValidationError("--partitions and --brokers must be at least 1")
        }
    }

    func run() async throws {
        let logger = Logger(label: "tessera.dev-kafka")
        // Listen before starting the broker, so a signal during setup is not lost.
        let (signals, signalSources) = Self.terminationSignals()
        let broker = try DevKafkaBroker(brokers: brokers, logger: logger)
        for topic in topics.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !topic.isEmpty {
            try broker.createTopic(topic, partitions: partitions)
        }
        let address = Data((broker.bootstrapServers + "\n").utf8)
        // `.atomic` writes a temporary file and renames it, so readers never see a partial address.
        try address.write(to: URL(fileURLWithPath: bootstrapFile), options: .atomic)
        // Unbuffered, so a script reading our stdout sees the address while we run.
        FileHandle.standardOutput.write(address)
        logger.info("dev Kafka broker running", metadata: ["bootstrap": "\(broker.bootstrapServers)", "topics": "\(topics)"])

        var pending = signals.makeAsyncIterator()
        let signalNumber = await pending.next()
        signalSources.forEach { $0.cancel() }
        logger.info("stopping the dev Kafka broker", metadata: ["signal": "\(signalNumber ?? 0)"])
        broker.shutdown()
    }

    /// SIGTERM and SIGINT as a stream. Their default handlers are replaced, so they reach the stream
    /// instead of killing the process; the sources deliver for as long as the caller keeps them.
    private static func terminationSignals() -> (AsyncStream<Int32>, [any DispatchSourceSignal]) {
        let (stream, continuation) = AsyncStream.makeStream(of: Int32.self)
        let sources = [SIGTERM, SIGINT].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { continuation.yield(number) }
            source.resume()
            return source
        }
        return (stream, sources)
    }
}
