import Foundation  // pow

/// One event of a planned session, with what the producer will write for it.
struct DemoPlannedEvent {
    var event: ClickEvent
    /// The query as typed; it normalises to `event.query`.
    var typedQuery: String?
    var style: DemoProducerStyle
}

/// Plans sessions: a user looks at a list of products (search results or a category page),
/// clicks a few, puts some in the cart and buys some of those at the end.
struct DemoSessionPlanner {
    /// Funnel base rates, before position bias, product appeal and session intent; they land
    /// near CTR 10 %, 25 % of clicks carted, 40 % of carts bought.
    static let clickRateAtTop = 0.18
    static let clickRateDecayPerPosition = 0.93
    static let cartRatePerClick = 0.22
    static let purchaseRatePerCart = 0.34
    static let searchSessionShare = 0.65
    static let typoRate = 0.08
    static let lastPosition = 49

    let catalog: DemoCatalog
    let users: DemoUsers
    /// Each phrase always shows the same results, so query and product statistics mean something.
    let resultsByPhrase: [[Int]]
    let nowMs: Int64
    let windowMs: Int64
    let idTag: String

    init(options: ClickstreamGenerator.Options, random: inout DemoRandom) {
        catalog = DemoCatalog(productCount: options.products, random: &random)
        users = DemoUsers(userCount: options.users, random: &random)
        var results: [[Int]] = []
        for _ in DemoQueries.phrases { results.append(catalog.searchResults(using: &random)) }
        resultsByPhrase = results
        nowMs = options.nowMs
        windowMs = Int64(options.days * Double(CivilCalendar.millisecondsPerDay))
        idTag = String(options.seed, radix: 16)
    }

    /// The events of session number `session`, in time order; event IDs count on from `firstEventNumber`.
    func plan(session: Int, firstEventNumber: Int, random: inout DemoRandom) -> [DemoPlannedEvent] {
        let user = users.sessionUser(using: &random)
        let style = DemoProducerStyle.random(using: &random)
        let sessionID = random.chance(0.97) ? "s-\(idTag)-\(session)" : nil
        // Session intent scales click and cart rates: some visitors are just browsing.
        let intent = 0.5 + random.unit()

        var query: (canonical: String, typed: String)?
        var results: [Int]?
        var firstPosition = random.index(below: 10)
        if random.chance(Self.searchSessionShare) {
            let phrase = random.index(below: DemoQueries.phrases.count)
            var canonical = DemoQueries.phrases[phrase]
            if random.chance(Self.typoRate) { canonical = DemoQueries.withTypo(canonical, using: &random) }
            query = (canonical, DemoQueries.typedVariant(of: canonical, using: &random))
            results = resultsByPhrase[phrase]
            firstPosition = random.chance(0.8) ? 0 : 10 * random.integer(in: 1...2)
        }

        let meanViews = users.segments[user].meanViewsPerSession
        let viewCount = min(1 + Int(random.exponential(mean: meanViews - 1)), Self.lastPosition + 1 - firstPosition)
        var steps: [(offsetMs: Int64, type: EventType, product: Int, position: Int64, quantity: Int64)] = []
        var carted: [(product: Int, position: Int64, quantity: Int64)] = []
        var clockMs: Int64 = 0
        func wait(atLeastSeconds minimum: Double, meanExtraSeconds: Double) {
            clockMs += Int64((minimum + random.exponential(mean: meanExtraSeconds)) * 1_000)
        }

        for offset in 0..<viewCount {
            let position = firstPosition + offset
            let product = results.map { $0[position % $0.count] } ?? catalog.popularProduct(using: &random)
            wait(atLeastSeconds: 1, meanExtraSeconds: 6)
            steps.append((clockMs, .view, product, Int64(position), 1))
            let appeal = catalog.appeal[product] * intent
            let clickRate = Self.clickRateAtTop * pow(Self.clickRateDecayPerPosition, Double(position)) * appeal
            guard random.chance(clickRate) else { continue }
            wait(atLeastSeconds: 2, meanExtraSeconds: 8)
            steps.append((clockMs, .click, product, Int64(position), 1))
            guard random.chance(min(Self.cartRatePerClick * appeal, 0.9)) else { continue }
            wait(atLeastSeconds: 10, meanExtraSeconds: 40)
            let quantity: Int64 = random.chance(0.85) ? 1 : random.chance(0.67) ? 2 : Int64(random.integer(in: 3...5))
            steps.append((clockMs, .addToCart, product, Int64(position), quantity))
            carted.append((product, Int64(position), quantity))
        }
        // Checkout comes at the end of the session.
        for item in carted where random.chance(min(Self.purchaseRatePerCart * intent, 0.9)) {
            wait(atLeastSeconds: 30, meanExtraSeconds: 90)
            steps.append((clockMs, .purchase, item.product, item.position, item.quantity))
        }

        let startMs = sessionStart(spanMs: clockMs, random: &random)
        return steps.enumerated().map { number, step in
            let isFunnelTail = step.type == .addToCart || step.type == .purchase
            // Carts and purchases carry the search query only when the client attributes them.
            let carriesQuery = query != nil && (!isFunnelTail || random.chance(0.5))
            let event = ClickEvent(
                eventID: "e-\(idTag)-\(firstEventNumber + number)", type: step.type,
                timestampMs: startMs + step.offsetMs, userID: users.userIDs[user],
                productID: catalog.productIDs[step.product], sessionID: sessionID,
                query: carriesQuery ? query?.canonical : nil, position: isFunnelTail ? nil : step.position,
                price: isFunnelTail || random.chance(0.95) ? catalog.prices[step.product] : nil,
                quantity: step.quantity)
            return DemoPlannedEvent(event: event, typedQuery: carriesQuery ? query?.typed : nil, style: style)
        }
    }

    /// A start time in the window that keeps the whole session in the past, busier in the
    /// evening (UTC) than at night.
    private func sessionStart(spanMs: Int64, random: inout DemoRandom) -> Int64 {
        let latest = nowMs - spanMs
        let earliest = min(nowMs - windowMs, latest)
        var candidate = latest
        // Rejection sampling against the daily curve; a bounded number of tries keeps it cheap.
        for _ in 0..<8 {
            candidate = earliest + Int64(random.unit() * Double(latest - earliest))
            let hour = Int((candidate / 3_600_000) % 24)
            if random.chance(Self.hourlyActivity[hour]) { break }
        }
        return candidate
    }

    /// Relative activity per UTC hour, peaking in the evening.
    private static let hourlyActivity: [Double] = [
        0.30, 0.20, 0.15, 0.10, 0.10, 0.15, 0.30, 0.50, 0.70, 0.80, 0.85, 0.90,
        0.95, 0.90, 0.85, 0.85, 0.90, 1.00, 1.00, 1.00, 0.95, 0.80, 0.60, 0.45,
    ]
}
