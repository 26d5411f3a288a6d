import Foundation

/// Reads RFC 4180 CSV records one at a time from a file, so a spine of any size is read
/// in bounded memory. Quoted fields may hold commas, doubled quotes and line breaks;
/// lines end with LF or CRLF. A UTF-8 byte-order mark at the start is skipped.
final class CSVReader {
    struct Record {
        /// The line the record starts on, from 1, for error messages.
        var line: Int
        var fields: [String]
    }

    private let file: FileHandle
    private let path: String
    private var buffer: [UInt8] = []
    private var position = 0
    private var atEnd = false
    private var line = 1

    init(path: String) throws {
        guard let file = FileHandle(forReadingAtPath: path) else { throw CSVError(path: path, line: nil, problem: "cannot open the file") }
        self.file = file
        self.path = path
        if peek() == 0xEF { skipByteOrderMark() }
    }

    deinit { try? file.close() }

    /// The next record, or nil at the end of the file. Blank lines are skipped.
    func next() throws -> Record? {
        while true {
            guard peek() != nil else { return nil }
            let start = line
            var fields: [String] = []
            var field: [UInt8] = []
            var quoted = false
            var wasQuoted = false
            while true {
                guard let byte = take() else {
                    if quoted { throw CSVError(path: path, line: start, problem: "a quoted field is not closed") }
                    fields.append(String(decoding: field, as: UTF8.self))
                    break
                }
                if quoted {
                    if byte == UInt8(ascii: "\"") {
                        if peek() == UInt8(ascii: "\"") { _ = take(); field.append(byte) } else { quoted = false }
                    } else {
                        if byte == UInt8(ascii: "\n") { line += 1 }
                        field.append(byte)
                    }
                    continue
                }
                if byte == UInt8(ascii: ",") {
                    fields.append(String(decoding: field, as: UTF8.self))
                    field.removeAll(keepingCapacity: true)
                    wasQuoted = false
                } else if byte == UInt8(ascii: "\n") || (byte == UInt8(ascii: "\r") && peek() == UInt8(ascii: "\n")) {
                    if byte == UInt8(ascii: "\r") { _ = take() }
                    line += 1
                    fields.append(String(decoding: field, as: UTF8.self))
                    break
                } else if byte == UInt8(ascii: "\"") && field.isEmpty && !wasQuoted {
                    quoted = true
                    wasQuoted = true
                } else if wasQuoted {
                    throw CSVError(path: path, line: line, problem: "text after a closing quote (a quote inside a quoted field is written \"\")")
                } else {
                    field.append(byte)
                }
            }
            if fields == [""] { continue }
            return Record(line: start, fields: fields)
        }
    }

    private func peek() -> UInt8? {
        if position == buffer.count { refill() }
        return position < buffer.count ? buffer[position] : nil
    }

    private func take() -> UInt8? {
        guard let byte = peek() else { return nil }
        position += 1
        return byte
    }

    private func refill() {
        guard !atEnd else { return }
        let data = file.readData(ofLength: 1 << 16)
        buffer = [UInt8](data)
        position = 0
        atEnd = data.isEmpty
    }

    private func skipByteOrderMark() {
        if buffer.count >= 3, buffer[0..<3].elementsEqual([0xEF, 0xBB, 0xBF]) { position = 3 }
    }
}

/// A file that is not valid CSV, or a record that does not fit: `<file> line <n>: <problem>`.
public struct CSVError: Error, CustomStringConvertible, Sendable {
    public var path: String
    public var line: Int?
    public var problem: String
    public var description: String { line.map { "\(path) line \($0): \(problem)" } ?? "\(path): \(problem)" }
}
