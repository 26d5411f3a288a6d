import TesseraCore
import TesseraRedis

/// Reads a sample of one view's online entities from Redis: the packed vector and the
/// offset fences of each, read together in MULTI/EXEC so they describe the same moment.
struct OnlineSampler {
    let connection: RedisConnection
    let keyspace: RedisKeyspace

    struct Entity {
        var key: EntityKey
        /// nil when the vector went away (expired) or is not a TV1 vector.
        var vector: FeatureVector?
        /// The last source offset applied per partition (`f:<partition>` in the state hash).
        var fences: [Int32: Int64]
    }

    /// Up to `limit` entities in SCAN order, which follows Redis's hash table and so
    /// spreads over the keyspace rather than favouring old or new entities.
    func sample(view: StreamView, limit: Int) throws -> [Entity] {
        var keys: [EntityKey] = []
        var cursor = "0"
        repeat {
            let reply = try connection.send(["SCAN", cursor, "MATCH", keyspace.vectorKeyPattern(view: view.name), "COUNT", "1000"])
            guard let parts = reply.array, parts.count == 2, let next = parts[0].string, let found = parts[1].array else {
                throw RedisError("SCAN answered \(reply)")
            }
            for item in found {
                if keys.count < limit, let name = item.string, let entity = keyspace.entity(fromVectorKey: name, view: view.name) {
                    keys.append(entity)
                }
            }
            cursor = next
        } while cursor != "0" && keys.count < limit
        return try read(view: view, keys)
    }

    private func read(view: StreamView, _ keys: [EntityKey]) throws -> [Entity] {
        var entities: [Entity] = []
        for chunk in stride(from: 0, to: keys.count, by: 200).map({ keys[$0..<min($0 + 200, keys.count)] }) {
            var commands: [[String]] = []
            for key in chunk {
                commands += [
                    ["MULTI"], ["GET", keyspace.vectorKey(view: view.name, entity: key)],
                    ["HGETALL", keyspace.stateKey(view: view.name, entity: key)], ["EXEC"],
                ]
            }
            let replies = try connection.pipeline(commands)
            for (index, key) in chunk.enumerated() {
                let exec = replies[index * 4 + 3]
                guard let results = exec.array, results.count == 2 else { throw RedisError("MULTI/EXEC answered \(exec)") }
                var vector: FeatureVector?
                if case .bytes(let bytes) = results[0] { vector = try? FeatureVector(decoding: bytes) }
                entities.append(Entity(key: key, vector: vector, fences: Self.fences(in: results[1].array ?? [])))
            }
        }
        return entities
    }

    /// The `f:<partition>` fields of a state hash, from HGETALL's field, value list.
    private static func fences(in hash: [RedisReply]) -> [Int32: Int64] {
        var fences: [Int32: Int64] = [:]
        for pair in stride(from: 0, to: hash.count - 1, by: 2) {
            guard let field = hash[pair].string, let partition = RedisKeyspace.fencePartition(field: field),
                let offset = hash[pair + 1].integer
            else { continue }
            fences[partition] = offset
        }
        return fences
    }
}
