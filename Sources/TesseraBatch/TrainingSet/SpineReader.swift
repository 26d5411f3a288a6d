import Foundation
import TesseraCore

/// Reads a training-set spine: a CSV file with a header naming a `timestamp` column
/// (RFC 3339 or epoch milliseconds), the join-key columns of the requested views (e.g.
/// `product_id`, `user_id`, `query`), and any other columns (labels), passed through.
/// Bad rows stop the read with the file, the line and what is wrong.
final class SpineReader {
    struct Row {
        /// Every column as written, for the output.
        var fields: [String]
        var target: RecomputeTarget
    }

    let header: [String]
    private let reader: CSVReader
    private let path: String
    private let timestampColumn: Int
    private let keyColumns: [(field: EventField, column: Int)]

    init(path: String, joinKeys: [EventField]) throws(TrainingSetError) {
        self.path = path
        do {
            let reader = try CSVReader(path: path)
            guard let first = try reader.next() else { throw CSVError(path: path, line: nil, problem: "the file is empty (expected a header)") }
            let header = first.fields
            for (index, name) in header.enumerated() where header[..<index].contains(name) {
                throw CSVError(path: path, line: first.line, problem: "column '\(name)' appears twice in the header")
            }
            func column(_ name: String) throws -> Int {
                guard let index = header.firstIndex(of: name) else {
                    throw CSVError(path: path, line: first.line, problem: "the header has no '\(name)' column (it has: \(header.joined(separator: ", ")))")
                }
                return index
            }
            timestampColumn = try column("timestamp")
            keyColumns = try joinKeys.map { ($0, try column($0.rawValue)) }
            self.reader = reader
            self.header = header
        } catch let error as CSVError {
            throw .badSpine(error)
        } catch {
            throw .badSpine(CSVError(path: path, line: nil, problem: "\(error)"))
        }
    }

    /// Up to `limit` rows; fewer only at the end of the file.
    func next(limit: Int) throws(TrainingSetError) -> [Row] {
        var rows: [Row] = []
        do {
            while rows.count < limit, let record = try reader.next() {
                rows.append(try row(record))
            }
        } catch let error as CSVError {
            throw .badSpine(error)
        } catch {
            throw .badSpine(CSVError(path: path, line: nil, problem: "\(error)"))
        }
        return rows
    }

    private func row(_ record: CSVReader.Record) throws -> Row {
        func bad(_ problem: String) -> CSVError { CSVError(path: path, line: record.line, problem: problem) }
        guard record.fields.count == header.count else {
            throw bad("\(record.fields.count) fields, but the header has \(header.count)")
        }
        let text = record.fields[timestampColumn]
        guard let timeMs = Self.epochMilliseconds(text) else {
            throw bad("timestamp '\(text)' is neither RFC 3339 (2026-11-21T10:15:30Z) nor epoch milliseconds")
        }
        guard Self.supportedTimes.contains(timeMs) else { throw bad("timestamp '\(text)' is outside the years 1 to 9999") }
        var keys: [EventField: String] = [:]
        for (field, column) in keyColumns {
            let value = record.fields[column]
            // Queries are keys as events normalise them; ids are taken as they are.
            let key = field == .query ? QueryNormalization.normalize(value) : value
            guard let key, !key.isEmpty else { throw bad("\(field.rawValue) is empty") }
            keys[field] = key
        }
        return Row(fields: record.fields, target: RecomputeTarget(keys: keys, nowMs: timeMs))
    }

    /// Years 1 to 9999, what RFC 3339 and PostgreSQL's timestamptz both write.
    static let supportedTimes: ClosedRange<Int64> = -62_135_596_800_000...253_402_300_799_999

    /// Integer epoch milliseconds, or an RFC 3339 date-time.
    static func epochMilliseconds(_ text: String) -> Int64? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        return Int64(trimmed) ?? RFC3339.epochMilliseconds(trimmed)
    }
}
