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

    @Test func scanPatternsEscapeGlobCharacters() {
        #expect(RedisKeyspace(prefix: "t*[1]").vectorKeyPattern(view: "v?") == #"t\*\[1\]:{v\?|*}:v"#)
        #expect(RedisKeyspace.fencePartition(field: RedisKeyspace.fenceField(partition: 3)) == 3)
        #expect(RedisKeyspace.fencePartition(field: "e") == nil)
    }
}
