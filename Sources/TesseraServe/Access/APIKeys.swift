import Crypto
import Foundation

/// What a key may do: `lookup` reads features; `admin` also reads /metrics.
public enum APIScope: String, Sendable, CaseIterable {
    case lookup, admin

    func allows(_ required: APIScope) -> Bool { self == .admin || required == .lookup }
}

/// API keys as the keys file holds them: only SHA-256 hashes, one key a line:
/// `<sha256 hex> <scope> <name> <created, RFC 3339>`; `#` starts a comment.
public struct APIKeyStore: Sendable {
    public struct Entry: Sendable, Equatable {
        public var hash: String
        public var scope: APIScope
        public var name: String
        public var created: String
    }

    public let entries: [Entry]
    private let scopesByHash: [String: APIScope]

    public init(fileContents: String, file: String) throws {
        var entries: [Entry] = []
        for (number, line) in fileContents.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard let first = fields.first, !first.hasPrefix("#") else { continue }
            guard fields.count == 4, first.count == 64, first.allSatisfy(\.isHexDigit), let scope = APIScope(rawValue: String(fields[1])) else {
                throw APIKeyFileError(message: "\(file):\(number + 1): expected '<sha256 hex> <lookup|admin> <name> <created>'")
            }
            entries.append(Entry(hash: first.lowercased(), scope: scope, name: String(fields[2]), created: String(fields[3])))
        }
        self.entries = entries
        scopesByHash = Dictionary(entries.map { ($0.hash, $0.scope) }, uniquingKeysWith: { first, _ in first })
    }

    /// The entry a presented key matches, if any.
    public func entry(forKey key: String) -> Entry? {
        let hash = Self.hash(key)
        guard scopesByHash[hash] != nil else { return nil }
        return entries.first { $0.hash == hash }
    }

    public static func hash(_ key: String) -> String {
        SHA256.hash(data: Data(key.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// A new random key (256 bits) and the line that records its hash; the key itself is
    /// shown once and stored nowhere.
    public static func newKey(scope: APIScope, name: String, created: String) -> (key: String, line: String) {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let key = "tsk_" + bytes.map { String(format: "%02x", $0) }.joined()
        return (key, "\(hash(key)) \(scope.rawValue) \(name) \(created)")
    }
}

public struct APIKeyFileError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var description: String { message }
}
