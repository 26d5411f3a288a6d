import Testing
@testable import TesseraRedis

@Suite struct RESPEncoderTests {
    /// An array of bulk strings, each length-prefixed: empty and binary arguments included.
    @Test func commandsAreFramedAsBulkStrings() {
        var buffer: [UInt8] = [9]
        RESPEncoder.append(ByteStrings(arguments: [Array("SET".utf8), [], [0, 13, 10, 255]]), to: &buffer)
        #expect(buffer == [9] + Array("*3\r\n$3\r\nSET\r\n$0\r\n\r\n$4\r\n".utf8) + [0, 13, 10, 255] + Array("\r\n".utf8))
    }

    /// The lookup's MGET: the name goes first, then the packed keys.
    @Test func aNameGoesBeforeThePackedArguments() {
        var buffer: [UInt8] = []
        RESPEncoder.append(ByteStrings(arguments: ["k1", ""]), after: "MGET", to: &buffer)
        #expect(buffer == Array("*3\r\n$4\r\nMGET\r\n$2\r\nk1\r\n$0\r\n\r\n".utf8))
    }
}
