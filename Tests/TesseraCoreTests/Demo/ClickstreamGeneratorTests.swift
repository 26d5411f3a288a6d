import Testing
@testable import TesseraCore

@Suite struct ClickstreamGeneratorTests {
    /// 2026-11-21T12:00:00Z.
    static let nowMs: Int64 = 1_795_262_400_000
    static let options = ClickstreamGenerator.Options(seed: 7, badRatio: 0.05, nowMs: nowMs)
    /// 20 000 messages shared by the statistical tests.
    static let sample: [DemoMessage] = messages(options, count: 20_000)
    static var goodEvents: [ClickEvent] { sample.compactMap(\.event) }

    static func messages(_ options: ClickstreamGenerator.Options, count: Int) -> [DemoMessage] {
        var generator = ClickstreamGenerator(options: options)
        return (0..<count).map { _ in generator.nextMessage() }
    }

    @Test func sameSeedSameMessages() {
        let first = Self.messages(Self.options, count: 3_000)
        let second = Self.messages(Self.options, count: 3_000)
        #expect(first.map(\.value) == second.map(\.value))
        #expect(first.map(\.key) == second.map(\.key))
        var otherSeed = Self.options
        otherSeed.seed = 8
        #expect(Self.messages(otherSeed, count: 100).map(\.value) != first.prefix(100).map(\.value))
    }

    @Test func nextReportsWhatNextMessageDoes() {
        var plain = ClickstreamGenerator(options: Self.options)
        var detailed = ClickstreamGenerator(options: Self.options)
        for _ in 0..<500 {
            let message = plain.next()
            let expected = detailed.nextMessage()
            #expect(message.key == expected.key && message.value == expected.value)
            #expect(message.isMalformed == (expected.malformation != nil))
        }
    }

    @Test func goodEventsDecodeToWhatWasGenerated() throws {
        let decoder = EventDecoder()
        for message in Self.sample {
            guard let expected = message.event else { continue }
            let decoded = try decoder.decode(message.value, nowMs: Self.nowMs).get()
            #expect(decoded == expected, "\(String(decoding: message.value, as: UTF8.self))")
            #expect(message.key == Array(expected.userID.utf8))
        }
    }

    @Test func malformedShareIsCloseToBadRatio() {
        let share = Double(Self.sample.count { $0.malformation != nil }) / Double(Self.sample.count)
        #expect(abs(share - 0.05) < 0.008, "malformed share \(share)")
        let noBad = ClickstreamGenerator.Options(seed: 1, badRatio: 0, nowMs: Self.nowMs)
        #expect(Self.messages(noBad, count: 2_000).allSatisfy { $0.malformation == nil })
    }

    @Test func everyMalformationIsRejectedForItsReason() {
        let options = ClickstreamGenerator.Options(seed: 3, badRatio: 0.5, nowMs: Self.nowMs)
        let decoder = EventDecoder()
        var seen = Set<String>()
        for message in Self.messages(options, count: 6_000) {
            guard let malformation = message.malformation else { continue }
            seen.insert("\(malformation)")
            let result = decoder.decode(message.value, nowMs: Self.nowMs)
            guard case .failure(let rejection) = result else {
                Issue.record("\(malformation) was accepted: \(String(decoding: message.value, as: UTF8.self))")
                continue
            }
            #expect(rejection.reason == malformation.expectedReason, "\(malformation): \(rejection.detail)")
        }
        #expect(seen == Set(DemoMalformation.allCases.map { "\($0)" }))
    }

    @Test func funnelRatesArePlausible() {
        let counts = Dictionary(grouping: Self.goodEvents, by: \.type).mapValues(\.count)
        let views = Double(counts[.view] ?? 0)
        let clicks = Double(counts[.click] ?? 0)
        let carts = Double(counts[.addToCart] ?? 0)
        let purchases = Double(counts[.purchase] ?? 0)
        #expect((0.06...0.16).contains(clicks / views), "CTR \(clicks / views)")
        #expect((0.17...0.35).contains(carts / clicks), "cart rate \(carts / clicks)")
        #expect((0.28...0.52).contains(purchases / carts), "purchase rate \(purchases / carts)")
    }

    @Test func productPopularityHasAZipfHead() {
        var counts = [String: Int]()
        for event in Self.goodEvents { counts[event.productID, default: 0] += 1 }
        let byPopularity = ClickstreamGenerator(options: Self.options).productIDs
        #expect(Set(byPopularity) == Set((1...Self.options.products).map { "p-\($0)" }))

        let head = byPopularity.prefix(byPopularity.count / 100).map { counts[$0, default: 0] }
        let headMean = Double(head.reduce(0, +)) / Double(head.count)
        let median = Double(byPopularity.map { counts[$0, default: 0] }.sorted()[byPopularity.count / 2])
        #expect(headMean > 20 * max(median, 1), "top 1 % mean \(headMean), median \(median)")
        let headShare = Double(head.reduce(0, +)) / Double(Self.goodEvents.count)
        #expect(headShare > 0.1, "top 1 % share \(headShare)")
    }

    @Test func heavyUsersMakeMuchOfTheTraffic() {
        var counts = [String: Int]()
        for event in Self.goodEvents { counts[event.userID, default: 0] += 1 }
        let sorted = counts.values.sorted(by: >)
        let topFivePercentOfUsers = sorted.prefix(Self.options.users / 20).reduce(0, +)
        #expect(Double(topFivePercentOfUsers) / Double(Self.goodEvents.count) > 0.25)
    }

    @Test func eventTimesFillThePastWindowAndRiseWithinASession() {
        let windowStart = Self.nowMs - 7 * 86_400_000
        let times = Self.goodEvents.map(\.timestampMs)
        #expect(times.allSatisfy { (windowStart...Self.nowMs).contains($0) })
        #expect(times.contains { $0 < windowStart + 86_400_000 })
        #expect(times.contains { $0 > Self.nowMs - 86_400_000 })
        var lastTimeBySession = [String: Int64]()
        for event in Self.goodEvents {
            guard let session = event.sessionID else { continue }
            #expect(event.timestampMs >= lastTimeBySession[session, default: 0])
            lastTimeBySession[session] = event.timestampMs
        }
    }

    @Test func fieldValuesStayInTheirRanges() {
        let events = Self.goodEvents
        let prices = events.compactMap(\.price)
        #expect(prices.allSatisfy { (2...500).contains($0) && ($0 * 100).rounded() / 100 == $0 }, "whole cents")
        #expect(events.allSatisfy { (0...49).contains($0.position ?? 0) })
        #expect(events.allSatisfy { $0.quantity >= 1 })
        #expect(Double(events.count { $0.quantity == 1 }) / Double(events.count) > 0.95)
        #expect(events.contains { $0.sessionID == nil })
        #expect(events.allSatisfy { $0.type != .purchase || $0.price != nil })
    }

    @Test func queriesNeedNormalising() {
        let withQuery = Self.sample.filter { $0.event?.query != nil }
        let withoutQuery = Self.goodEvents.count - withQuery.count
        #expect(withoutQuery > Self.goodEvents.count / 5)
        // A query written exactly in its canonical form appears verbatim in the value; the rest
        // differ by case, spacing or \u escapes and only match after normalising.
        let verbatim = withQuery.count { message in
            let member = Array("\"query\": ".utf8) + DemoJSON.string(message.event!.query!)
            return message.value.firstRange(of: member) != nil
        }
        #expect(Double(verbatim) / Double(withQuery.count) < 0.8)
        #expect(Set(withQuery.compactMap(\.event?.query)).count > 60)
    }
}
