import Foundation  // exp

/// The demo's products: IDs, prices, Zipf popularity and how tempting each one is to click.
struct DemoCatalog {
    /// Zipf exponent of product popularity; around 1.1 is typical of retail views.
    static let popularityExponent = 1.1
    /// How many results a search shows at most (positions 0...49).
    static let resultsPerQuery = 50

    let productIDs: [String]
    let prices: [Double]
    /// Multiplies the click and cart rates: some products convert better than others.
    let appeal: [Double]
    private let popularityByRank: WeightedIndex
    /// Product index of each popularity rank, so that popularity is unrelated to the ID.
    private let productAtRank: [Int]

    init(productCount: Int, random: inout DemoRandom) {
        precondition(productCount > 0, "the demo needs at least one product")
        productIDs = (1...productCount).map { "p-\($0)" }
        var ranks = Array(0..<productCount)
        random.shuffle(&ranks)
        productAtRank = ranks
        popularityByRank = .zipf(count: productCount, exponent: Self.popularityExponent)
        prices = (0..<productCount).map { _ in Self.randomPrice(using: &random) }
        appeal = (0..<productCount).map { _ in 0.6 + 0.8 * random.unit() }
    }

    /// Product IDs from the most to the least popular.
    var productIDsByPopularity: [String] { productAtRank.map { productIDs[$0] } }

    /// A product drawn by popularity.
    func popularProduct(using random: inout DemoRandom) -> Int {
        productAtRank[popularityByRank.sample(using: &random)]
    }

    /// The result list of a search: popular products, without repeats while the catalog allows.
    func searchResults(using random: inout DemoRandom) -> [Int] {
        let length = min(Self.resultsPerQuery, productIDs.count)
        var results: [Int] = []
        var shown = Set<Int>()
        var draws = 0
        while results.count < length {
            let product = popularProduct(using: &random)
            draws += 1
            // In a small catalog the last unseen products are rare draws: allow repeats rather than wait.
            if shown.insert(product).inserted || draws > 20 * length {
                results.append(product)
            }
        }
        return results
    }

    /// Log-normal around 25 with most prices between 5 and 120, clamped to 2...500, in cents;
    /// four in ten end in .99.
    private static func randomPrice(using random: inout DemoRandom) -> Double {
        let raw = min(max(exp(log(25) + 0.9 * random.normal()), 2), 500)
        let cents = random.chance(0.4) ? min(Int(raw) * 100 + 99, 49_999) : Int((raw * 100).rounded())
        return Double(cents) / 100
    }
}
