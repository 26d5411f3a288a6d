import Dispatch
import Synchronization
import Testing
import TesseraKafka

@Suite struct ProducerFaultTests {
    @Test func flushFailsWhileTheBrokerIsDownAndDeliversAfterItComesBack() async throws {
        struct Observed: Sendable {
            var flushWhileDown: KafkaError?
            var flushWhileDownTook: Duration
            var deliveryFailures: Int
            var values: [String]
        }
        let cluster = try TestCluster(partitions: 1)
        let observed = try await onOwnThread {
            let producer = try cluster.producer(settings: ["reconnect.backoff.max.ms": "200"])
            try producer.send(topic: cluster.topic, key: nil, value: bytes("before"))
            try producer.flush(timeoutMs: 10_000)

            try cluster.broker.setBrokerDown()
            for index in 0..<5 {
                try producer.send(topic: cluster.topic, key: nil, value: bytes("during-\(index)"))
            }
            let started = ContinuousClock.now
            let flushWhileDown = try kafkaError { try producer.flush(timeoutMs: 1_000) }
            let flushWhileDownTook = started.duration(to: .now)

            try cluster.broker.setBrokerUp()
            try producer.flush(timeoutMs: 20_000)

            let consumer = try cluster.consumer(group: "check")
            defer { consumer.close() }
            let values = try consumer.poll(count: 6, within: .seconds(20)).map { String(decoding: $0.value, as: UTF8.self) }
            return Observed(flushWhileDown: flushWhileDown, flushWhileDownTook: flushWhileDownTook,
                            deliveryFailures: producer.deliveryFailures, values: values)
        }
        #expect(observed.flushWhileDown?.isTimeout == true)
        #expect(observed.flushWhileDownTook < .seconds(5))
        #expect(observed.deliveryFailures == 0)
        #expect(observed.values == ["before"] + (0..<5).map { "during-\($0)" })
    }

    @Test func retriableErrorsAreRetriedAndPermanentOnesReportedAtFlush() async throws {
        struct Observed: Sendable {
            var failuresAfterRetries: Int
            var rejection: KafkaError?
            var failuresAfterRejection: Int
            var failuresAfterRecovery: Int
            var sendAfterClose: KafkaError?
        }
        let produceAPI: Int16 = 0
        let notEnoughReplicas: Int32 = 19 // retriable
        let messageTooLarge: Int32 = 10 // permanent
        let cluster = try TestCluster(partitions: 1)
        let observed = try await onOwnThread {
            let producer = try cluster.producer()
            cluster.broker.pushRequestErrors(apiKey: produceAPI, errors: [notEnoughReplicas, notEnoughReplicas])
            try producer.send(topic: cluster.topic, key: nil, value: bytes("retried"))
            try producer.flush(timeoutMs: 10_000)
            let failuresAfterRetries = producer.deliveryFailures

            cluster.broker.pushRequestErrors(apiKey: produceAPI, errors: [messageTooLarge])
            try producer.send(topic: cluster.topic, key: nil, value: bytes("rejected"))
            let rejection = try kafkaError { try producer.flush(timeoutMs: 10_000) }
            let failuresAfterRejection = producer.deliveryFailures

            // The failure was reported once; the next flush starts clean.
            try producer.send(topic: cluster.topic, key: nil, value: bytes("after"))
            try producer.flush(timeoutMs: 10_000)
            let failuresAfterRecovery = producer.deliveryFailures

            producer.close()
            producer.close()
            let sendAfterClose = try kafkaError { try producer.send(topic: cluster.topic, key: nil, value: []) }
            return Observed(failuresAfterRetries: failuresAfterRetries, rejection: rejection,
                            failuresAfterRejection: failuresAfterRejection, failuresAfterRecovery: failuresAfterRecovery,
                            sendAfterClose: sendAfterClose)
        }
        #expect(observed.failuresAfterRetries == 0)
        #expect(observed.rejection?.code == messageTooLarge)
        #expect(observed.rejection?.message.contains("1 deliveries failed") == true)
        #expect(observed.failuresAfterRejection == 1)
        #expect(observed.failuresAfterRecovery == 1)
        #expect(observed.sendAfterClose != nil)
    }

