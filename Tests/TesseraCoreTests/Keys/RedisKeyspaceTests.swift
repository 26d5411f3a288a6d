import Testing
import TesseraCore

@Suite struct RedisKeyspaceTests {
    @Test func vectorKeysNameTheirEntityBack() {
        let keyspace = RedisKeyspace(prefix: "ts")
        let entity = EntityKey(values: ["running shoes", "p-1"])
        let key = keyspace.vectorKey(view: "query_product_stats", entity: entity)
        #expect(keyspace.entity(fromVectorKey: key, view: "query_product_stats") == entity)
        #expect(keyspace.entity(fromVectorKey: key, view: "product_stats") == nil)
        #expect(keyspace.entity(fromVectorKey: keyspace.stateKey(view: "query_product_stats", entity: entity), view: "query_product_stats") == nil)
    }

    @Test func keysAreSpelledOut() {
        let keyspace = RedisKeyspace(prefix: "ts")
        let pair = EntityKey(values: ["running shoes", "p-1"])
        #expect(keyspace.vectorKey(view: "query_product_stats", entity: pair) == "ts:{query_product_stats|running shoes\u{1F}p-1}:v")
        #expect(keyspace.stateKey(view: "user_stats", entity: EntityKey(values: ["u-1"])) == "ts:{user_stats|u-1}:s")
        var stem: [UInt8] = []
        keyspace.appendDistinctKeyStem(view: "v", entity: EntityKey(values: ["é"]), slot: "d0", to: &stem)
        #expect(String(decoding: stem, as: UTF8.self) == "ts:{v|é}:h:d0:")
        #expect(RedisKeyspace.tileField(slot: "d0", tile: -3) == "d0:-3")
        // The apply calls pack the same bytes, and the lookup path from a head made once per view.
        let key = Array(keyspace.vectorKey(view: "query_product_stats", entity: pair).utf8)
        var packed: [UInt8] = [7]
        keyspace.appendVectorKey(view: "query_product_stats", entity: pair, to: &packed)
        #expect(packed == [7] + key)
        var fromHead: [UInt8] = [7]
        RedisKeyspace.appendVectorKey(head: keyspace.vectorKeyHead(view: "query_product_stats"), entity: pair, to: &fromHead)
        #expect(fromHead == [7] + key)
    }

    @Test func scanPatternsEscapeGlobCharacters() {
        #expect(RedisKeyspace(prefix: "t*[1]").vectorKeyPattern(view: "v?") == #"t\*\[1\]:{v\?|*}:v"#)
        #expect(RedisKeyspace.fencePartition(field: RedisKeyspace.fenceField(partition: 3)) == 3)
        #expect(RedisKeyspace.fencePartition(field: "e") == nil)
    }
}
