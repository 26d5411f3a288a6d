import Testing
import TesseraPostgres

@Suite struct CopyInTests {
    @Test func roundTripsAwkwardTextExactly() throws {
        let connection = try TestDatabase.connect()
        let table = TestDatabase.uniqueName("copy")
        try connection.execute("create table \(table) (id integer primary key, body text, extra text)")
        defer { _ = try? connection.execute("drop table \(table)") }

        let values: [String?] = [
            "tab\there", "new\nline", "carriage\rreturn", "crlf\r\n", "back\\slash", "\\N", "\\.", "\\", "",
            nil, "Zürich 東京 🚀", "trailing tab\t", "\n", "a\\tb (not a tab)", "{\"json\": \"x\\ny\"}",
        ]
        let rows = values.enumerated().map { [String($0.offset), $0.element, $0.offset.isMultiple(of: 2) ? nil : "x"] }
        let copied = try connection.copyIn("copy \(table) (id, body, extra) from stdin", rows: rows)
        #expect(copied == values.count)

        let back = try connection.execute("select id, body, extra from \(table) order by id").rows
        #expect(back == rows)
        let nulls = try connection.execute("select count(*) from \(table) where body is null").rows
        #expect(nulls == [["1"]])
    }

    @Test func streamsManyRowsInChunks() throws {
        let connection = try TestDatabase.connect()
        let table = TestDatabase.uniqueName("copy_many")
        try connection.execute("create table \(table) (id integer, body text)")
        defer { _ = try? connection.execute("drop table \(table)") }

        let rowCount = 20_000
        let body = String(repeating: "x\ty\\z ", count: 10)
        let copied = try connection.copyIn("copy \(table) from stdin", rows: (0..<rowCount).lazy.map { [String($0), body] })
        #expect(copied == rowCount)
        let summary = try connection.execute("select count(*), sum(id), count(distinct body), min(body) from \(table)").rows
        #expect(summary == [[String(rowCount), String(rowCount * (rowCount - 1) / 2), "1", body]])
    }

    @Test func typedFieldsRoundTripThroughTheWriter() throws {
        let connection = try TestDatabase.connect()
        let table = TestDatabase.uniqueName("copy_typed")
        try connection.execute("create table \(table) (id integer, n bigint, x double precision, at timestamptz, body text)")
        defer { _ = try? connection.execute("drop table \(table)") }

        let integers: [Int64?] = [Int64.min, Int64.max, -1, 0, 7, 1_000_000_007, nil]
        let doubles: [Double?] = [0.1, -2.5e-300, 1e300, 19.99, -0.0, 3, nil]
        let copied = try connection.copyIn("copy \(table) from stdin", rows: Array(integers.indices)) { index, row in
            row.field(Int64(index))
            row.field(integers[index])
            row.field(doubles[index])
            row.field(verbatim: { $0.append(contentsOf: "2026-12-02T12:00:0\(index).123Z".utf8) })
            let body = Array("tab\there \\ \(index)".utf8)
            body.withUnsafeBytes { row.field(utf8: $0) }
        }
        #expect(copied == integers.count)

        let back = try connection.execute(
            "select n, x, (extract(epoch from at) * 1000)::bigint, body from \(table) order by id").rows
        #expect(back.map { $0[0] } == integers.map { $0.map(String.init) })
        #expect(back.map { $0[1].flatMap(Double.init) } == doubles)
        #expect(back.map { $0[2] } == integers.indices.map { String(1_796_212_800_123 + Int64($0) * 1_000) })
        #expect(back.map { $0[3] } == integers.indices.map { "tab\there \\ \($0)" })
    }

    @Test func badValueFailsTheWholeCopyAndTheConnectionStaysUsable() throws {
        let connection = try TestDatabase.connect()
        let table = TestDatabase.uniqueName("copy_bad")
        try connection.execute("create table \(table) (id integer)")
        defer { _ = try? connection.execute("drop table \(table)") }

        let error = try #require(throws: PostgresError.self) {
            try connection.copyIn("copy \(table) from stdin", rows: [["1"], ["not a number"], ["3"]])
        }
        #expect(error.sqlState == "22P02")
        #expect(!connection.isBroken)
        #expect(try connection.execute("select count(*) from \(table)").rows == [["0"]])
        #expect(try connection.copyIn("copy \(table) from stdin", rows: [["7"]]) == 1)
    }

    @Test func rejectsStatementsThatAreNotCopyFromStdin() throws {
        let connection = try TestDatabase.connect()
        #expect(throws: PostgresError.self) { try connection.copyIn("select 1", rows: [[String?]]()) }
        let missing = try #require(throws: PostgresError.self) {
            try connection.copyIn("copy \(TestDatabase.uniqueName("nope")) from stdin", rows: [["1"]])
        }
        #expect(missing.sqlState == "42P01")
        #expect(try connection.execute("select 1").rows == [["1"]])
    }
}
