/// The demo's users, in activity segments with very different session rates.
struct DemoUsers {
    enum Segment {
        case high, medium, low

        /// Share of all users in the segment.
        var share: Double {
            switch self {
            case .high: 0.05
            case .medium: 0.25
            case .low: 0.70
            }
        }

        /// Sessions per user relative to a low-activity user: a few heavy users make much of the traffic.
        var sessionRate: Double {
            switch self {
            case .high: 30
            case .medium: 6
            case .low: 1
            }
        }

        /// Heavy users look at more products per session.
        var meanViewsPerSession: Double {
            switch self {
            case .high: 10
            case .medium: 8
            case .low: 6
            }
        }
    }

    let userIDs: [String]
    let segments: [Segment]
    private let bySessionRate: WeightedIndex

    init(userCount: Int, random: inout DemoRandom) {
        precondition(userCount > 0, "the demo needs at least one user")
        userIDs = (1...userCount).map { "u-\($0)" }
        // Exact segment shares over a shuffled order, so segment is unrelated to the ID.
        var order = Array(0..<userCount)
        random.shuffle(&order)
        var segments = [Segment](repeating: .low, count: userCount)
        let highCount = Int((Double(userCount) * Segment.high.share).rounded())
        let mediumCount = Int((Double(userCount) * Segment.medium.share).rounded())
        for (rank, user) in order.enumerated() {
            segments[user] = rank < highCount ? .high : rank < highCount + mediumCount ? .medium : .low
        }
        self.segments = segments
        bySessionRate = WeightedIndex(weights: segments.map(\.sessionRate))
    }

    /// The user who starts the next session.
    func sessionUser(using random: inout DemoRandom) -> Int {
        bySessionRate.sample(using: &random)
    }
}
