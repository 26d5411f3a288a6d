import Foundation
import NIOCore
import NIOPosix
import Synchronization
import Testing
import TesseraRedis

/// The lookups' non-blocking Redis connections against the Redis `scripts/test` starts
/// (TESSERA_REDIS_URL): values, many reads in flight at once, lost connections, timeouts
/// and logins.
@Suite struct RedisPipelineTests {
    static func mget(_ pipeline: RedisPipeline, _ keys: [String]) async throws -> ByteStrings {
        try await withCheckedThrowingContinuation { continuation in
            pipeline.mget(ByteStrings(keys.map { Array($0.utf8) })) { continuation.resume(with: $0) }
        }
    }

    @Test func mgetReadsValuesMissingKeysAndBinaryBytes() async throws {
        let url = try RedisConnectionTests.url
        let key = "test:pipeline-mget:\(UUID().uuidString)"
        let binary: [UInt8] = [0x00, 0xFF, 0x0D, 0x0A, 0xC3]
        // Larger than one read: the reply arrives in pieces.
        let large: [UInt8] = (0..<3_000_000).map { (index: Int) -> UInt8 in UInt8(truncatingIfNeeded: index &* 31) }
        let connection = try RedisConnection(url: url)
        func set(_ name: String, _ value: [UInt8]) -> [[UInt8]] {
            [Array("SET".utf8), Array("\(key):\(name)".utf8), value, Array("PX".utf8), Array("600000".utf8)]
        }
        let list: [[UInt8]] = [Array("RPUSH".utf8), Array("\(key):list".utf8), Array("x".utf8)]
        _ = try connection.pipeline([set("binary", binary), set("empty", []), set("large", large), list])
        defer { _ = try? connection.send(["DEL", "\(key):binary", "\(key):empty", "\(key):large", "\(key):list"]) }

        let pipeline = RedisPipeline(url: url, connections: 1)
        let values = try await Self.mget(pipeline, ["binary", "missing", "empty", "list", "large", "binary"].map { "\(key):\($0)" })
        #expect(values.count == 6)
        #expect(values[0].map(Array.init) == binary && values[5].map(Array.init) == binary)
        #expect(values[1] == nil && values[3] == nil)
        #expect(values[2].map(Array.init) == [])
        #expect(values[4].map(Array.init) == large)
        // An error reply (MGET of no key) fails that read only.
        await #expect(throws: RedisError.self) { try await Self.mget(pipeline, []) }
        #expect(try await pipeline.send(["PING"]).string == "PONG")
        await pipeline.close()
    }

    @Test func manyReadsInFlightEachGetTheirOwnAnswer() async throws {
        let url = try RedisConnectionTests.url
        let key = "test:pipeline-many:\(UUID().uuidString)"
        let connection = try RedisConnection(url: url)
        let count = 400
        _ = try connection.pipeline((0..<count).map { ["SET", "\(key):\($0)", String(repeating: "v\($0),", count: $0 % 50 + 1), "PX", "600000"] })
        defer { _ = try? connection.send(["DEL"] + (0..<count).map { "\(key):\($0)" }) }

        let pipeline = RedisPipeline(url: url, connections: 2)
        let mismatches = try await withThrowingTaskGroup(of: Int.self) { group in
            for index in 0..<count {
                group.addTask {
                    // Three keys a read, one missing, so a reply belonging to another read would show.
                    let keys = ["\(key):\(index)", "\(key):none", "\(key):\((index + 1) % count)"]
                    let values = try await Self.mget(pipeline, keys)
                    let expected: [[UInt8]?] = [
                        Array(String(repeating: "v\(index),", count: index % 50 + 1).utf8), nil,
                        Array(String(repeating: "v\((index + 1) % count),", count: (index + 1) % 50 + 1).utf8),
                    ]
                    return (0..<3).map { values[$0].map(Array.init) } == expected ? 0 : 1
                }
            }
            return try await group.reduce(0, +)
        }
        #expect(mismatches == 0)
        await pipeline.close()
    }

    @Test func aReadSentFromAnEventLoopIsAnsweredOnThatLoop() async throws {
        let url = try RedisConnectionTests.url
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 3)
        let pipeline = RedisPipeline(url: url, group: group, connections: 3)
        let loops = Array(group.makeIterator())
        // Twenty reads from each loop: round-robin over the three connections would answer
        // about two in three on another loop.
        let answeredOnCaller = try await withThrowingTaskGroup(of: Bool.self) { tasks in
            for loop in loops {
                for _ in 0..<20 {
                    tasks.addTask {
                        try await withCheckedThrowingContinuation { continuation in
                            loop.execute {
                                pipeline.mget(ByteStrings([Array("test:pipeline-loop:none".utf8)])) { result in
                                    continuation.resume(with: result.map { _ in loop.inEventLoop })
                                }
                            }
                        }
                    }
                }
            }
            return try await tasks.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(answeredOnCaller.count == 60)
        #expect(answeredOnCaller.allSatisfy { $0 })
        await pipeline.close()
        try await group.shutdownGracefully()
    }

