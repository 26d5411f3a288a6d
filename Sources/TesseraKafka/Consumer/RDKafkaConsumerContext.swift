import CRdKafka
import Logging

/// The consumer's rebalance state. Touched only by the polling thread: librdkafka serves the
/// rebalance callback inside `rd_kafka_consumer_poll` and `rd_kafka_consumer_close`.
final class RDKafkaConsumerContext: RDKafkaClientContext {
    var assignment: Set<TopicPartition> = []
    /// Whether an assignment (even an empty one) has reached this member: from then on
    /// librdkafka holds its assignor's state (see `KafkaConsumer.close`).
    var hasBeenAssigned = false
    var onAssign: ((Set<TopicPartition>) -> Void)?
    var onRevoke: ((Set<TopicPartition>) -> Void)?

    /// Whether the group chose a cooperative assignor for this member (librdkafka reports
    /// no protocol before the member joined).
    static func isCooperative(_ handle: OpaquePointer) -> Bool {
        rd_kafka_rebalance_protocol(handle).map { String(cString: $0) } == "COOPERATIVE"
    }

    func rebalance(
        handle: OpaquePointer,
        event: rd_kafka_resp_err_t,
        partitions: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>
    ) {
        let changed = RDKafkaTopicPartitionList.partitions(of: partitions)
        // Cooperative assignors hand out deltas that must be applied incrementally; eager ones
        // revoke everything and assign the full new set.
        let cooperative = Self.isCooperative(handle)
        switch event {
        case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
            hasBeenAssigned = true
            if cooperative {
                report(rd_kafka_incremental_assign(handle, partitions), while: "assigning \(changed.inOrder)")
                assignment.formUnion(changed)
            } else {
                report(rd_kafka_assign(handle, partitions), while: "assigning \(changed.inOrder)")
                assignment = changed
            }
            logger.info("partitions assigned", metadata: ["partitions": "\(changed.inOrder)", "protocol": "\(cooperative ? "cooperative" : "eager")"])
            if !changed.isEmpty { onAssign?(changed) }
        case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
            if rd_kafka_assignment_lost(handle) != 0 {
                logger.warning("partitions lost: another member may own them already, commits for them will fail", metadata: ["partitions": "\(changed.inOrder)"])
            }
            logger.info("partitions revoked", metadata: ["partitions": "\(changed.inOrder)"])
            if !changed.isEmpty { onRevoke?(changed) }
            if cooperative {
                report(rd_kafka_incremental_unassign(handle, partitions), while: "unassigning \(changed.inOrder)")
                assignment.subtract(changed)
            } else {
                report(rd_kafka_assign(handle, nil), while: "unassigning \(changed.inOrder)")
                assignment = []
            }
        default:
            logger.error("\(KafkaError(event, while: "rebalancing")); dropping the assignment")
            if !assignment.isEmpty { onRevoke?(assignment) }
            report(rd_kafka_assign(handle, nil), while: "dropping the assignment")
            assignment = []
        }
    }

    /// Assignment calls fail only on a fatal or closing client; the next poll reports that.
    private func report(_ error: OpaquePointer?, while action: String) {
        if let error { logger.error("\(KafkaError(consuming: error, while: action))") }
    }

    private func report(_ code: rd_kafka_resp_err_t, while action: String) {
        if code != RD_KAFKA_RESP_ERR_NO_ERROR { logger.error("\(KafkaError(code, while: action))") }
    }
}

let rdKafkaRebalanceCallback: @convention(c) (
    OpaquePointer?, rd_kafka_resp_err_t, UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?, UnsafeMutableRawPointer?
) -> Void = { handle, event, partitions, opaque in
    guard let handle, let partitions, let opaque else { return }
    RDKafkaConsumerContext.from(opaque).rebalance(handle: handle, event: event, partitions: partitions)
}

extension Set<TopicPartition> {
    /// Stable order for logs.
    var inOrder: [TopicPartition] {
        self.sorted { ($0.topic, $0.partition) < ($1.topic, $1.partition) }
    }
}
