import Testing
import TesseraPostgres

/// Synchronous on purpose: libpq blocks, and blocking inside async tests would starve
/// Swift Testing's small cooperative pool.
@Suite struct PostgresConnectionTests {
    @Test func arrayLiteralsRoundTripAwkwardElements() throws {
        let connection = try TestDatabase.connect()
        let values = ["a", "b\"c", "back\\slash", "", "x,y", "{}", "NULL", " padded ", "\"\u{301}quote with a combining mark"]
        let back = try connection.execute("select v from unnest($1::text[]) with ordinality as t(v, n) order by n", [postgresArrayLiteral(values)]).rows
        #expect(back.map { $0[0] } == values)
        #expect(try connection.execute("select cardinality($1::int[])", [postgresArrayLiteral([String]())]).rows == [["0"]])
    }

    @Test func executesWithParametersIncludingNullAndUnicode() throws {
        let connection = try TestDatabase.connect()
        let table = TestDatabase.uniqueName("params")
        try connection.execute("create table \(table) (id integer primary key, name text, note text)")
        defer { _ = try? connection.execute("drop table \(table)") }

        let unicode = "Zürich 東京 🚀 ‘quotes’ 'single' \"double\" $1 \\ back"
        let inserted = try connection.execute(
            "insert into \(table) (id, name, note) values ($1, $2, $3), ($4, $5, $6)",
            ["1", unicode, nil, "2", "", "plain"])
        #expect(inserted.affectedRows == 2)

        let result = try connection.execute("select id, name, note from \(table) where id >= $1 order by id", ["1"])
        #expect(result.columns == ["id", "name", "note"])
        #expect(result.rows == [["1", unicode, nil], ["2", "", "plain"]])
        #expect(result.affectedRows == 2)

        let typed = try connection.execute("select $1::int + 1 as next, $2::text is null as missing", ["41", nil])
        #expect(typed.rows == [["42", "t"]])
    }

    @Test func statementErrorsCarrySQLStateAndLeaveTheConnectionUsable() throws {
        let connection = try TestDatabase.connect()
        let missing = TestDatabase.uniqueName("missing")
        let error = try #require(throws: PostgresError.self) { try connection.execute("select * from \(missing)") }
        #expect(error.sqlState == "42P01")
        #expect(error.message.contains(missing))
        #expect(!connection.isBroken)
        #expect(try connection.execute("select 1").rows == [["1"]])

        let syntax = try #require(throws: PostgresError.self) { try connection.executeScript("select 1; selec 2") }
        #expect(syntax.sqlState == "42601")
        #expect(try connection.execute("select 'still here'").rows == [["still here"]])
    }

    @Test func refusesNULBytesInsteadOfTruncating() throws {
        let connection = try TestDatabase.connect()
        #expect(throws: PostgresError.self) { try connection.execute("select $1::text", ["a\u{0}b"]) }
        #expect(try connection.execute("select 2").rows == [["2"]])
    }

    @Test func refusedConnectionThrowsWithoutThePassword() throws {
        let password = "s3cret-Pa55word"
        let error = try #require(throws: PostgresError.self) {
            try PostgresConnection(url: "postgresql://tessera:\(password)@127.0.0.1:1/tessera", connectTimeoutSeconds: 2)
        }
        #expect(error.sqlState == nil)
        #expect(error.description.contains("127.0.0.1"))
        #expect(!error.description.contains(password))

        // libpq's parser quotes the part it rejects; here that is the password.
        let badEncoding = try #require(throws: PostgresError.self) {
            try PostgresConnection(url: "postgresql://tessera:\(password)%zz@127.0.0.1:1/tessera")
        }
        #expect(badEncoding.message.contains("invalid PostgreSQL URL"))
        #expect(!badEncoding.description.contains(password))

        #expect(throws: PostgresError.self) { try PostgresConnection(url: "mysql://tessera@127.0.0.1/tessera") }
        #expect(throws: PostgresError.self) { try PostgresConnection(url: "postgresql://127.0.0.1:99999/tessera") }
    }

    @Test func describesTheURLWithoutThePassword() throws {
        let url = try PostgresURL(parsing: "postgresql://app:pw%40x@db.internal:6432/features?sslmode=require")
        #expect(url.user == "app" && url.host == "db.internal" && url.port == "6432" && url.database == "features")
        #expect(url.description == "postgresql://app@db.internal:6432/features")
        let connection = try TestDatabase.connect()
        #expect(!connection.url.description.contains(":tessera@"))
    }

    @Test func brokenConnectionIsReported() throws {
        let connection = try TestDatabase.connect()
        #expect(!connection.isBroken)
        #expect(throws: PostgresError.self) { try connection.execute("select pg_terminate_backend(pg_backend_pid())") }
        #expect(connection.isBroken)
        #expect(throws: PostgresError.self) { try connection.execute("select 1") }
        connection.close()
        #expect(throws: PostgresError.self) { try connection.execute("select 1") }
    }
}
