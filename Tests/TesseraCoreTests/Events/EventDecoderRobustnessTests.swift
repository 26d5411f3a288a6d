import Testing
@testable import TesseraCore

/// Mutated messages must never crash the decoder, and whatever it accepts must honour the contract.
@Suite struct EventDecoderRobustnessTests {
    static let corpus: [[UInt8]] = [
        EventFixtures.minimal(),
        EventFixtures.minimal(with: #""session_id": "s-9", "query": "  Caf\u00e9 \ud83d\ude00 ", "position": 3"#),
        EventFixtures.minimal(with: #""price": 59.90, "quantity": 2e0, "x": {"a": [1, -2.5e-3, null, true, "\"\\"]}"#),
    ].map { Array($0.utf8) }

    /// Bytes that matter to the grammar, plus some that break UTF-8.
    static let interestingBytes = Array(#"{}[]":,\u0123456789eE.-+ ntf"#.utf8) + [0x00, 0x1F, 0x80, 0xC3, 0xED, 0xFF]

    @Test func mutatedMessagesAreAcceptedOnlyWhenValid() {
        var random = DemoRandom(seed: 2026)
        let decoder = EventDecoder()
        var accepted = 0
        for _ in 0..<20_000 {
            var bytes = random.element(of: Self.corpus)
            for _ in 0...random.index(below: 3) { mutate(&bytes, random: &random) }
            guard case .success(let event) = decoder.decode(bytes, nowMs: EventFixtures.nowMs) else { continue }
            accepted += 1
            for identifier in [event.eventID, event.userID, event.productID] + [event.sessionID].compactMap({ $0 }) {
                #expect((1...128).contains(identifier.utf8.count))
            }
            #expect(event.quantity >= 1)
            #expect((event.position ?? 0) >= 0)
            #expect(event.price.map { $0.isFinite && $0 >= 0 } ?? true)
            #expect(event.query.map { !$0.isEmpty && $0 == QueryNormalization.normalize($0) } ?? true)
            #expect(
                (DecodedFields.earliestTimestampMs...(EventFixtures.nowMs + decoder.futureToleranceMs))
                    .contains(event.timestampMs))
        }
        // Many mutations land in string contents or swap digits, so a share still decodes.
        #expect(accepted > 1_000)
    }

    private func mutate(_ bytes: inout [UInt8], random: inout DemoRandom) {
        guard !bytes.isEmpty else { return }
        let position = random.index(below: bytes.count)
        switch random.index(below: 4) {
        case 0: bytes[position] = random.element(of: Self.interestingBytes)
        case 1: bytes.remove(at: position)
        case 2: bytes.insert(random.element(of: Self.interestingBytes), at: position)
        default: bytes.removeLast(random.index(below: min(bytes.count, 8)))
        }
    }
}
