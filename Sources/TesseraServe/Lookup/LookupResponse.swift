import NIOCore
import TesseraCore
import TesseraRedis

/// The body of a lookup's answer in Feast's column-major shape. Each vector is read once where
/// it lies in Redis's reply, and each of its requested cells encoded once: a user on every row
/// is formatted once, not once per row. The three arrays of a feature column are each copied
/// into the body as one run of text wherever they can be:
/// - a view's statuses and timestamps are written once for all its columns, as its vectors
///   give them; only a column with a cell that says otherwise (a NULL_VALUE, a vector too
///   short for the feature) is put together row by row;
/// - a column's values are encoded over its view's keys, comma-separated, which are its rows
///   unless a row repeats the one before it.
/// The body is then measured exactly and put together in one buffer of that size.
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
        /// A TB1 vector's bytes; its values are `cells` of the batch cells `BatchVector.read` listed.
        case batch(UnsafeRawBufferPointer, cells: Range<Int>)

        /// What every cell of the vector's row says unless the cell itself says otherwise.
        var status: Status {
            switch self {
            case .notFound: .notFound
            case .outsideMaxAge: .outsideMaxAge
            case .stream, .batch: .present
            }
        }
    }

    /// The texts the body is copied from.
    struct Texts {
        /// Each requested feature's cells, view by view and feature by feature over the
        /// view's keys, comma-separated.
        var values: JSONWriter
        /// Per view, its rows' statuses and timestamps as its vectors give them.
        var views: [UInt8] = []
        /// Arrays put together row by row.
        var rows: [UInt8] = []
    }

    /// The text between the brackets of one of a column's arrays: a range of one of `Texts`.
    struct Run {
        enum Text { case values, views, rows }
        var text: Text
        var range: Range<Int>
    }

    struct Column {
        var values: Run
        var statuses: Run
        var stamps: Run
    }

    /// `vectors` holds the value of each of `reads.keys`, nil where Redis has none.
    public static func encode(_ plan: LookupPlan, reads: VectorReads, vectors: ByteStrings, nowMs: Int64) -> ByteBuffer {
        let cellCount = plan.columns.reduce(0) { $0 + reads.viewKeys[$1.view].count }
        var texts = Texts(values: JSONWriter(capacity: 8 * cellCount, separated: false))
        let columns = vectors.bytes.withUnsafeBytes { reply in
            let read = ReadVectors(plan, reads: reads, vectors: vectors, reply: reply, nowMs: nowMs)
            return featureColumns(plan, reads: reads, read: read, texts: &texts)
        }
        let head = Self.head(plan)
        let perColumn = valuesOpen.utf8CodeUnitCount + statusesOpen.utf8CodeUnitCount + stampsOpen.utf8CodeUnitCount
            + arrayClose.utf8CodeUnitCount
        var size = head.count + arrayClose.utf8CodeUnitCount
        for (index, column) in columns.enumerated() {
            if index > 0 || !plan.joinKeys.isEmpty { size += 1 }
            size += perColumn + column.values.range.count + column.statuses.range.count + column.stamps.range.count
        }
        var buffer = ByteBufferAllocator().buffer(capacity: size)
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: size) { memory in
            var body = BodyWriter(memory: memory)
            head.withUnsafeBytes { body.write($0) }
            texts.values.bytes.withUnsafeBytes { values in
                texts.views.withUnsafeBytes { views in
                    texts.rows.withUnsafeBytes { rows in
                        func write(_ run: Run) {
                            let text = switch run.text {
                            case .values: values
                            case .views: views
                            case .rows: rows
                            }
                            body.write(UnsafeRawBufferPointer(rebasing: text[run.range]))
                        }
                        for (index, column) in columns.enumerated() {
                            if index > 0 || !plan.joinKeys.isEmpty { body.write(byte: UInt8(ascii: ",")) }
                            body.write(valuesOpen)
                            write(column.values)
                            body.write(statusesOpen)
                            write(column.statuses)
                            body.write(stampsOpen)
                            write(column.stamps)
                            body.write(arrayClose)
                        }
                    }
                }
            }
            body.write(arrayClose)
            precondition(body.count == size, "the body was measured at \(size) bytes and is \(body.count)")
            return body.count
        }
        return buffer
    }

    /// What each key's vector says, read once for every column of its view.
    struct ReadVectors {
        var entries: [Entry] = []
        /// Quoted times, `stampWidth` bytes each; per key, the index of its own (the epoch
        /// for a vector not found).
        var stamps: [UInt8] = []
        var stampOfKey: [Int] = []
        /// The values of every batch vector, listed by `BatchVector.read`.
        var batchCells: [BatchCell] = []

        init(_ plan: LookupPlan, reads: VectorReads, vectors: ByteStrings, reply: UnsafeRawBufferPointer, nowMs: Int64) {
            let checks = plan.views.map(VectorCheck.init)
            entries.reserveCapacity(vectors.count)
            stamps.reserveCapacity(vectors.count * stampWidth)
            stampOfKey.reserveCapacity(vectors.count)
            var lastTimeMs: Int64 = 0
            for (key, viewIndex) in reads.keyViews.enumerated() {
                let bytes = vectors.range(key).map { UnsafeRawBufferPointer(rebasing: reply[$0]) }
                let (entry, timeMs) = LookupResponse.entry(bytes, check: checks[viewIndex], nowMs: nowMs, batchCells: &batchCells)
                entries.append(entry)
                // Vectors one after another often share a time (rows of one source time): format it once.
                if key == 0 || timeMs != lastTimeMs { appendStamp(timeMs, to: &stamps) }
                stampOfKey.append(stamps.count / stampWidth - 1)
                lastTimeMs = timeMs
            }
        }

        func stamp(ofKey key: Int, in stamps: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
            let start = stampOfKey[key] * stampWidth
            return UnsafeRawBufferPointer(rebasing: stamps[start..<(start + stampWidth)])
        }
    }

    /// Every feature column's three arrays, in the plan's order of columns.
    private static func featureColumns(_ plan: LookupPlan, reads: VectorReads, read: ReadVectors, texts: inout Texts) -> [Column] {
        var columns = [Column?](repeating: nil, count: plan.columns.count)
        // For the column at hand, per key of its view: where its cell lies in `texts.values`
        // (kept only when rows repeat keys) and its status (kept only from the first that
        // differs from its vector's; the ones before it are their vectors').
        var cellBounds: [Range<Int>] = [], cellStatuses: [Status] = []
        read.stamps.withUnsafeBytes { stamps in
            for viewIndex in plan.views.indices {
                let keys = reads.viewKeys[viewIndex], rows = reads.rowKeys[viewIndex]
                func rowByRow(_ appendRow: (Int, inout [UInt8]) -> Void) -> Run {
                    run(.rows, in: &texts.rows) { text in
                        for (row, key) in rows.enumerated() {
                            if row > 0 { text.append(UInt8(ascii: ",")) }
                            appendRow(key, &text)
                        }
                    }
                }
                // The statuses and times of the view's rows as its vectors give them, shared by its columns.
                let viewStatuses = run(.views, in: &texts.views) { text in
                    for (row, key) in rows.enumerated() {
                        if row > 0 { text.append(UInt8(ascii: ",")) }
                        text.append(read.entries[key].status.json)
                    }
                }
                let viewTimes = run(.views, in: &texts.views) { text in
                    for (row, key) in rows.enumerated() {
                        if row > 0 { text.append(UInt8(ascii: ",")) }
                        text.append(contentsOf: read.stamp(ofKey: key, in: stamps))
                    }
                }
                // Rows are the view's keys unless a row repeats the one before it.
                let rowsAreKeys = rows.count == keys.count
                for (columnIndex, column) in plan.columns.enumerated() where column.view == viewIndex {
                    cellBounds.removeAll(keepingCapacity: true)
                    cellStatuses.removeAll(keepingCapacity: true)
                    var statusesDiffer = false, notFoundDiffers = false
                    let valuesStart = texts.values.bytes.count
                    for key in keys {
                        if key > keys.lowerBound { texts.values.comma() }
                        let start = texts.values.bytes.count
                        let status = writeValue(
                            read.entries[key], feature: column.feature, wholeNumbers: column.wholeNumbers,
                            batchCells: read.batchCells, to: &texts.values)
                        if !rowsAreKeys { cellBounds.append(start..<texts.values.bytes.count) }
                        let vectorStatus = read.entries[key].status
                        if !statusesDiffer && status != vectorStatus {
                            statusesDiffer = true
                            cellStatuses.append(contentsOf: keys[..<key].lazy.map { read.entries[$0].status })
                        }
                        if statusesDiffer {
                            cellStatuses.append(status)
                            if status == .notFound && vectorStatus != .notFound { notFoundDiffers = true }
                        }
                    }
                    let values = rowsAreKeys
                        ? Run(text: .values, range: valuesStart..<texts.values.bytes.count)
                        : texts.values.bytes.withUnsafeBytes { cells in
                            rowByRow { key, text in text.append(contentsOf: UnsafeRawBufferPointer(rebasing: cells[cellBounds[key - keys.lowerBound]])) }
                        }
                    let statuses = !statusesDiffer ? viewStatuses : rowByRow { key, text in
                        text.append(cellStatuses[key - keys.lowerBound].json)
                    }
                    // A cell NOT_FOUND in a vector that was found shows the epoch, as a missing vector does.
                    let times = !notFoundDiffers ? viewTimes : rowByRow { key, text in
                        if cellStatuses[key - keys.lowerBound] == .notFound {
                            text.append(epochStamp)
                        } else {
                            text.append(contentsOf: read.stamp(ofKey: key, in: stamps))
                        }
                    }
                    columns[columnIndex] = Column(values: values, statuses: statuses, stamps: times)
                }
            }
        }
        return columns.map { $0! }
    }

    /// What `write` appends to `text`, as a run of it.
    private static func run(_ name: Run.Text, in text: inout [UInt8], _ write: (inout [UInt8]) -> Void) -> Run {
        let start = text.count
        write(&text)
        return Run(text: name, range: start..<text.count)
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
            let first = batchCells.count
            guard let header = try? BatchVector.read(bytes, into: &batchCells), header.layoutFingerprint == check.layoutFingerprint
            else {
                batchCells.removeSubrange(first...)
                return (.notFound, 0)
            }
            if nowMs - header.sourceTimeMs > check.ttlMs {
                batchCells.removeSubrange(first...)
                return (.outsideMaxAge, header.sourceTimeMs)
            }
            return (.batch(bytes, cells: first..<batchCells.count), header.sourceTimeMs)
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
        case .batch(let bytes, let cells):
            guard feature < cells.count else {
                json.null()
                return .notFound
            }
            switch batchCells[cells.lowerBound + feature] {
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

/// Copies into memory measured beforehand (`LookupResponse.encode`). Writing past the memory
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

extension [UInt8] {
    /// Static text such as a quoted status, with no String made for it.
    fileprivate mutating func append(_ text: StaticString) {
        append(contentsOf: UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }
}
