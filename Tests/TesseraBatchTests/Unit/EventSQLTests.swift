import Testing
import TesseraCore
@testable import TesseraBatch

@Suite struct EventSQLTests {
    @Test func slotFiltersListTheirEventTypesSortedAndQualified() throws {
        let view = try #require(BatchTestServices.catalog().streamView(named: "product_stats"))
        let sql = EventSQL(alias: "ev")
        let views = try #require(view.slots.first { $0.eventTypes == [.view] && $0.aggregation == .count })
        #expect(sql.accepts(views) == "ev.event_type in ('view')")
        let lifetime = try #require(view.slots.first { $0.tileMs == nil })
        #expect(sql.accepts(lifetime) == "true")
        #expect(sql.aggregate(lifetime, where: "x").hasPrefix("(max((extract(epoch from ev.event_time) * 1000)::bigint)"))
    }

    @Test func aUrlCanNameAnotherDatabase() throws {
        #expect(try FreshDatabase.url("postgresql://u:p@h:5/db?sslmode=disable", database: "x") == "postgresql://u:p@h:5/x?sslmode=disable")
        #expect(try FreshDatabase.url("postgresql://h", database: "x") == "postgresql://h/x")
    }
}
