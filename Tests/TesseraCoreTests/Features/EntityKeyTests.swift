import Testing
@testable import TesseraCore

/// Entity keys of one value (held without an array) and of several behave alike.
@Suite struct EntityKeyTests {
    @Test func oneValueKeysEqualAndHashLikeTheArrayForm() {
        let single = EntityKey("p-1"), fromArray = EntityKey(values: ["p-1"])
        #expect(single == fromArray)
        #expect(single.hashValue == fromArray.hashValue)
        #expect(single.count == 1 && single[0] == "p-1" && single.values == ["p-1"])
        #expect(single != EntityKey("p-2"))
        #expect(single != EntityKey(values: ["p-1", ""]))
        #expect(Set([single, fromArray, EntityKey("p-2")]).count == 2)
    }

    @Test func severalValuesKeepTheirOrder() {
        let pair = EntityKey(values: ["running shoes", "p-1"])
        #expect(pair.count == 2 && pair[0] == "running shoes" && pair[1] == "p-1")
        #expect(pair != EntityKey(values: ["p-1", "running shoes"]))
        #expect(EntityKey(encoded: pair.encoded) == pair)
        #expect(EntityKey(encoded: "u-1") == EntityKey("u-1"))
        #expect(pair.description == "running shoes/p-1")
    }

    @Test func bytesDecideNotCanonicalEquivalence() {
        // "café" composed and decomposed: equal as Swift strings, different keys in Redis.
        let composed = EntityKey("caf\u{E9}"), decomposed = EntityKey("cafe\u{301}")
        #expect("caf\u{E9}" == "cafe\u{301}")
        #expect(composed != decomposed)
    }

    @Test func eventsGiveTheirJoinKeys() {
        let event = ClickEvent(eventID: "e", type: .view, timestampMs: 0, userID: "u-1", productID: "p-1", query: "shoes")
        #expect(EntityDefinition(name: "user", joinKeys: [.userID]).key(of: event) == EntityKey("u-1"))
        #expect(EntityDefinition(name: "qp", joinKeys: [.query, .productID]).key(of: event) == EntityKey(values: ["shoes", "p-1"]))
        let noQuery = ClickEvent(eventID: "e", type: .view, timestampMs: 0, userID: "u-1", productID: "p-1")
        #expect(EntityDefinition(name: "q", joinKeys: [.query]).key(of: noQuery) == nil)
    }
}