    @Test func fullLocalQueueWaitsForRoomThenGivesUpWithinTheBound() async throws {
        struct Observed: Sendable {
            var sendIntoFullQueue: KafkaError?
            var sendIntoFullQueueTook: Duration
            var deliveryFailures: Int
        }
        let cluster = try TestCluster(partitions: 1)
        let observed = try await onOwnThread {
            // Under the full suite's load the queued records twice stayed undelivered through a
            // 20 s final flush after the broker came back (2 of 6 clean runs; never alone), with
            // nothing logged meanwhile. The cause is not known: metadata refreshed every second
            // (5 minutes by default) and a 60 s flush cover the likeliest waits. This test is
            // about the enqueue bound, not how fast the producer recovers.
            let producer = try cluster.producer(
                settings: ["queue.buffering.max.messages": "5", "reconnect.backoff.max.ms": "200", "topic.metadata.refresh.interval.ms": "1000"],
                enqueueTimeout: .seconds(2))
            // Far more records than the queue holds: send waits for deliveries to make room.
            for index in 0..<200 {
                try producer.send(topic: cluster.topic, key: nil, value: bytes("\(index)"))
            }
            try producer.flush(timeoutMs: 10_000)

            try cluster.broker.setBrokerDown()
            for index in 0..<5 {
                try producer.send(topic: cluster.topic, key: nil, value: bytes("queued-\(index)"))
            }
            let started = ContinuousClock.now
            let sendIntoFullQueue = try kafkaError { try producer.send(topic: cluster.topic, key: nil, value: bytes("no room")) }
            let sendIntoFullQueueTook = started.duration(to: .now)

            try cluster.broker.setBrokerUp()
            try producer.flush(timeoutMs: 60_000)
            return Observed(sendIntoFullQueue: sendIntoFullQueue, sendIntoFullQueueTook: sendIntoFullQueueTook,
                            deliveryFailures: producer.deliveryFailures)
        }
        #expect(observed.sendIntoFullQueue?.name == "_QUEUE_FULL")
        // It waited for room (not failing at once), and gave up rather than hanging; the
        // upper bound is loose because a loaded 2-core machine stretches everything.
        #expect(observed.sendIntoFullQueueTook >= .milliseconds(1_900))
        #expect(observed.sendIntoFullQueueTook < .seconds(15))
        #expect(observed.deliveryFailures == 0)
    }

    @Test func concurrentSendersShareOneProducer() async throws {
        struct Observed: Sendable {
            var sendFailures: Int
            var received: [KafkaMessage]
        }
        let cluster = try TestCluster(partitions: 3)
        let observed = try await onOwnThread {
            let producer = try cluster.producer()
            let sendFailures = Mutex(0)
            DispatchQueue.concurrentPerform(iterations: 4) { sender in
                for index in 0..<250 {
                    do {
                        try producer.send(topic: cluster.topic, key: bytes("sender-\(sender)"), value: bytes("\(sender)/\(index)"))
                    } catch {
                        sendFailures.withLock { $0 += 1 }
                    }
                }
            }
            try producer.flush(timeoutMs: 10_000)

            let consumer = try cluster.consumer(group: "check")
            defer { consumer.close() }
            return Observed(sendFailures: sendFailures.withLock { $0 },
                            received: try consumer.poll(count: 1000, within: .seconds(20)))
        }
        #expect(observed.sendFailures == 0)
        #expect(observed.received.count == 1000)
        #expect(Set(observed.received.map { String(decoding: $0.value, as: UTF8.self) }).count == 1000)
    }

    @Test func roundTripTimeDelaysDelivery() async throws {
        let cluster = try TestCluster(partitions: 1)
        let slowFlushTook = try await onOwnThread {
            let producer = try cluster.producer()
            try producer.send(topic: cluster.topic, key: nil, value: bytes("warm-up"))
            try producer.flush(timeoutMs: 10_000)

            try cluster.broker.setRoundTripTime(ms: 500)
            let started = ContinuousClock.now
            try producer.send(topic: cluster.topic, key: nil, value: bytes("slow"))
            try producer.flush(timeoutMs: 10_000)
            return started.duration(to: .now)
        }
        #expect(slowFlushTook >= .milliseconds(450))
    }

    @Test func shutDownBrokerRefusesFurtherCommands() throws {
        let broker = try DevKafkaBroker(logger: testLogger)
        #expect(broker.bootstrapServers.hasPrefix("127.0.0.1:"))
        broker.shutdown()
        broker.shutdown()
        #expect(throws: KafkaError.self) { try broker.createTopic("late", partitions: 1) }
    }
}
