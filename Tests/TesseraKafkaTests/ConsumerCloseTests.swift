import Testing
@testable import TesseraKafka

/// librdkafka 2.0.2 aborts the process when a cooperative-sticky member is destroyed after the
/// group chose its assignor and before its first assignment (librdkafka #4312). A daemon that
/// stops in its first seconds closes its consumers there; `close` must wait the assignment out.
@Suite struct ConsumerCloseTests {
    @Test func closingBetweenJoinAndFirstAssignmentDoesNotAbort() async throws {
        let cluster = try TestCluster(partitions: 2)
        let heldBetween = try await onOwnThread {
            // SyncGroup (API key 14) fails with REBALANCE_IN_PROGRESS (27): the member has joined
            // and chosen its assignor, then rejoins instead of receiving an assignment.
            cluster.broker.pushRequestErrors(apiKey: 14, errors: [27, 27])
            let consumer = try cluster.consumer(group: "close-early")
            let deadline = ContinuousClock.now + .seconds(20)
            while !consumer.isBetweenJoinAndFirstAssignment && ContinuousClock.now < deadline {
                _ = try consumer.poll(maxMessages: 1, timeoutMs: 20)
            }
            let heldBetween = consumer.isBetweenJoinAndFirstAssignment
            // Without the wait this aborts the whole test process (the failure this test shows).
            consumer.close()
            return heldBetween
        }
        #expect(heldBetween, "the member never stood between its join and its first assignment")
    }
}
