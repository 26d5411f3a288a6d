import Foundation
import Testing
import TesseraCore
import TesseraPostgres
@testable import TesseraBatch

/// Training sets against the reference model: events placed on tile and window edges,
/// spine rows just before, at and after them.
@Suite struct TrainingSetTests {
    static let hour: Int64 = 3_600_000
    /// A multiple of every tile length in features.yaml (150 s, 1 h, 7 h), so offsets from it name edges.
    static let base: Int64 = 69_988 * 25_200_000
    static let windows: [(windowMs: Int64, tileMs: Int64)] = [(hour, 150_000), (24 * hour, hour), (168 * hour, 7 * hour)]

    /// Events just outside, on and inside every window's edges as seen from `base`, on tile
    /// edges, and a spread over the 8 days before.
    static func edgeEvents() -> [ClickEvent] {
        var offsets: [Int64] = [-1, 0, 1]
        for (windowMs, tileMs) in windows {
            offsets += [-windowMs - tileMs - 1, -windowMs - tileMs, -windowMs - 1, -windowMs, -windowMs + 1, tileMs - 1, tileMs, tileMs + 1]
        }
        offsets += stride(from: -192 * hour, to: 0, by: 37 * 60_000 + 11)
        let types: [EventType] = [.view, .click, .view, .purchase, .addToCart, .view, .click]
        return offsets.enumerated().map { index, offset in
            let type = types[index % types.count]
            return EventLogFixtures.event(
                "e\(index)", type, at: base + offset, user: "u-\(index % 3)", product: "p-\(index % 2)",
                query: index % 4 == 0 ? nil : (index % 5 == 0 ? "other" : "running shoes"),
                price: type == .purchase ? Double(index % 97) + 0.1 : nil, quantity: Int64(index % 3 + 1))
        }
    }

    static func spineTimes() -> [Int64] {
        var times: [Int64] = [-1, 0, 1, 2 * hour]
        for (windowMs, tileMs) in windows { times += [tileMs - 1, tileMs, tileMs + 1, windowMs - 1, windowMs, windowMs + tileMs] }
        return times.map { base + $0 }
    }

    /// The spine: a label first, mixed timestamp styles, a query to normalise, a note with CSV specials.
    static func spine(_ times: [Int64]) -> String {
        var lines = ["label,timestamp,product_id,user_id,query,note"]
        for (index, time) in times.enumerated() {
            let stamp = index % 2 == 0 ? String(time) : RFC3339.string(epochMilliseconds: time, utcOffsetMinutes: 120)
            lines.append("\(index % 2),\(stamp),p-\(index % 2),u-\(index % 3),\"  Running   SHOES \",\"row \(index), \"\"quoted\"\"\"")
            lines.append("\(index % 2),\(stamp),p-\(index % 2),u-\(index % 3),other,plain")
        }
        lines.append("1,\(RFC3339.string(epochMilliseconds: base)),p-none,u-none,nothing,no events")
        return lines.joined(separator: "\r\n") + "\r\n"
    }

    static func allFeatures(_ catalog: FeatureCatalog) -> String {
        catalog.streamViews.flatMap { view in view.features.map { "\(view.name):\($0.name)" } }.joined(separator: ",")
    }

    /// Every row's features equal the reference model over the events with event time ≤ its time.
    static func expectMatchesReference(_ path: String, catalog: FeatureCatalog, events: [ClickEvent]) throws {
        let reader = try CSVReader(path: path)
        let header = try #require(try reader.next()).fields
        #expect(Array(header.prefix(6)) == ["label", "timestamp", "product_id", "user_id", "query", "note"])
        var rows = 0
        while let record = try reader.next() {
            rows += 1
            let fields = record.fields
            let time = try #require(SpineReader.epochMilliseconds(fields[1]))
            let keys: [EventField: String] = [.productID: fields[2], .userID: fields[3], .query: QueryNormalization.normalize(fields[4])!]
            for view in catalog.streamViews {
                let entity = EntityKey(values: view.entity.joinKeys.map { keys[$0]! })
                let seen = events.filter { $0.timestampMs <= time && view.entity.key(of: $0) == entity }
                let expected = ReferenceFeatures.values(view: view, events: seen, nowMs: time)
                for (index, feature) in view.features.enumerated() {
                    let column = try #require(header.firstIndex(of: "\(view.name)__\(feature.name)"))
                    let (got, want) = (fields[column], expected[index])
                    let label = "line \(record.line) \(view.name):\(feature.name) at \(time)"
                    if want.isNaN {
                        #expect(got == "", "\(label): \(got)")
                    } else if feature.valueType == .double {
                        let value = try #require(Double(got), "\(label): \(got)")
                        #expect(abs(value - want) <= 1e-9 * max(1, abs(want)), "\(label): \(got) vs \(want)")
                    } else {
                        #expect(got == String(Int64(want)), "\(label): \(got) vs \(want)")
                    }
                }
            }
        }
        #expect(rows == 2 * spineTimes().count + 1)
    }

