import Foundation
import TesseraCore

/// Answers a validated lookup from packed vectors: one Redis round trip, then
/// column-major results in Feast's shape.
struct FeatureLookup: Sendable {
    let keyspace: RedisKeyspace
    let store: VectorStore

    enum Status: String {
        case present = "PRESENT"
        case notFound = "NOT_FOUND"
        case nullValue = "NULL_VALUE"
        case outsideMaxAge = "OUTSIDE_MAX_AGE"
    }

    func respond(to plan: LookupPlan, nowMs: Int64) async throws -> [UInt8] {
        // Distinct keys only: a user repeated on every row is read once.
        var keyIndex: [String: Int] = [:]
        var keys: [String] = []
        let rowKeys: [[Int]] = plan.views.indices.map { viewIndex in
            plan.entities[viewIndex].map { entity in
                let key = keyspace.vectorKey(view: plan.views[viewIndex].name, entity: entity)
                if let index = keyIndex[key] { return index }
                keyIndex[key] = keys.count
                keys.append(key)
                return keys.count - 1
            }
        }
        let raw = try await store.fetch(keys)
        let vectors: [FeatureVector?] = raw.map { bytes in bytes.flatMap { try? FeatureVector(decoding: $0) } }

        var json = JSONWriter(capacity: 64 + plan.rowCount * plan.columns.count * 48)
        json.beginObject()
        json.key("metadata")
        json.beginObject()
        json.key("feature_names")
        json.beginArray()
        for joinKey in plan.joinKeys { json.string(joinKey) }
        for column in plan.columns { json.string(column.outputName) }
        json.endArray()
        json.endObject()

        json.key("results")
        json.beginArray()
        for joinKey in plan.joinKeys {
            json.beginObject()
            json.key("values")
            json.beginArray()
            for value in plan.joinKeyValues[joinKey]! { json.string(value.text) }
            json.endArray()
            writeColumnMetadata(&json, statuses: Array(repeating: .present, count: plan.rowCount), times: Array(repeating: 0, count: plan.rowCount))
            json.endObject()
        }
        for column in plan.columns {
            let view = plan.views[column.view]
            let valueType = view.features[column.feature].valueType
            var statuses: [Status] = []
            var times: [Int64] = []
            statuses.reserveCapacity(plan.rowCount)
            times.reserveCapacity(plan.rowCount)
            json.beginObject()
            json.key("values")
            json.beginArray()
            for row in 0..<plan.rowCount {
                let vector = vectors[rowKeys[column.view][row]]
                // A vector written under another feature layout (config changed) is not trusted.
                guard let vector, vector.layoutFingerprint == view.layoutFingerprint, column.feature < vector.values.count else {
                    statuses.append(.notFound)
                    times.append(0)
                    json.null()
                    continue
                }
                times.append(vector.newestEventMs)
                let value = vector.values[column.feature]
                if nowMs - vector.newestEventMs > view.ttlMs {
                    statuses.append(.outsideMaxAge)
                    json.null()
                } else if value.isNaN {
                    statuses.append(.nullValue)
                    json.null()
                } else {
                    statuses.append(.present)
                    switch valueType {
                    case .int64, .timestampMs:
                        // Counts and times are whole and in range; anything else is written as it is.
                        if let whole = Int64(exactly: value) { json.integer(whole) } else { json.number(value) }
                    case .double: json.number(value)
                    }
                }
            }
            json.endArray()
            writeColumnMetadata(&json, statuses: statuses, times: times)
            json.endObject()
        }
        json.endArray()
        json.endObject()
        return json.bytes
    }

    private func writeColumnMetadata(_ json: inout JSONWriter, statuses: [Status], times: [Int64]) {
        json.key("statuses")
        json.beginArray()
        for status in statuses { json.string(status.rawValue) }
        json.endArray()
        json.key("event_timestamps")
        json.beginArray()
        for time in times { json.string(RFC3339.string(epochMilliseconds: time)) }
        json.endArray()
    }
}
