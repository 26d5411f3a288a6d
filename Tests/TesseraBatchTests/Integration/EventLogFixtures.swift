import Foundation
import TesseraCore
import TesseraStream

/// Events for batch tests, and writing them to a test database's log the way the
/// offline consumer does (OfflineDatabase.write: COPY plus the group's offsets).
enum EventLogFixtures {
    static let group = "tessera-offline"
    static let topic = "clickstream"

    static func event(_ id: String, _ type: EventType, at timeMs: Int64, user: String = "u-1", product: String = "p-1",
                      query: String? = nil, price: Double? = nil, quantity: Int64 = 1) -> ClickEvent {
        ClickEvent(eventID: id, type: type, timestampMs: timeMs, userID: user, productID: product, query: query, price: price, quantity: quantity)
    }

    /// Appends the events with consecutive offsets on one partition, starting at `firstOffset`.
    static func log(_ events: [ClickEvent], partition: Int32 = 0, firstOffset: Int64 = 0, to database: FreshDatabase) throws {
        let logged = events.enumerated().map { index, event in
            LoggedEvent(event: event, payload: Array(#"{"event_id": "\#(event.eventID)"}"#.utf8), partition: partition, offset: firstOffset + Int64(index))
        }
        try log(logged, to: database)
    }

    static func log(_ events: [LoggedEvent], to database: FreshDatabase) throws {
        var next: [Int32: Int64] = [:]
        for logged in events { next[logged.partition] = max(next[logged.partition] ?? 0, logged.offset + 1) }
        try OfflineDatabase(url: database.url).write(events, nextOffsets: next, group: group, topic: topic)
    }
}
