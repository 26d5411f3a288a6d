import Testing
import TesseraKafka

/// The settings of the event log's consumers: one daemon runs several in its group.
@Suite struct KafkaSettingsTests {
    let shipped = ["queued.min.messages": "25000", "queued.max.messages.kbytes": "16384", "fetch.wait.max.ms": "10"]

    @Test func membersSplitTheFetchAheadBudget() {
        let member = KafkaSettings.forMember(2, of: 2, shipped)
        #expect(member == ["queued.min.messages": "12500", "queued.max.messages.kbytes": "8192", "fetch.wait.max.ms": "10"])
        #expect(KafkaSettings.forMember(1, of: 3, ["queued.min.messages": "2"]) == ["queued.min.messages": "1"])
        // Unset stays unset (librdkafka's default), and one member keeps everything as it is.
        #expect(KafkaSettings.forMember(1, of: 2, ["fetch.wait.max.ms": "10"]) == ["fetch.wait.max.ms": "10"])
        #expect(KafkaSettings.forMember(1, of: 1, shipped) == shipped)
    }

    @Test func staticMembersAfterTheFirstGetIdsOfTheirOwn() {
        let settings = ["group.instance.id": "tessera-a"]
        #expect(KafkaSettings.forMember(1, of: 2, settings)["group.instance.id"] == "tessera-a")
        #expect(KafkaSettings.forMember(2, of: 2, settings)["group.instance.id"] == "tessera-a-2")
    }
}
