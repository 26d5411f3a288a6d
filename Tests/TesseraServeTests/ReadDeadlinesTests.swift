import Synchronization
import Testing
import TesseraRedis
@testable import TesseraServe

/// The lookups' read deadlines on their own: one sweeper, started while reads are watched.
@Suite struct ReadDeadlinesTests {
    @Test(.timeLimit(.minutes(1)))
    func aReadPastItsDeadlineFailsItsLateResultIsDroppedAndTheSweeperStartsAgain() async throws {
        let deadlines = ReadDeadlines(timeout: .milliseconds(50), tick: .milliseconds(5))
        // Twice: after the first round no read is watched, the sweeper ends, and must start again.
        for _ in 0..<2 {
            let answered = try await withCheckedThrowingContinuation { continuation in
                let read = PendingRead(continuation)
                deadlines.watch(read)
                read.finish(.success(ByteStrings([[1]])))
            }
            #expect(answered == ByteStrings([[1]]))

            let started = ContinuousClock.now
            let stuck = Mutex<PendingRead?>(nil)
            await #expect(throws: ReadDeadlines.Exceeded.self) {
                _ = try await withCheckedThrowingContinuation { continuation in
                    let read = PendingRead(continuation)
                    stuck.withLock { $0 = read }
                    deadlines.watch(read)
                }
            }
            #expect(ContinuousClock.now - started >= .milliseconds(50))
            // The read answers late: dropped, not a second resume.
            let late = try #require(stuck.withLock { $0 })
            #expect(!late.isPending)
            late.finish(.success(ByteStrings([[2]])))
            try await Task.sleep(for: .milliseconds(30))
        }
    }
}
