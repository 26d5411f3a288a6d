/// A deterministic, realistic clickstream for demos, benchmarks and tests: the same options give
/// the same messages, byte for byte (on one platform: prices and sampling go through the C maths
/// library, whose last bit may differ between platforms).
///
/// Users fall into activity segments, product popularity is Zipf-distributed, sessions walk the
/// view → click → add_to_cart → purchase funnel, and a `badRatio` share of messages is malformed
/// the way real producers get it wrong. Sessions are planned whole and handed out one event per call.
public struct ClickstreamGenerator {
    public struct Options: Sendable {
        public var seed: UInt64
        /// How far back event times reach; they end at `nowMs`.
        public var days: Double
        /// The share of malformed messages, 0...1.
        public var badRatio: Double
        public var users: Int
        public var products: Int
        /// The end of the time range, epoch milliseconds; no event is later.
        public var nowMs: Int64

        public init(
            seed: UInt64, days: Double = 7, badRatio: Double = 0.01, users: Int = 5_000, products: Int = 2_000,
            nowMs: Int64
        ) {
            self.seed = seed
            self.days = days
            self.badRatio = badRatio
            self.users = users
            self.products = products
            self.nowMs = nowMs
        }
    }

    public let options: Options
    private var random: DemoRandom
    let planner: DemoSessionPlanner
    private var session: [DemoPlannedEvent] = []
    private var nextInSession = 0
    private var sessionCount = 0
    private var eventCount = 0

    public init(options: Options) {
        precondition(options.days > 0, "days must be positive")
        precondition((0...1).contains(options.badRatio), "badRatio must be within 0...1")
        self.options = options
        var random = DemoRandom(seed: options.seed)
        planner = DemoSessionPlanner(options: options, random: &random)
        self.random = random
    }

    /// The demo catalog's product IDs (`p-1` to `p-<products>`), most popular first.
    public var productIDs: [String] { planner.catalog.productIDsByPopularity }

    /// The next message: Kafka key (the user ID) and value. Good values follow the v1 event contract.
    public mutating func next() -> (key: [UInt8], value: [UInt8], isMalformed: Bool) {
        let message = nextMessage()
        return (message.key, message.value, message.malformation != nil)
    }

    /// The next message, with the event it decodes to or the way it was spoiled.
    public mutating func nextMessage() -> DemoMessage {
        if nextInSession == session.count {
            session = planner.plan(session: sessionCount, firstEventNumber: eventCount, random: &random)
            sessionCount += 1
            eventCount += session.count
            nextInSession = 0
        }
        let planned = session[nextInSession]
        nextInSession += 1
        let key = Array(planned.event.userID.utf8)
        guard random.chance(options.badRatio) else {
            let value = planned.style.object(for: planned.event, typedQuery: planned.typedQuery).bytes
            return DemoMessage(key: key, value: value, event: planned.event, malformation: nil)
        }
        let malformation = DemoMalformation.random(using: &random)
        let value = malformation.value(
            spoiling: planned.event, typedQuery: planned.typedQuery, style: planned.style, nowMs: options.nowMs,
            random: &random)
        return DemoMessage(key: key, value: value, event: nil, malformation: malformation)
    }
}

/// One generated Kafka message.
public struct DemoMessage: Sendable {
    public var key: [UInt8]
    public var value: [UInt8]
    /// What `value` decodes to; nil when the message is malformed.
    public var event: ClickEvent?
    /// How the message was spoiled; nil when it is good.
    public var malformation: DemoMalformation?
}
