import Foundation
import Synchronization
import Testing
import TesseraCore
import TesseraPostgres
import TesseraStream
@testable import TesseraBatch

/// Two consumers can hold the same batch across a rebalance (the old owner retrying a
/// write PostgreSQL refused, the new one reading from the last commit): the log still
/// takes every event once, whatever order their writes land in.
@Suite struct EventLogConcurrencyTests {
    static let now: Int64 = 1_763_720_025_000

    static func rows(partition: Int32, offsets: Range<Int64>) -> [LoggedEvent] {
        offsets.map { offset in
            let event = EventLogFixtures.event("p\(partition)-\(offset)", .view, at: now - offset * 1_000)
            return LoggedEvent(event: event, payload: Array("{}".utf8), partition: partition, offset: offset)
        }
    }

    func count(_ db: FreshDatabase) throws -> [String?] {
        let connection = try db.connect()
        defer { connection.close() }
        return try connection.execute("select count(*), count(distinct event_id) from tessera.events").rows[0]
    }

    @Test func aStaleWriterAppendsOnlyWhatTheLogLacks() throws {
        let db = try BatchTestServices.freshDatabase()
        let (group, topic) = ("tessera-offline", "clickstream")
        let newOwner = OfflineDatabase(url: db.url), oldOwner = OfflineDatabase(url: db.url)
        let first = try newOwner.write(
            Self.rows(partition: 0, offsets: 0..<50) + Self.rows(partition: 1, offsets: 0..<30),
            nextOffsets: [0: 50, 1: 30], group: group, topic: topic)
        #expect(first.written == 80 && first.nextOffsets == [0: 50, 1: 30])
        // The old owner's view predates that write: its batch overlaps what is logged.
        let second = try oldOwner.write(
            Self.rows(partition: 0, offsets: 20..<80) + Self.rows(partition: 1, offsets: 10..<20),
            nextOffsets: [0: 80, 1: 20], group: group, topic: topic)
        #expect(second.written == 30 && second.nextOffsets == [0: 80, 1: 30])  // offsets never move back
        #expect(try count(db) == ["110", "110"])
    }

    @Test func concurrentWritersOfOneBatchAppendItOnce() throws {
        let db = try BatchTestServices.freshDatabase()
        let batch = Self.rows(partition: 0, offsets: 0..<200) + Self.rows(partition: 3, offsets: 0..<100)
        let url = db.url
        let written = Mutex(0)
        let failures = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 4) { _ in
            do {
                let result = try OfflineDatabase(url: url).write(batch, nextOffsets: [0: 200, 3: 100], group: "g", topic: "t")
                written.withLock { $0 += result.written }
            } catch {
                failures.withLock { $0.append("\(error)") }
            }
        }
        #expect(failures.withLock { $0 } == [])
        #expect(written.withLock { $0 } == 300)
        #expect(try count(db) == ["300", "300"])
    }
}
