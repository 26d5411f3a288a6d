import Logging
import TesseraKafka

extension KafkaConsumer {
    /// Commits the offsets of a batch its store already holds (Redis behind its fences,
    /// PostgreSQL with its offsets). A commit the group refuses while its membership changes
    /// is logged, not thrown: whoever owns the partitions next replays from the last commit,
    /// and the store skips what it holds, so the batch still counts as done.
    func commitStoredBatch(_ offsets: [TopicPartition: Int64], path: String, logger: Logger) throws {
        do {
            try commit(offsets)
        } catch let error as KafkaError where error.isGroupChange {
            logger.notice("\(path) offsets not committed: the group is rebalancing; the store skips the replay", metadata: [
                "error": "\(error)", "partitions": "\(offsets.count)",
            ])
        }
    }
}
