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
        var keyViews = Array(repeating: 0, count: keys.count)
        for (viewIndex, indexes) in rowKeys.enumerated() {
            for index in indexes { keyViews[index] = viewIndex }
        }
        let raw = try await store.fetch(keys)
        let vectors: [StoredVector?] = zip(raw, keyViews).map { bytes, viewIndex in
            bytes.flatMap { StoredVector(decoding: $0, for: plan.views[viewIndex]) }
        }

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
            var statuses: [Status] = []
            var times: [Int64] = []
            statuses.reserveCapacity(plan.rowCount)
            times.reserveCapacity(plan.rowCount)
            json.beginObject()
            json.key("values")
            json.beginArray()
            for row in 0..<plan.rowCount {
                let cell = Self.cell(vectors[rowKeys[column.view][row]], view: plan.views[column.view], feature: column.feature, nowMs: nowMs)
                statuses.append(cell.status)
                times.append(cell.timeMs)
                switch cell.value {
                case .null: json.null()
                case .double(let number): json.number(number)
                case .int(let number): json.integer(number)
                case .string(let text): json.string(text)
                case .bool(let flag): json.bool(flag)
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

    /// One feature of one entity: its status, the time it is as of (newest event or source
    /// row; 0 when unknown) and its value (null unless PRESENT).
    private static func cell(_ vector: StoredVector?, view: LookupView, feature: Int, nowMs: Int64)
        -> (status: Status, timeMs: Int64, value: BatchValue)
    {
        switch (view, vector) {
        case (.stream(let view), .stream(let vector)):
            // A vector written under another feature layout (config changed) is not trusted.
            guard vector.layoutFingerprint == view.layoutFingerprint, feature < vector.values.count else { break }
            let value = vector.values[feature]
            if nowMs - vector.newestEventMs > view.ttlMs { return (.outsideMaxAge, vector.newestEventMs, .null) }
            if value.isNaN { return (.nullValue, vector.newestEventMs, .null) }
            switch view.features[feature].valueType {
            case .int64, .timestampMs:
                // Counts and times are whole and in range; anything else is written as it is.
                return (.present, vector.newestEventMs, Int64(exactly: value).map(BatchValue.int) ?? .double(value))
            case .double:
                return (.present, vector.newestEventMs, .double(value))
            }
        case (.batch(let view), .batch(let vector)):
            guard vector.layoutFingerprint == view.layoutFingerprint, feature < vector.values.count else { break }
            if nowMs - vector.sourceTimeMs > view.ttlMs { return (.outsideMaxAge, vector.sourceTimeMs, .null) }
            let value = vector.values[feature]
            return (value == .null ? .nullValue : .present, vector.sourceTimeMs, value)
        default:
            break
        }
        return (.notFound, 0, .null)
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

/// A vector as read from Redis, decoded by the kind of view its key belongs to.
enum StoredVector {
    case stream(FeatureVector)
    case batch(BatchVector)

    init?(decoding bytes: [UInt8], for view: LookupView) {
        switch view {
        case .stream:
            guard let vector = try? FeatureVector(decoding: bytes) else { return nil }
            self = .stream(vector)
        case .batch:
            guard let vector = try? BatchVector(decoding: bytes) else { return nil }
            self = .batch(vector)
        }
    }
}
