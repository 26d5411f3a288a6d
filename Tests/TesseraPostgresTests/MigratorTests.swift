import Foundation
import Synchronization
import Testing
import TesseraPostgres

/// Migrations written to a temporary folder, applied into a throwaway schema that also
/// holds the tracking table, so these tests never touch schema `tessera`.
@Suite struct MigratorTests {
    /// A scratch folder of migration files and the schema they write into.
    final class Scratch {
        let directory: String
        let schema = TestDatabase.uniqueName("migrations")
        var trackingTable: String { "\(schema).schema_migrations" }

        init() throws {
            directory = FileManager.default.temporaryDirectory.appendingPathComponent(TestDatabase.uniqueName("migrations")).path
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }

        deinit {
            try? FileManager.default.removeItem(atPath: directory)
            if let connection = try? TestDatabase.connect() {
                _ = try? connection.execute("drop schema if exists \(schema) cascade")
            }
        }

        func write(_ fileName: String, _ sql: String) throws {
            try Data(sql.utf8).write(to: URL(fileURLWithPath: "\(directory)/\(fileName)"))
        }

        func migrator() throws -> Migrator {
            try Migrator(directory: directory, trackingTable: trackingTable)
        }
    }

    @Test func readsFilesInVersionOrderWithChecksums() throws {
        let scratch = try Scratch()
        try scratch.write("0010_later.sql", "select 10;")
        try scratch.write("0002_second_step.sql", "select 2;")
        try scratch.write("README.md", "not a migration")
        let migrations = try scratch.migrator().migrations
        #expect(migrations.map(\.version) == [2, 10])
        #expect(migrations.map(\.label) == ["0002_second_step", "0010_later"])
        #expect(migrations[0].sql == "select 2;")
        // sha256 of the file's bytes: `printf 'select 2;' | sha256sum`
        #expect(migrations[0].checksum == "b1bd6d0bfa373a448021e0b2e8311b967e0e7ff45431b7105668662498cc2067")
    }

    @Test(arguments: ["1_short.sql", "0001-dash.sql", "0001_.sql", "0001_Upper.sql", "0000_zero.sql", "abcd_letters.sql", "00001_five.sql"])
    func rejectsBadFileNames(fileName: String) throws {
        let scratch = try Scratch()
        try scratch.write(fileName, "select 1;")
        let error = try #require(throws: MigrationError.self) { try scratch.migrator() }
        #expect(error.message.contains(fileName))
    }

    @Test func rejectsDuplicateVersionsEmptyFoldersAndBadTrackingTables() throws {
        let scratch = try Scratch()
        #expect(throws: MigrationError.self) { try scratch.migrator() }  // no files
        try scratch.write("0001_a.sql", "select 1;")
        try scratch.write("0001_b.sql", "select 1;")
        let duplicate = try #require(throws: MigrationError.self) { try scratch.migrator() }
        #expect(duplicate.message.contains("0001_a.sql") && duplicate.message.contains("0001_b.sql"))
        #expect(throws: MigrationError.self) { try Migrator(directory: "/nonexistent/migrations") }
        #expect(throws: MigrationError.self) { try Migrator(directory: scratch.directory, trackingTable: "no_schema") }
        #expect(throws: MigrationError.self) { try Migrator(directory: scratch.directory, trackingTable: "x.y; drop table z") }
    }

