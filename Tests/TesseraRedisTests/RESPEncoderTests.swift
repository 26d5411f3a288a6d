import Testing
@testable import TesseraRedis

@Suite struct RESPEncoderTests {
    /// An array of bulk strings, each length-prefixed: empty and binary arguments included.
    @Test func commandsAreFramedAsBulkStrings() {
        var buffer: [UInt8] = [9]
        RESPEncoder.append(ByteStrings(arguments: [Array("SET".utf8), [], [0, 13, 10, 255]]), to: &buffer)
        #expect(buffer == [9] + Array("*3\r\n$3\r\nSET\r\n$0\r\n\r\n$4\r\n".utf8) + [0, 13, 10, 255] + Array("\r\n".utf8))
    }
}
