import TesseraCore

/// Commands in Redis's wire format (RESP: an array of bulk strings), formatted here into
/// one buffer that hiredis queues as it is (`redisAppendFormattedCommand`). hiredis's own
/// argv formatting builds each command piece by piece with `sdscatfmt`, and the online
/// path sends thousands of script calls a batch.
enum RESPEncoder {
    /// `*<count>\r\n`, then `$<length>\r\n<bytes>\r\n` per argument.
    static func append(_ command: ByteStrings, to buffer: inout [UInt8]) {
        buffer.append(UInt8(ascii: "*"))
        DecimalText.append(Int64(command.count), to: &buffer)
        buffer.append(contentsOf: crlf)
        for index in 0..<command.count {
            guard let argument = command[index] else { preconditionFailure("a command argument is missing") }
            buffer.append(UInt8(ascii: "$"))
            DecimalText.append(Int64(argument.count), to: &buffer)
            buffer.append(contentsOf: crlf)
            buffer.append(contentsOf: argument)
            buffer.append(contentsOf: crlf)
        }
    }

    private static let crlf: [UInt8] = [UInt8(ascii: "\r"), UInt8(ascii: "\n")]
}
