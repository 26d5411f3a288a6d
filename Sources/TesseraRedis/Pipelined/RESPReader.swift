/// Reads RESP2 replies (Redis's wire format) out of the bytes received so far. Each read
/// returns nil while its reply has not all arrived, and how many bytes it took once it has.
/// Bytes that are not RESP throw: the connection is out of step and must be closed.
enum RESPReader {
    /// One reply of any kind, copied into plain values.
    static func reply(in bytes: UnsafeRawBufferPointer) throws(RedisError) -> (RedisReply, consumed: Int)? {
        var cursor = Cursor(bytes: bytes)
        guard let reply = try cursor.reply() else { return nil }
        return (reply, cursor.position)
    }

    /// The reply to an MGET: its bulk strings packed into one buffer, nil where a key has no
    /// value (or holds another type), without a value per element. An error reply comes back
    /// as `.failure` with Redis's message.
    static func strings(in bytes: UnsafeRawBufferPointer) throws(RedisError) -> (Result<ByteStrings, RedisError>, consumed: Int)? {
        var cursor = Cursor(bytes: bytes)
        guard let type = cursor.next() else { return nil }
        switch type {
        case UInt8(ascii: "*"):
            guard let count = try cursor.integerLine() else { return nil }
            guard count >= 0 else { return (.success(ByteStrings()), cursor.position) }
            // The array is checked whole before anything is copied: a reply is read again from its
            // start as more of it arrives.
            let start = cursor.position
            var valueBytes = 0
            for _ in 0..<count {
                guard let length = try cursor.bulkLength() else { return nil }
                // A nil ($-1) has no bytes and no CRLF after them.
                guard length >= 0 else { continue }
                guard cursor.skip(length) else { return nil }
                valueBytes += length
            }
            let consumed = cursor.position
            cursor.position = start
            var values = ByteStrings(reservingCount: Int(count), bytes: valueBytes)
            for _ in 0..<count {
                // Both known to be there from the pass above.
                let length = try cursor.bulkLength()!
                if length < 0 {
                    values.appendNil()
                } else {
                    values.append(UnsafeRawBufferPointer(rebasing: bytes[cursor.position..<(cursor.position + length)]))
                    _ = cursor.skip(length)
                }
            }
            return (.success(values), consumed)
        case UInt8(ascii: "-"):
            guard let line = try cursor.line() else { return nil }
            return (.failure(RedisError("MGET failed: \(String(decoding: line, as: UTF8.self))")), cursor.position)
        default:
            throw RedisError("an MGET was answered with a reply of type \(describe(type)), not an array")
        }
    }

    /// A type byte for an error message: the character if printable, else its value.
    private static func describe(_ byte: UInt8) -> String {
        (0x21...0x7E).contains(byte) ? "'\(Character(Unicode.Scalar(byte)))'" : "byte \(byte)"
    }

    private struct Cursor {
        let bytes: UnsafeRawBufferPointer
        var position = 0

        mutating func next() -> UInt8? {
            guard position < bytes.count else { return nil }
            defer { position += 1 }
            return bytes[position]
        }

        /// The bytes up to the next CRLF, which is skipped.
        mutating func line() throws(RedisError) -> UnsafeRawBufferPointer? {
            var end = position
            while end + 1 < bytes.count {
                if bytes[end] == UInt8(ascii: "\r") {
                    guard bytes[end + 1] == UInt8(ascii: "\n") else { throw RedisError("a reply line ends in CR without LF") }
                    let line = UnsafeRawBufferPointer(rebasing: bytes[position..<end])
                    position = end + 2
                    return line
                }
                end += 1
            }
            return nil
        }

        mutating func integerLine() throws(RedisError) -> Int? {
            guard let line = try line() else { return nil }
            // Parsed by hand: a String per line would be one for every value of an MGET.
            let negative = line.first == UInt8(ascii: "-")
            let digits = negative ? UnsafeRawBufferPointer(rebasing: line.dropFirst()) : line
            func notInteger() -> RedisError { RedisError("'\(String(decoding: line.prefix(32), as: UTF8.self))' is not a RESP integer") }
            guard !digits.isEmpty, digits.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) else { throw notInteger() }
            // Up to 18 digits cannot overflow; longer ones are left to the standard parser.
            guard digits.count <= 18 else {
                guard let value = Int(String(decoding: line, as: UTF8.self)) else { throw notInteger() }
                return value
            }
            let value = digits.reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) }
            return negative ? -value : value
        }

        /// `$<length>` of a bulk string (-1: nil); what follows is its bytes and a CRLF.
        mutating func bulkLength() throws(RedisError) -> Int? {
            guard let type = next() else { return nil }
            guard type == UInt8(ascii: "$") else {
                throw RedisError("an array element of type \(RESPReader.describe(type)) where a bulk string was expected")
            }
            guard let length = try integerLine() else { return nil }
            guard length >= -1, length <= 512 * 1024 * 1024 else { throw RedisError("a bulk string of length \(length)") }
            return length
        }

        /// Moves past `count` bytes and their CRLF, if all have arrived.
        mutating func skip(_ count: Int) -> Bool {
            guard bytes.count - position >= count + 2 else { return false }
            position += count + 2
            return true
        }

        mutating func reply() throws(RedisError) -> RedisReply? {
            guard let type = next() else { return nil }
            switch type {
            case UInt8(ascii: "+"):
                return try line().map { .bytes(Array($0)) }
            case UInt8(ascii: "-"):
                return try line().map { .error(String(decoding: $0, as: UTF8.self)) }
            case UInt8(ascii: ":"):
                return try integerLine().map { .integer(Int64($0)) }
            case UInt8(ascii: "$"):
                guard let length = try integerLine() else { return nil }
                guard length >= 0 else { return .null }
                let start = position
                guard skip(length) else { return nil }
                return .bytes(Array(UnsafeRawBufferPointer(rebasing: bytes[start..<(start + length)])))
            case UInt8(ascii: "*"):
                guard let count = try integerLine() else { return nil }
                guard count >= 0 else { return .null }
                var items: [RedisReply] = []
                items.reserveCapacity(count)
                for _ in 0..<count {
                    guard let item = try reply() else { return nil }
                    items.append(item)
                }
                return .array(items)
            default:
                throw RedisError("a reply of unknown type \(RESPReader.describe(type))")
            }
        }
    }
}
