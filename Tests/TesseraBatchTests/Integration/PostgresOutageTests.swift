import Foundation
import Testing
import TesseraCore
import TesseraPostgres
import TesseraStream
@testable import TesseraBatch

/// PostgreSQL unreachable for the event log while the stream goes on: the online path
/// applies every event meanwhile, the log writer keeps its batch and retries, and once
/// the database is back the log catches up with no gap and no duplicate.
///
/// The outage is real to the writer but confined to the test's own database (the server
/// is shared with the other tests): connections to it are refused and the open ones
/// are terminated.
@Suite struct PostgresOutageTests {
    static let now: Int64 = 1_763_720_025_000

    func setConnections(allowed: Bool, database: FreshDatabase, admin: PostgresConnection) throws {
        try admin.execute("alter database \(database.name) allow_connections \(allowed)")
        if !allowed {
            _ = try admin.execute(
                "select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()", [database.name])
        }
    }

    @Test func theLogCatchesUpAfterAnOutageWhileOnlineIngestionGoesOn() throws {
        let harness = try StreamHarness(nowMs: Self.now)
        let admin = try PostgresConnection(url: try BatchTestServices.postgresURL())
        defer { admin.close() }
        let store = try harness.setup.store(prefix: BatchTestServices.uniquePrefix())
        let online = IngestionStatus(), logged = IngestionStatus()
        let pipeline = try harness.setup.onlinePipeline(store: store, group: "tessera-online", status: online)
        let writer = try harness.setup.eventLogWriter(status: logged)
        let tag = "pgo\(UUID().uuidString.prefix(6).lowercased())"
        let events = StreamHarness.events(count: 900, nowMs: Self.now, seed: 11, tag: tag)
        func handled() -> Int { online.appliedEvents + online.ignoredEvents }

        try harness.publish(Array(events[..<300]))
        try harness.run(until: { handled() >= 300 && logged.loggedEvents >= 300 }) {
            _ = try pipeline.processBatch()
            try writer.processBatch()
        }

        // Down: the writer fails and keeps its batch; the online path takes every new event.
        try setConnections(allowed: false, database: harness.database, admin: admin)
        try harness.publish(Array(events[300...]))
        var failures = 0
        try harness.run(until: { handled() >= 900 && failures >= 3 }) {
            _ = try pipeline.processBatch()
            do { try writer.processBatch() } catch { failures += 1 }
        }
        #expect(writer.hasPendingBatch)
        #expect(logged.loggedEvents == 300)

        // Back: the log catches up.
        try setConnections(allowed: true, database: harness.database, admin: admin)
        try harness.run(until: { logged.loggedEvents >= 900 }) { try writer.processBatch() }

        let connection = try harness.database.connect()
        defer { connection.close() }
        let counts = try connection.execute(
            "select count(*), count(distinct event_id), count(distinct (source_partition, source_offset)) from tessera.events where event_id like $1",
            ["\(tag)-%"]).rows[0]
        #expect(counts == ["900", "900", "900"])
        let offsets = try connection.execute(
            "select sum(next_offset) from tessera.consumer_offsets where consumer_group = 'tessera-offline' and topic = 'clickstream'").rows[0][0]
        #expect(offsets == "900")
    }

    /// `serve` may start while PostgreSQL is down, so the offline side checks the schema on
    /// every new connection: a database behind the build takes no writes.
    @Test func aDatabaseBehindTheBuildTakesNoWrites() throws {
        let db = try BatchTestServices.freshDatabase()
        let scratch = try ScratchFolder()
        let folder = scratch.path + "/migrations"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        for file in try FileManager.default.contentsOfDirectory(atPath: BatchTestServices.migrationsDirectory) {
            try FileManager.default.copyItem(atPath: BatchTestServices.migrationsDirectory + "/" + file, toPath: folder + "/" + file)
        }
        try "create table tessera.later (id int);".write(toFile: folder + "/0999_later.sql", atomically: true, encoding: .utf8)
        let event = EventLogFixtures.event("e-1", .view, at: Self.now)
        let row = LoggedEvent(event: event, payload: Array("{}".utf8), partition: 0, offset: 0)

        #expect {
            try OfflineDatabase(url: db.url, migrationsDirectory: folder).write([row], nextOffsets: [0: 1], group: "g", topic: "t")
        } throws: { "\($0)".contains("the database schema is behind: 1 pending migration(s)") && "\($0)".contains("run `tessera migrate`") }
        try OfflineDatabase(url: db.url, migrationsDirectory: BatchTestServices.migrationsDirectory)
            .write([row], nextOffsets: [0: 1], group: "g", topic: "t")
        let connection = try db.connect()
        defer { connection.close() }
        #expect(try connection.execute("select count(*) from tessera.events").rows[0][0] == "1")
    }
}
