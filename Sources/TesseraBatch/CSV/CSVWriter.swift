import Foundation

/// Writes CSV records to a file through a buffer. The file appears under its name only
/// when `finish()` succeeds, so a failed run never leaves half an output behind.
final class CSVWriter {
    private let path: String
    private let partialPath: String
    private let file: FileHandle
    private var buffer: [UInt8] = []
    private var finished = false

    init(path: String) throws {
        self.path = path
        partialPath = "\(path).partial"
        guard FileManager.default.createFile(atPath: partialPath, contents: nil), let file = FileHandle(forWritingAtPath: partialPath) else {
            throw CSVError(path: path, line: nil, problem: "cannot create the file")
        }
        self.file = file
    }

    deinit {
        try? file.close()
        if !finished { try? FileManager.default.removeItem(atPath: partialPath) }
    }

    func write(_ fields: [String]) throws {
        for (index, field) in fields.enumerated() {
            if index > 0 { buffer.append(UInt8(ascii: ",")) }
            Self.append(field, to: &buffer)
        }
        buffer.append(UInt8(ascii: "\n"))
        if buffer.count >= 1 << 16 { try flush() }
    }

    func finish() throws {
        try flush()
        try file.synchronize()
        try file.close()
        if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
        try FileManager.default.moveItem(atPath: partialPath, toPath: path)
        finished = true
    }

    private func flush() throws {
        guard !buffer.isEmpty else { return }
        try file.write(contentsOf: buffer)
        buffer.removeAll(keepingCapacity: true)
    }

    /// Quotes a field only when it must: it holds a comma, a quote or a line break.
    private static func append(_ field: String, to buffer: inout [UInt8]) {
        let needsQuotes = field.utf8.contains { $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\"") || $0 == 0x0A || $0 == 0x0D }
        guard needsQuotes else { buffer.append(contentsOf: field.utf8); return }
        buffer.append(UInt8(ascii: "\""))
        for byte in field.utf8 {
            if byte == UInt8(ascii: "\"") { buffer.append(byte) }
            buffer.append(byte)
        }
        buffer.append(UInt8(ascii: "\""))
    }
}