    @Test func appliesPendingMigrationsOnceAndInOrder() throws {
        let scratch = try Scratch()
        let schema = scratch.schema
        try scratch.write("0001_create.sql", "create schema if not exists \(schema); create table \(schema).items (id integer primary key);")
        try scratch.write("0002_fill.sql", "insert into \(schema).items values (1), (2);\nalter table \(schema).items add column note text;")
        let connection = try TestDatabase.connect()
        let migrator = try scratch.migrator()

        #expect(try migrator.applied(on: connection).isEmpty)
        #expect(throws: MigrationError.self) { try migrator.requireUpToDate(on: connection) }
        let applied = try migrator.migrate(on: connection)
        #expect(applied.map(\.version) == [1, 2])
        #expect(try migrator.applied(on: connection) == [1: migrator.migrations[0].checksum, 2: migrator.migrations[1].checksum])
        #expect(try migrator.migrate(on: connection).isEmpty)
        try migrator.requireUpToDate(on: connection)
        #expect(try connection.execute("select count(*) from \(schema).items").rows == [["2"]])
        let recorded = try connection.execute(
            "select version, name, checksum, applied_at is not null from \(scratch.trackingTable) order by version").rows
        #expect(recorded == [
            ["1", "create", migrator.migrations[0].checksum, "t"],
            ["2", "fill", migrator.migrations[1].checksum, "t"],
        ])

        // A new file: behind until migrated.
        try scratch.write("0003_index.sql", "create index on \(schema).items (note);")
        let newer = try scratch.migrator()
        let behind = try #require(throws: MigrationError.self) { try newer.requireUpToDate(on: connection) }
        #expect(behind.message.contains("0003_index") && behind.message.contains("tessera migrate"))
        #expect(try newer.status(on: connection).entries.map(\.state) == [.applied, .applied, .pending])
        #expect(try newer.migrate(on: connection).map(\.version) == [3])
        #expect(try newer.status(on: connection).appliedVersion == 3)

        // The older file set against the newer database: diverged.
        try FileManager.default.removeItem(atPath: "\(scratch.directory)/0003_index.sql")
        let older = try scratch.migrator()
        #expect(try older.status(on: connection).unknownVersions == [3])
        #expect(throws: MigrationError.self) { try older.migrate(on: connection) }
        let diverged = try #require(throws: MigrationError.self) { try older.requireUpToDate(on: connection) }
        #expect(diverged.message.contains("tessera migrate"))
    }

    @Test func detectsAChangedFileAndNamesIt() throws {
        let scratch = try Scratch()
        let schema = scratch.schema
        try scratch.write("0001_create.sql", "create schema if not exists \(schema); create table \(schema).items (id integer);")
        let connection = try TestDatabase.connect()
        try scratch.migrator().migrate(on: connection)

        try scratch.write("0001_create.sql", "create schema if not exists \(schema); create table \(schema).items (id bigint);")
        try scratch.write("0002_more.sql", "create table \(schema).more (id integer);")
        let changed = try scratch.migrator()
        let error = try #require(throws: MigrationError.self) { try changed.migrate(on: connection) }
        #expect(error.message.contains("0001_create.sql"))
        #expect(existingRelation("\(schema).more", on: connection) == nil)  // nothing applied
        guard case .changed = try changed.status(on: connection).entries[0].state else {
            Issue.record("0001 should be reported as changed")
            return
        }
        let startup = try #require(throws: MigrationError.self) { try changed.requireUpToDate(on: connection) }
        #expect(startup.message.contains("0001_create.sql") && startup.message.contains("tessera migrate"))
    }

    @Test func aFailingMigrationLeavesNothingBehind() throws {
        let scratch = try Scratch()
        let schema = scratch.schema
        try scratch.write("0001_create.sql", "create schema if not exists \(schema);")
        try scratch.write("0002_broken.sql", "create table \(schema).half (id integer); insert into \(schema).half values ('x');")
        let connection = try TestDatabase.connect()
        let migrator = try scratch.migrator()
        let error = try #require(throws: MigrationError.self) { try migrator.migrate(on: connection) }
        #expect(error.message.contains("0002_broken.sql") && error.message.contains("22P02"))
        #expect(try migrator.applied(on: connection).keys.sorted() == [1])
        #expect(existingRelation("\(schema).half", on: connection) == nil)
        #expect(!connection.isBroken)
    }

    @Test func aMigrationThatCommitsByItselfIsReportedAndNotRecorded() throws {
        let scratch = try Scratch()
        let schema = scratch.schema
        try scratch.write("0001_commits.sql", "create table \(schema).before (id integer); commit; create table \(schema).after (id integer);")
        let connection = try TestDatabase.connect()
        let migrator = try scratch.migrator()
        let error = try #require(throws: MigrationError.self) { try migrator.migrate(on: connection) }
        #expect(error.message.contains("0001_commits.sql") && error.message.contains("COMMIT"))
        #expect(try migrator.applied(on: connection).isEmpty)
    }

    @Test func concurrentMigratorsApplyEachMigrationOnce() throws {
        let scratch = try Scratch()
        let schema = scratch.schema
        try scratch.write("0001_create.sql", "create schema if not exists \(schema); create table \(schema).log (at timestamptz default clock_timestamp());")
        try scratch.write("0002_slow.sql", "select pg_sleep(0.3); insert into \(schema).log default values;")
        let migrator = try scratch.migrator()
        let url = try TestDatabase.url

        let outcomes = Outcomes()
        let finished = DispatchGroup()
        for _ in 0..<3 {
            finished.enter()
            Thread {
                let outcome = Result { try migrator.migrate(on: PostgresConnection(url: url)).map(\.version) }
                outcomes.list.withLock { $0.append(outcome) }
                finished.leave()
            }.start()
        }
        finished.wait()
        let applied = try outcomes.list.withLock { try $0.map { try $0.get() } }
        #expect(applied.flatMap { $0 }.sorted() == [1, 2])
        #expect(try TestDatabase.connect().execute("select count(*) from \(schema).log").rows == [["1"]])
    }

    /// What each thread's migrator returned.
    final class Outcomes: Sendable {
        let list = Mutex<[Result<[Int], any Error>]>([])
    }
}

/// `schema.name` of the relation if it exists, nil otherwise. (Spelled out because
/// regclass::text drops schemas on the search path, and role tessera's has `tessera`.)
func existingRelation(_ name: String, on connection: PostgresConnection) -> String? {
    let sql = "select n.nspname || '.' || c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace where c.oid = to_regclass($1)"
    return (try? connection.execute(sql, [name]))?.rows.first?.first ?? nil
}
