/// One schema change: the file `NNNN_name.sql`, applied once and recorded with the
/// SHA-256 of its bytes, so a file edited after it ran is noticed.
public struct Migration: Sendable {
    public var version: Int
    public var name: String
    public var sql: String
    /// SHA-256 of the file's bytes, lowercase hex.
    public var checksum: String

    /// `0001_event_log`: the file name without `.sql`.
    public var label: String {
        let digits = String(version)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits + "_" + name
    }

    public var fileName: String { label + ".sql" }

    /// Reads `NNNN_name.sql`: four digits (from 0001), an underscore, then lowercase
    /// letters, digits and underscores. Nil for any other name.
    static func parseFileName(_ fileName: String) -> (version: Int, name: String)? {
        guard fileName.hasSuffix(".sql") else { return nil }
        let stem = fileName.dropLast(".sql".count)
        let digits = stem.prefix(4)
        let rest = stem.dropFirst(4)
        guard digits.count == 4, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let version = Int(digits), version > 0,
              rest.first == "_", rest.count > 1,
              rest.dropFirst().allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "_") })
        else { return nil }
        return (version, String(rest.dropFirst()))
    }
}

/// A migration problem: a bad file, a changed file, a database ahead of or behind the files.
public struct MigrationError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
