import Testing
import TesseraPostgres

@Suite struct TransactionTests {
    @Test func commitsWhenTheBodyReturns() throws {
        let connection = try TestDatabase.connect()
        let table = TestDatabase.uniqueName("tx_commit")
        try connection.execute("create table \(table) (id integer)")
        defer { _ = try? connection.execute("drop table \(table)") }

        let value = try connection.transaction {
            try connection.execute("insert into \(table) values (1), (2)")
            return "done"
        }
        #expect(value == "done")
        #expect(try TestDatabase.connect().execute("select count(*) from \(table)").rows == [["2"]])
    }

    @Test func rollsBackWhenTheBodyThrows() throws {
        let connection = try TestDatabase.connect()
        let table = TestDatabase.uniqueName("tx_rollback")
        try connection.execute("create table \(table) (id integer)")
        defer { _ = try? connection.execute("drop table \(table)") }

        #expect(throws: ExpectedFailure.self) {
            try connection.transaction {
                try connection.copyIn("copy \(table) from stdin", rows: [["1"], ["2"]])
                throw ExpectedFailure()
            }
        }
        #expect(try connection.execute("select count(*) from \(table)").rows == [["0"]])
    }

    @Test func refusesToCommitAfterASwallowedStatementError() throws {
        let connection = try TestDatabase.connect()
        let table = TestDatabase.uniqueName("tx_swallowed")
        try connection.execute("create table \(table) (id integer primary key)")
        defer { _ = try? connection.execute("drop table \(table)") }

        #expect(throws: PostgresError.self) {
            try connection.transaction {
                try connection.execute("insert into \(table) values (1)")
                _ = try? connection.execute("insert into \(table) values (1)")  // duplicate key, error dropped
            }
        }
        #expect(try connection.execute("select count(*) from \(table)").rows == [["0"]])
    }

    @Test func refusesNestingAndBodiesThatEndTheTransaction() throws {
        let connection = try TestDatabase.connect()
        #expect(throws: PostgresError.self) {
            try connection.transaction { try connection.transaction { 1 } }
        }
        #expect(throws: PostgresError.self) {
            try connection.transaction { try connection.execute("commit") }
        }
        #expect(try connection.transaction { try connection.execute("select 3").rows } == [["3"]])
    }
}
