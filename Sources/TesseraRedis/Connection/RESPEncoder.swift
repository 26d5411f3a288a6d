import TesseraCore

/// Commands in Redis's wire format (RESP: an array of bulk strings), formatted here into
/// one buffer that hiredis queues as it is (`redisAppendFormattedCommand`). hiredis's own
/// argv formatting builds each command piece by piece with `sdscatfmt`, and the online
/// path sends thousands of script calls a batch.
enum RESPEncoder {
    /// `*<count>\r\n`, then `$<length>\r\n<bytes>\r\n` per argument. A `name` goes first when
    /// given, so the lookup's packed keys become an MGET without being copied behind it.
    static func append(_ arguments: ByteStrings, after name: StaticString? = nil, to buffer: inout [UInt8]) {
        buffer.append(UInt8(ascii: "*"))
        DecimalText.append(Int64(arguments.count + (name == nil ? 0 : 1)), to: &buffer)
        buffer.append(contentsOf: crlf)
        name?.withUTF8Buffer { appendBulk($0, to: &buffer) }
        for index in 0..<arguments.count {
            guard let argument = arguments[index] else { preconditionFailure("a command argument is missing") }
            appendBulk(argument, to: &buffer)
        }
    }

    private static func appendBulk(_ argument: some Collection<UInt8>, to buffer: inout [UInt8]) {
        buffer.append(UInt8(ascii: "$"))
        DecimalText.append(Int64(argument.count), to: &buffer)
        buffer.append(contentsOf: crlf)
        buffer.append(contentsOf: argument)
        buffer.append(contentsOf: crlf)
    }

    private static let crlf: [UInt8] = [UInt8(ascii: "\r"), UInt8(ascii: "\n")]
}