    @Test func rowsAcrossWindowEdgesEqualTheReferenceAndNeverSeeTheirFuture() throws {
        let catalog = try BatchTestServices.catalog()
        let db = try BatchTestServices.freshDatabase()
        let scratch = try ScratchFolder()
        var events = Self.edgeEvents()
        try EventLogFixtures.log(events, to: db)
        let spine = try scratch.write("spine.csv", Self.spine(Self.spineTimes()))
        let builder = TrainingSetBuilder(catalog: catalog, chunkRows: 7)  // several chunks
        let connection = try db.connect()
        defer { connection.close() }

        let summary = try builder.build(spine: spine, features: Self.allFeatures(catalog), output: "\(scratch.path)/before.csv", on: connection)
        #expect(summary == .init(rows: 2 * Self.spineTimes().count + 1, features: 25))
        try Self.expectMatchesReference("\(scratch.path)/before.csv", catalog: catalog, events: events)
        let before = try scratch.read("before.csv")
        #expect(before.contains(#""row 1, ""quoted"""#))
        #expect(before.contains(",p-none,u-none,nothing,no events,0,"))

        // Events later than some rows: those rows do not change; later rows take them.
        let late = Self.base + 450_007
        let newEvents = (0..<6).map { index in
            EventLogFixtures.event("late\(index)", index % 2 == 0 ? .view : .purchase, at: late + Int64(index), user: "u-\(index % 3)",
                                   product: "p-\(index % 2)", query: "running shoes", price: 1_000)
        }
        try EventLogFixtures.log(newEvents, firstOffset: Int64(events.count), to: db)
        events += newEvents
        _ = try builder.build(spine: spine, features: Self.allFeatures(catalog), output: "\(scratch.path)/after.csv", on: connection)
        try Self.expectMatchesReference("\(scratch.path)/after.csv", catalog: catalog, events: events)

        let beforeLines = before.split(separator: "\n"), afterLines = try scratch.read("after.csv").split(separator: "\n")
        #expect(beforeLines.count == afterLines.count)
        var changed = 0
        for (old, new) in zip(beforeLines.dropFirst(), afterLines.dropFirst()) {
            let time = try #require(SpineReader.epochMilliseconds(String(old.split(separator: ",")[1])))
            if time < late { #expect(old == new, "row at \(time) changed by events after it") } else if old != new { changed += 1 }
        }
        #expect(changed > 0)
    }

    @Test func aBadSpineRowNamesItsLineAndLeavesNoOutput() throws {
        let catalog = try BatchTestServices.catalog()
        let db = try BatchTestServices.freshDatabase()
        let scratch = try ScratchFolder()
        let spine = try scratch.write("spine.csv", "timestamp,product_id\n1763700000000,p-1\nyesterday,p-2\n")
        let connection = try db.connect()
        defer { connection.close() }
        let builder = TrainingSetBuilder(catalog: catalog, chunkRows: 1)
        #expect {
            try builder.build(spine: spine, features: "product_stats:views_1h", output: "\(scratch.path)/out.csv", on: connection)
        } throws: { "\($0)".contains("spine.csv line 3: timestamp 'yesterday' is neither RFC 3339") }
        #expect(!FileManager.default.fileExists(atPath: "\(scratch.path)/out.csv"))
        #expect(!FileManager.default.fileExists(atPath: "\(scratch.path)/out.csv.partial"))
    }
}
