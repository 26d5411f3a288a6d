import Testing
@testable import TesseraRedis

/// The RESP reader against replies cut at every byte, as they arrive from a socket.
@Suite struct RESPReaderTests {
    static func strings(_ text: [UInt8]) throws -> (Result<ByteStrings, RedisError>, consumed: Int)? {
        try text.withUnsafeBytes { try RESPReader.strings(in: $0) }
    }

    static func reply(_ text: [UInt8]) throws -> (RedisReply, consumed: Int)? {
        try text.withUnsafeBytes { try RESPReader.reply(in: $0) }
    }

    /// An MGET reply of a plain value, an empty one, a missing key and binary bytes (CRLF and
    /// non-UTF-8 inside a value).
    static let mgetReply = Array("*4\r\n$5\r\nhello\r\n$0\r\n\r\n$-1\r\n$4\r\n".utf8) + [0x00, 0xFF, 0x0D, 0x0A] + Array("\r\n".utf8)

    @Test func anMGETReplyIsReadOnlyOnceWholeAndWhateverFollowsIsLeft() throws {
        for cut in 0..<Self.mgetReply.count {
            #expect(try Self.strings(Array(Self.mgetReply.prefix(cut))) == nil, "read at \(cut) of \(Self.mgetReply.count) bytes")
        }
        let next = Array("*1\r\n$1\r\n".utf8)
        let (result, consumed) = try #require(try Self.strings(Self.mgetReply + next))
        #expect(consumed == Self.mgetReply.count)
        let values = try result.get()
        #expect(values.count == 4)
        #expect(values[0].map(Array.init) == Array("hello".utf8))
        #expect(values[1].map(Array.init) == [])
        #expect(values[2] == nil)
        #expect(values[3].map(Array.init) == [0x00, 0xFF, 0x0D, 0x0A])
    }

    @Test func anErrorReplyToAnMGETFailsItWithRedisMessage() throws {
        let text = Array("-NOAUTH Authentication required.\r\n".utf8)
        for cut in 0..<text.count { #expect(try Self.strings(Array(text.prefix(cut))) == nil) }
        let (result, consumed) = try #require(try Self.strings(text))
        #expect(consumed == text.count)
        let error = #expect(throws: RedisError.self) { try result.get() }
        #expect(error?.message == "MGET failed: NOAUTH Authentication required.")
    }

    @Test func bytesThatAreNotAnMGETReplyThrow() {
        for text in ["+OK\r\n", "*1\r\n:5\r\n", "*1\r\n$x\r\n", "*1\r\n$-2\r\n", "*1\r\n$2\rab\r\n", "*abc\r\n"] {
            #expect(throws: RedisError.self, "\(text.debugDescription)") { try Self.strings(Array(text.utf8)) }
        }
    }

    @Test func repliesOfEveryKindCutAtEveryByte() throws {
        let cases: [(String, RedisReply)] = [
            ("+PONG\r\n", .bytes(Array("PONG".utf8))),
            ("-ERR unknown command\r\n", .error("ERR unknown command")),
            (":-42\r\n", .integer(-42)),
            ("$-1\r\n", .null),
            ("$3\r\na\r\n\r\n", .bytes(Array("a\r\n".utf8))),
            ("*-1\r\n", .null),
            ("*3\r\n:1\r\n*2\r\n+a\r\n$-1\r\n$0\r\n\r\n", .array([.integer(1), .array([.bytes(Array("a".utf8)), .null]), .bytes([])])),
            (":12345678901234567890\r\n", .integer(0)),
        ]
        for (text, expected) in cases.dropLast() {
            let bytes = Array(text.utf8)
            for cut in 0..<bytes.count { #expect(try Self.reply(Array(bytes.prefix(cut))) == nil, "\(text.debugDescription) at \(cut)") }
            let (reply, consumed) = try #require(try Self.reply(bytes + Array("+next\r\n".utf8)))
            #expect(reply == expected)
            #expect(consumed == bytes.count)
        }
        // Past Int64: not silently wrapped.
        #expect(throws: RedisError.self) { try Self.reply(Array(cases.last!.0.utf8)) }
        #expect(try Self.reply(Array(":9223372036854775807\r\n".utf8))?.0 == .integer(Int64.max))
    }
}
