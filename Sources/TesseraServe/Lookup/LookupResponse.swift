import TesseraCore

/// The body of a lookup's answer in Feast's column-major shape, written straight into one
/// pre-sized buffer. Whatever a cell's status and timestamp depend on (the vector's layout,
/// its age, its time) is worked out once per vector, not once per cell, and its timestamp
/// is formatted once and copied into every column.
public enum LookupResponse {
    enum Status {
        case present, notFound, nullValue, outsideMaxAge

        /// Quoted, ready to copy into the body (static text: no reference counting per cell).
        var json: StaticString {
            switch self {
            case .present: #""PRESENT""#
            case .notFound: #""NOT_FOUND""#
            case .nullValue: #""NULL_VALUE""#
            case .outsideMaxAge: #""OUTSIDE_MAX_AGE""#
            }
        }
    }

    /// The timestamp of cells with no time (join keys, NOT_FOUND): the epoch, as Feast answers.
    private static let epochStamp: StaticString = #""1970-01-01T00:00:00.000Z""#

    /// One read vector as the cells of its row see it. Its values sit in one flat buffer per
    /// kind, so reading a cell copies no array and touches no reference count.
    enum Entry {
        /// No vector, an unreadable one, or one written under another feature layout (the
        /// config changed): NOT_FOUND, not trusted.
        case notFound
        /// Its newest event (stream) or source row (batch) is older than the view's ttl.
        case outsideMaxAge
        /// Values at `start..<start + count` of the stream or batch values.
        case stream(start: Int, count: Int)
        case batch(start: Int, count: Int)
    }

    /// The decoded values of every vector of one response, by kind.
    struct Values {
        var stream: [Double] = []
        var batch: [BatchValue] = []
    }

    /// `vectors` holds the value of each of `reads.keys`, nil where Redis has none.
    public static func encode(_ plan: LookupPlan, reads: VectorReads, vectors: [[UInt8]?], nowMs: Int64) -> [UInt8] {
        // Per key: its entry, and its quoted timestamp (24 characters and 2 quotes) in `stamps`.
        var entries: [Entry] = []
        entries.reserveCapacity(vectors.count)
        var stamps: [UInt8] = []
        stamps.reserveCapacity(vectors.count * stampWidth)
        var values = Values()
        for (bytes, viewIndex) in zip(vectors, reads.keyViews) {
            let (entry, timeMs) = Self.entry(bytes, view: plan.views[viewIndex], nowMs: nowMs, values: &values)
            entries.append(entry)
            appendStamp(timeMs, to: &stamps)
        }
        // About 48 bytes a cell: a value, its status and its timestamp.
        var json = JSONWriter(capacity: 256 + plan.rowCount * (plan.columns.count + plan.joinKeys.count) * 48)
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
            for value in plan.joinKeyValues[joinKey]! { json.string(value) }
            json.endArray()
            json.key("statuses")
            json.beginArray()
            for _ in 0..<plan.rowCount { json.encoded(Status.present.json) }
            json.endArray()
            json.key("event_timestamps")
            json.beginArray()
            for _ in 0..<plan.rowCount { json.encoded(epochStamp) }
            json.endArray()
            json.endObject()
        }
        var statuses: [Status] = []
        statuses.reserveCapacity(plan.rowCount)
        for column in plan.columns {
            let rows = reads.rowKeys[column.view]
            let (feature, wholeNumbers) = (column.feature, column.wholeNumbers)
            statuses.removeAll(keepingCapacity: true)
            json.beginObject()
            json.key("values")
            json.beginArray()
            for key in rows {
                statuses.append(writeValue(entries[key], feature: feature, wholeNumbers: wholeNumbers, values: values, to: &json))
            }
            json.endArray()
            json.key("statuses")
            json.beginArray()
            for status in statuses { json.encoded(status.json) }
            json.endArray()
            json.key("event_timestamps")
            json.beginArray()
            stamps.withUnsafeBufferPointer { stamps in
                for (key, status) in zip(rows, statuses) {
                    if status == .notFound {
                        json.encoded(epochStamp)
                    } else {
                        json.encoded(UnsafeBufferPointer(rebasing: stamps[(key * stampWidth)..<((key + 1) * stampWidth)]))
                    }
                }
            }
            json.endArray()
            json.endObject()
        }
        json.endArray()
        json.endObject()
        return json.bytes
    }

    private static let stampWidth = 26

    private static func appendStamp(_ timeMs: Int64, to stamps: inout [UInt8]) {
        let start = stamps.count
        stamps.append(UInt8(ascii: "\""))
        // Times outside years 0...9999 (a corrupt vector) are written as the epoch, keeping the width.
        let inRange = (-62_167_219_200_000...253_402_300_799_999).contains(timeMs)
        RFC3339.append(epochMilliseconds: inRange ? timeMs : 0, to: &stamps)
        stamps.append(UInt8(ascii: "\""))
        precondition(stamps.count - start == stampWidth, "a UTC timestamp with milliseconds has 24 characters")
    }

    /// What a vector says for every cell of its row, and the time its cells are as of (0 when unknown).
    private static func entry(_ bytes: [UInt8]?, view: LookupView, nowMs: Int64, values: inout Values) -> (Entry, Int64) {
        guard let bytes else { return (.notFound, 0) }
        switch view {
        case .stream(let view):
            guard let vector = try? FeatureVector(decoding: bytes), vector.layoutFingerprint == view.layoutFingerprint
            else { return (.notFound, 0) }
            if nowMs - vector.newestEventMs > view.ttlMs { return (.outsideMaxAge, vector.newestEventMs) }
            values.stream.append(contentsOf: vector.values)
            return (.stream(start: values.stream.count - vector.values.count, count: vector.values.count), vector.newestEventMs)
        case .batch(let view):
            guard let vector = try? BatchVector(decoding: bytes), vector.layoutFingerprint == view.layoutFingerprint
            else { return (.notFound, 0) }
            if nowMs - vector.sourceTimeMs > view.ttlMs { return (.outsideMaxAge, vector.sourceTimeMs) }
            values.batch.append(contentsOf: vector.values)
            return (.batch(start: values.batch.count - vector.values.count, count: vector.values.count), vector.sourceTimeMs)
        }
    }

    /// Writes one cell's value (null unless PRESENT) and returns its status.
    /// `wholeNumbers`: a stream feature of type int64 or timestamp_ms.
    private static func writeValue(
        _ entry: Entry, feature: Int, wholeNumbers: Bool, values: Values, to json: inout JSONWriter
    ) -> Status {
        switch entry {
        case .notFound:
            json.null()
            return .notFound
        case .outsideMaxAge:
            json.null()
            return .outsideMaxAge
        case .stream(let start, let count):
            guard feature < count else {
                json.null()
                return .notFound
            }
            let value = values.stream[start + feature]
            if value.isNaN {
                json.null()
                return .nullValue
            }
            // Counts and times are whole and in range; anything else is written as it is.
            if wholeNumbers, let integer = Int64(exactly: value) { json.integer(integer) } else { json.number(value) }
        case .batch(let start, let count):
            guard feature < count else {
                json.null()
                return .notFound
            }
            switch values.batch[start + feature] {
            case .null:
                json.null()
                return .nullValue
            case .double(let number): json.number(number)
            case .int(let number): json.integer(number)
            case .string(let text): json.string(text)
            case .bool(let flag): json.bool(flag)
            }
        }
        return .present
    }
}