    @Test func aKilledConnectionIsOpenedAgain() async throws {
        let url = try RedisConnectionTests.url
        let pipeline = RedisPipeline(url: url, connections: 1)
        let before = try await pipeline.send(["CLIENT", "ID"])
        guard case .integer(let id) = before else { Issue.record("CLIENT ID answered \(before)"); return }
        #expect(try RedisConnection(url: url).send(["CLIENT", "KILL", "ID", String(id)]) == .integer(1))

        // The first command may still meet the dead connection; the next ones get a new one.
        var after: RedisReply?
        for _ in 0..<3 where after == nil {
            after = try? await pipeline.send(["CLIENT", "ID"])
        }
        guard case .integer(let newID) = after else { Issue.record("no answer after the kill: \(String(describing: after))"); return }
        #expect(newID != id)
        await pipeline.close()
    }

    @Test func aReplyLateByTheTimeoutFailsEveryCommandOnItsConnection() async throws {
        let url = try RedisConnectionTests.url
        let admin = try RedisConnection(url: url)
        let pipeline = RedisPipeline(url: url, connections: 1, timeoutMs: 1_000)
        // The tests share two threads, so this one may wait long between two steps: a try in
        // which the BLPOP timed out before an MGET could be sent behind it is made again.
        for _ in 0..<5 {
            guard case .integer(let id) = try await pipeline.send(["CLIENT", "ID"]) else { Issue.record("no CLIENT ID"); return }
            // BLPOP holds this connection only, for 10 s.
            let sentAt = ContinuousClock.now
            let blocked = Task { try await pipeline.send(["BLPOP", "test:pipeline-timeout:\(UUID().uuidString)", "10"]) }
            var client = ""
            repeat {
                try await Task.sleep(for: .milliseconds(5))
                client = try admin.send(["CLIENT", "LIST", "ID", String(id)]).string ?? ""
            } while !client.isEmpty && !client.contains("cmd=blpop")
            guard !client.isEmpty else {
                _ = try? await blocked.value
                continue
            }
            // Sent at once, behind the BLPOP that Redis is running.
            let queued = Mutex<Result<ByteStrings, any Error>?>(nil)
            pipeline.mget(ByteStrings([Array("test:pipeline-timeout:none".utf8)])) { result in queued.withLock { $0 = result } }
            // Queued too late (this thread waited out most of the 1 s timeout): the MGET may
            // have gone to a new connection. Try again.
            if ContinuousClock.now - sentAt > .milliseconds(700) {
                _ = try? await blocked.value
                while queued.withLock({ $0 == nil }) { try await Task.sleep(for: .milliseconds(5)) }
                continue
            }

            let blockedError = await #expect(throws: RedisError.self) { try await blocked.value }
            #expect(blockedError?.message.contains("no reply") == true, "\(String(describing: blockedError))")
            while queued.withLock({ $0 == nil }) { try await Task.sleep(for: .milliseconds(5)) }
            #expect(throws: RedisError.self) { try queued.withLock { $0 }!.get() }
            // A new connection answers.
            #expect(try await pipeline.send(["PING"]).string == "PONG")
            await pipeline.close()
            return
        }
        Issue.record("five times the BLPOP timed out before an MGET could be sent behind it")
        await pipeline.close()
    }

    @Test func logsInAndSelectsTheDatabaseOfTheURL() async throws {
        let admin = try RedisConnection(url: try RedisConnectionTests.url)
        let user = "pipeline-\(UUID().uuidString.prefix(8).lowercased())"
        let password = "s3cret-\(UUID().uuidString.prefix(8))"
        #expect(try admin.send(["ACL", "SETUSER", user, "on", ">\(password)", "~*", "+@all"]).string == "OK")
        defer { _ = try? admin.send(["ACL", "DELUSER", user]) }
        var url = try RedisConnectionTests.url
        url.username = user
        url.password = password
        url.database = 5
        let key = "test:pipeline-db:\(UUID().uuidString)"
        var inDatabase5 = try RedisConnectionTests.url
        inDatabase5.database = 5
        _ = try RedisConnection(url: inDatabase5).send(["SET", key, "five", "PX", "600000"])

        let pipeline = RedisPipeline(url: url, connections: 1)
        #expect(try await Self.mget(pipeline, [key])[0].map(Array.init) == Array("five".utf8))
        #expect(try await pipeline.send(["ACL", "WHOAMI"]).string == user)
        await pipeline.close()

        url.password = "wr0ng-pa55"
        let refused = RedisPipeline(url: url, connections: 1)
        let error = await #expect(throws: RedisError.self) { try await Self.mget(refused, [key]) }
        #expect(error?.message.hasPrefix("AUTH failed") == true, "\(String(describing: error))")
        #expect(error.map { !"\($0)".contains("wr0ng-pa55") } == true)
        await refused.close()
    }
}
