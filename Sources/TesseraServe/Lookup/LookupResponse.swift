import NIOCore
import TesseraCore
import TesseraRedis

/// The body of a lookup's answer in Feast's column-major shape. Each vector is read once where
/// it lies in Redis's reply, and each of its requested cells encoded once: a user on every row
/// is formatted once, not once per row. Whatever a cell's status and timestamp depend on (the vector's layout, its
/// age, its time) is worked out per vector too. The body is then measured exactly and put
/// together in one buffer of that size by copying those pieces into place.
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

    /// One read vector as the cells of its row see it. Its values stay where they lie in
    /// Redis's reply; none is copied out but into the response.
    enum Entry {
        /// No vector, an unreadable one, or one written under another feature layout (the
        /// config changed): NOT_FOUND, not trusted.
        case notFound
        /// Its newest event (stream) or source row (batch) is older than the view's ttl.
        case outsideMaxAge
        /// A TV1 vector's bytes, holding `count` values.
        case stream(UnsafeRawBufferPointer, count: Int)
        /// A TB1 vector's bytes; its values are the cells `BatchVector.read` left in `batchCells`.
        case batch(UnsafeRawBufferPointer)
    }

    /// What encoding one requested feature of a vector needs: a column without its name, so
    /// going through them per vector copies no string.
    struct FeatureCell {
        var feature: Int
        var wholeNumbers: Bool
    }

    /// Every cell the response shows, encoded once per key and requested feature of its view.
    struct Cells {
        /// The cells' JSON values back to back; cell i is `text[bounds[i]..<bounds[i + 1]]`.
        var text: [UInt8] = []
        var bounds: [Int] = [0]
        var statuses: [Status] = []
        /// Per key: the index of its first cell; its view's requested features follow in order.
        var firstCell: [Int] = []
        /// Quoted timestamps, `stampWidth` bytes each; per key, the index of its own.
        var stamps: [UInt8] = []
        var stampOfKey: [Int] = []
    }

    /// `vectors` holds the value of each of `reads.keys`, nil where Redis has none.
    public static func encode(_ plan: LookupPlan, reads: VectorReads, vectors: ByteStrings, nowMs: Int64) -> ByteBuffer {
        // Per view, the features its columns ask for; per column, its place among them.
        var viewFeatures = [[FeatureCell]](repeating: [], count: plan.views.count)
        let columnSlots = plan.columns.map { column in
            viewFeatures[column.view].append(FeatureCell(feature: column.feature, wholeNumbers: column.wholeNumbers))
            return viewFeatures[column.view].count - 1
        }
        let cells = Self.cells(plan, reads: reads, vectors: vectors, viewFeatures: viewFeatures, nowMs: nowMs)
        let head = Self.head(plan)
        let size = bodySize(head: head, plan: plan, reads: reads, cells: cells, columnSlots: columnSlots)
        var buffer = ByteBufferAllocator().buffer(capacity: size)
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: size) { memory in
            var body = BodyWriter(memory: memory)
            writeBody(head: head, plan: plan, reads: reads, cells: cells, columnSlots: columnSlots, to: &body)
            precondition(body.count == size, "the body was measured at \(size) bytes and is \(body.count)")
            return body.count
        }
        return buffer
    }

    private static func cells(
        _ plan: LookupPlan, reads: VectorReads, vectors: ByteStrings, viewFeatures: [[FeatureCell]], nowMs: Int64
    ) -> Cells {
        var cells = Cells()
        let cellCount = reads.keyViews.reduce(0) { $0 + viewFeatures[$1].count }
        cells.bounds.reserveCapacity(cellCount + 1)
        cells.statuses.reserveCapacity(cellCount)
        cells.firstCell.reserveCapacity(vectors.count)
        cells.stamps.reserveCapacity(vectors.count * stampWidth)
        cells.stampOfKey.reserveCapacity(vectors.count)
        var json = JSONWriter(capacity: cellCount * 8, separated: false)
        let checks = plan.views.map(VectorCheck.init)
        var lastTimeMs: Int64 = 0
        // Reused by every batch vector: reading one allocates nothing.
        var batchCells: [BatchCell] = []
        vectors.bytes.withUnsafeBytes { reply in
            for (key, viewIndex) in reads.keyViews.enumerated() {
                let bytes = vectors.range(key).map { UnsafeRawBufferPointer(rebasing: reply[$0]) }
                let (entry, timeMs) = Self.entry(bytes, check: checks[viewIndex], nowMs: nowMs, batchCells: &batchCells)
                // Vectors one after another often share a time (rows of one source time): format it once.
                if key == 0 || timeMs != lastTimeMs { appendStamp(timeMs, to: &cells.stamps) }
                cells.stampOfKey.append(cells.stamps.count / stampWidth - 1)
                lastTimeMs = timeMs
                cells.firstCell.append(cells.statuses.count)
                for column in viewFeatures[viewIndex] {
                    cells.statuses.append(writeValue(
                        entry, feature: column.feature, wholeNumbers: column.wholeNumbers, batchCells: batchCells, to: &json))
                    cells.bounds.append(json.bytes.count)
                }
            }
        }
        cells.text = json.bytes
        return cells
    }

    /// Everything before the feature columns: the names, then the join keys' columns.
    private static func head(_ plan: LookupPlan) -> [UInt8] {
        var json = JSONWriter(capacity: 1_024 + plan.rowCount * plan.joinKeys.count * 64)
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
        return json.bytes
    }

    // The fixed text around each feature column's three arrays.
    private static let valuesOpen: StaticString = #"{"values":["#
    private static let statusesOpen: StaticString = #"],"statuses":["#
    private static let stampsOpen: StaticString = #"],"event_timestamps":["#
    private static let arrayClose: StaticString = "]}"

    /// The exact length `writeBody` writes, so the body is allocated once at its size.
    private static func bodySize(head: [UInt8], plan: LookupPlan, reads: VectorReads, cells: Cells, columnSlots: [Int]) -> Int {
        let perColumn = valuesOpen.utf8CodeUnitCount + statusesOpen.utf8CodeUnitCount + stampsOpen.utf8CodeUnitCount
            + arrayClose.utf8CodeUnitCount
        var size = head.count + arrayClose.utf8CodeUnitCount
        for (index, column) in plan.columns.enumerated() {
            if index > 0 || !plan.joinKeys.isEmpty { size += 1 }
            let rows = reads.rowKeys[column.view], slot = columnSlots[index]
            // Three commas between rows; a timestamp (the epoch's too) per row.
            size += perColumn + 3 * max(rows.count - 1, 0) + stampWidth * rows.count
            for key in rows {
                let cell = cells.firstCell[key] + slot
                size += cells.bounds[cell + 1] - cells.bounds[cell] + cells.statuses[cell].json.utf8CodeUnitCount
            }
        }
        return size
    }

    /// The head, then one object per feature column with a value, a status and a timestamp
    /// per row, each copied from `cells`.
    private static func writeBody(
        head: [UInt8], plan: LookupPlan, reads: VectorReads, cells: Cells, columnSlots: [Int], to body: inout BodyWriter
    ) {
        head.withUnsafeBytes { body.write($0) }
        cells.text.withUnsafeBytes { text in
            cells.stamps.withUnsafeBytes { stamps in
                for (index, column) in plan.columns.enumerated() {
                    if index > 0 || !plan.joinKeys.isEmpty { body.write(byte: UInt8(ascii: ",")) }
                    let rows = reads.rowKeys[column.view], slot = columnSlots[index]
                    body.write(valuesOpen)
                    for (row, key) in rows.enumerated() {
                        if row > 0 { body.write(byte: UInt8(ascii: ",")) }
                        let cell = cells.firstCell[key] + slot
                        body.write(UnsafeRawBufferPointer(rebasing: text[cells.bounds[cell]..<cells.bounds[cell + 1]]))
                    }
                    body.write(statusesOpen)
                    for (row, key) in rows.enumerated() {
                        if row > 0 { body.write(byte: UInt8(ascii: ",")) }
                        body.write(cells.statuses[cells.firstCell[key] + slot].json)
                    }
                    body.write(stampsOpen)
                    for (row, key) in rows.enumerated() {
                        if row > 0 { body.write(byte: UInt8(ascii: ",")) }
                        if cells.statuses[cells.firstCell[key] + slot] == .notFound {
                            body.write(epochStamp)
                        } else {
                            let stamp = cells.stampOfKey[key] * stampWidth
                            body.write(UnsafeRawBufferPointer(rebasing: stamps[stamp..<(stamp + stampWidth)]))
                        }
                    }
                    body.write(arrayClose)
                }
            }
        }
        body.write(arrayClose)
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

    /// What checking a view's vectors needs, copied out of the view once per response.
    struct VectorCheck {
        var isBatch: Bool
        var layoutFingerprint: UInt32
        var ttlMs: Int64

        init(_ view: LookupView) {
            switch view {
            case .stream(let view): (isBatch, layoutFingerprint, ttlMs) = (false, view.layoutFingerprint, view.ttlMs)
            case .batch(let view): (isBatch, layoutFingerprint, ttlMs) = (true, view.layoutFingerprint, view.ttlMs)
            }
        }
    }

    /// What a vector says for every cell of its row, and the time its cells are as of (0 when unknown).
    private static func entry(
        _ bytes: UnsafeRawBufferPointer?, check: VectorCheck, nowMs: Int64, batchCells: inout [BatchCell]
    ) -> (Entry, Int64) {
        guard let bytes else { return (.notFound, 0) }
        if check.isBatch {
            batchCells.removeAll(keepingCapacity: true)
            guard let header = try? BatchVector.read(bytes, into: &batchCells), header.layoutFingerprint == check.layoutFingerprint
            else { return (.notFound, 0) }
            if nowMs - header.sourceTimeMs > check.ttlMs { return (.outsideMaxAge, header.sourceTimeMs) }
            return (.batch(bytes), header.sourceTimeMs)
        }
        guard let header = try? FeatureVector.header(of: bytes), header.layoutFingerprint == check.layoutFingerprint
        else { return (.notFound, 0) }
        if nowMs - header.newestEventMs > check.ttlMs { return (.outsideMaxAge, header.newestEventMs) }
        return (.stream(bytes, count: header.count), header.newestEventMs)
    }

    /// Writes one cell's value (null unless PRESENT) and returns its status.
    /// `wholeNumbers`: a stream feature of type int64 or timestamp_ms.
    private static func writeValue(
        _ entry: Entry, feature: Int, wholeNumbers: Bool, batchCells: [BatchCell], to json: inout JSONWriter
    ) -> Status {
        switch entry {
        case .notFound:
            json.null()
            return .notFound
        case .outsideMaxAge:
            json.null()
            return .outsideMaxAge
        case .stream(let bytes, let count):
            guard feature < count else {
                json.null()
                return .notFound
            }
            let value = FeatureVector.value(feature, of: bytes)
            if value.isNaN {
                json.null()
                return .nullValue
            }
            // Counts and times are whole and in range; anything else is written as it is.
            if wholeNumbers, let integer = Int64(exactly: value) { json.integer(integer) } else { json.number(value) }
        case .batch(let bytes):
            guard feature < batchCells.count else {
                json.null()
                return .notFound
            }
            switch batchCells[feature] {
            case .null:
                json.null()
                return .nullValue
            case .double(let number): json.number(number)
            case .int(let number): json.integer(number)
            case .string(let range): json.string(utf8: UnsafeRawBufferPointer(rebasing: bytes[range]))
            case .bool(let flag): json.bool(flag)
            }
        }
        return .present
    }
}

/// Copies into memory measured beforehand (`LookupResponse.bodySize`). Writing past the memory
/// traps; `encode` checks that exactly the measured size was written.
struct BodyWriter {
    let memory: UnsafeMutableRawBufferPointer
    private(set) var count = 0

    init(memory: UnsafeMutableRawBufferPointer) { self.memory = memory }

    mutating func write(_ bytes: UnsafeRawBufferPointer) {
        precondition(bytes.count <= memory.count - count, "the body was measured shorter than it is")
        guard let source = bytes.baseAddress, let base = memory.baseAddress else { return }
        (base + count).copyMemory(from: source, byteCount: bytes.count)
        count += bytes.count
    }

    mutating func write(_ text: StaticString) {
        write(UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    mutating func write(byte: UInt8) {
        precondition(count < memory.count, "the body was measured shorter than it is")
        memory[count] = byte
        count += 1
    }
}
