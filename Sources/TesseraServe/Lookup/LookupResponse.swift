import TesseraCore

/// The body of a lookup's answer in Feast's column-major shape, written straight into one
/// pre-sized buffer. Whatever a cell's status and timestamp depend on (the vector's layout,
/// its age, its time) is worked out once per vector, not once per cell, and its timestamp
/// is formatted once and copied into every column.
public enum LookupResponse {
    enum Status {
        case present, notFound, nullValue, outsideMaxAge

        /// Quoted, ready to copy into the body.
        var json: ArraySlice<UInt8> {
            switch self {
            case .present: Self.presentJSON
            case .notFound: Self.notFoundJSON
            case .nullValue: Self.nullValueJSON
            case .outsideMaxAge: Self.outsideMaxAgeJSON
            }
        }

        private static let presentJSON = ArraySlice(#""PRESENT""#.utf8)
        private static let notFoundJSON = ArraySlice(#""NOT_FOUND""#.utf8)
        private static let nullValueJSON = ArraySlice(#""NULL_VALUE""#.utf8)
        private static let outsideMaxAgeJSON = ArraySlice(#""OUTSIDE_MAX_AGE""#.utf8)
    }

    /// One read vector as the cells of its row see it.
    enum Entry {
        /// No vector, an unreadable one, or one written under another feature layout (the
        /// config changed): NOT_FOUND, not trusted.
        case notFound
        /// Its newest event (stream) or source row (batch) is older than the view's ttl.
        case outsideMaxAge
        case stream([Double])
        case batch([BatchValue])
    }

    /// `vectors` holds the value of each of `reads.keys`, nil where Redis has none.
    public static func encode(_ plan: LookupPlan, reads: VectorReads, vectors: [[UInt8]?], nowMs: Int64) -> [UInt8] {
        // Per key: its entry, and its quoted timestamp (24 characters and 2 quotes) in `stamps`.
        var entries: [Entry] = []
        entries.reserveCapacity(vectors.count)
        var stamps: [UInt8] = []
        stamps.reserveCapacity(vectors.count * stampWidth)
        for (bytes, viewIndex) in zip(vectors, reads.keyViews) {
            let (entry, timeMs) = Self.entry(bytes, view: plan.views[viewIndex], nowMs: nowMs)
            entries.append(entry)
            appendStamp(timeMs, to: &stamps)
        }
        var epochStamp: [UInt8] = []
        appendStamp(0, to: &epochStamp)

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
            for _ in 0..<plan.rowCount { json.encoded(epochStamp[...]) }
            json.endArray()
            json.endObject()
        }
        var statuses: [Status] = []
        statuses.reserveCapacity(plan.rowCount)
        for column in plan.columns {
            let rows = reads.rowKeys[column.view]
            statuses.removeAll(keepingCapacity: true)
            json.beginObject()
            json.key("values")
            json.beginArray()
            for key in rows {
                statuses.append(writeValue(entries[key], column: column, to: &json))
            }
            json.endArray()
            json.key("statuses")
            json.beginArray()
            for status in statuses { json.encoded(status.json) }
            json.endArray()
            json.key("event_timestamps")
            json.beginArray()
            for (key, status) in zip(rows, statuses) {
                json.encoded(status == .notFound ? epochStamp[...] : stamps[(key * stampWidth)..<((key + 1) * stampWidth)])
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
    private static func entry(_ bytes: [UInt8]?, view: LookupView, nowMs: Int64) -> (Entry, Int64) {
        guard let bytes else { return (.notFound, 0) }
        switch view {
        case .stream(let view):
            guard let vector = try? FeatureVector(decoding: bytes), vector.layoutFingerprint == view.layoutFingerprint
            else { return (.notFound, 0) }
            if nowMs - vector.newestEventMs > view.ttlMs { return (.outsideMaxAge, vector.newestEventMs) }
            return (.stream(vector.values), vector.newestEventMs)
        case .batch(let view):
            guard let vector = try? BatchVector(decoding: bytes), vector.layoutFingerprint == view.layoutFingerprint
            else { return (.notFound, 0) }
            if nowMs - vector.sourceTimeMs > view.ttlMs { return (.outsideMaxAge, vector.sourceTimeMs) }
            return (.batch(vector.values), vector.sourceTimeMs)
        }
    }

    /// Writes one cell's value (null unless PRESENT) and returns its status.
    private static func writeValue(_ entry: Entry, column: LookupPlan.Column, to json: inout JSONWriter) -> Status {
        let feature = column.feature
        switch entry {
        case .notFound:
            json.null()
            return .notFound
        case .outsideMaxAge:
            json.null()
            return .outsideMaxAge
        case .stream(let values):
            guard feature < values.count else {
                json.null()
                return .notFound
            }
            let value = values[feature]
            if value.isNaN {
                json.null()
                return .nullValue
            }
            // Counts and times are whole and in range; anything else is written as it is.
            if column.wholeNumbers, let integer = Int64(exactly: value) { json.integer(integer) } else { json.number(value) }
        case .batch(let values):
            guard feature < values.count else {
                json.null()
                return .notFound
            }
            switch values[feature] {
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
