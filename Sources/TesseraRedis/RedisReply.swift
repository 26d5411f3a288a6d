/// A Redis reply copied out of hiredis into plain Swift values.
public enum RedisReply: Sendable, Equatable {
    /// Bulk strings and status replies.
    case bytes([UInt8])
    case integer(Int64)
    case array([RedisReply])
    case null
    case error(String)

    public var string: String? {
        if case .bytes(let bytes) = self { return String(decoding: bytes, as: UTF8.self) }
        return nil
    }

    public var integer: Int64? {
        switch self {
        case .integer(let value): value
        case .bytes(let bytes): Int64(String(decoding: bytes, as: UTF8.self))
        default: nil
        }
    }

    public var array: [RedisReply]? {
        if case .array(let items) = self { return items }
        return nil
    }

    public var errorMessage: String? {
        if case .error(let message) = self { return message }
        return nil
    }
}

public struct RedisError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { "redis: \(message)" }
}
