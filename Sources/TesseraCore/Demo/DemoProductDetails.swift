import Foundation  // pow

/// One row of the demo's product catalog table, which the `product_catalog` batch view reads.
public struct DemoProductDetails: Sendable, Equatable {
    public var productID: String
    /// The price the clickstream's events carry for this product.
    public var price: Double
    public var category: String
    public var brand: String
    public var inStock: Bool
    /// The product's share of views relative to the most popular one (1.0), from the Zipf law
    /// the clickstream draws products with.
    public var popularity: Double

    public init(productID: String, price: Double, category: String, brand: String, inStock: Bool, popularity: Double) {
        self.productID = productID
        self.price = price
        self.category = category
        self.brand = brand
        self.inStock = inStock
        self.popularity = popularity
    }
}

extension ClickstreamGenerator {
    static let demoCategories = ["electronics", "kitchen", "sports", "home", "fashion", "toys", "garden", "office"]
    static let demoBrands = ["Acme", "Northwind", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Hooli", "Vandelay", "Tyrell"]

    /// Every product of the demo catalog with its details, most popular first. Category, brand
    /// and stock come from a random stream of their own, so the clickstream is unchanged.
    public var productDetails: [DemoProductDetails] {
        let catalog = planner.catalog
        var random = DemoRandom(seed: options.seed ^ 0x5EED_CA7A_1060)
        var details: [DemoProductDetails] = []
        details.reserveCapacity(catalog.productIDs.count)
        for product in catalog.productIDs.indices {
            details.append(DemoProductDetails(
                productID: catalog.productIDs[product], price: catalog.prices[product],
                category: random.element(of: Self.demoCategories), brand: random.element(of: Self.demoBrands),
                inStock: random.chance(0.9), popularity: 0))
        }
        let byRank = catalog.productIDsByPopularity
        let indexByID = Dictionary(uniqueKeysWithValues: details.enumerated().map { ($1.productID, $0) })
        for (rank, productID) in byRank.enumerated() {
            let share = 1 / pow(Double(rank + 1), DemoCatalog.popularityExponent)
            details[indexByID[productID]!].popularity = (share * 10_000).rounded() / 10_000
        }
        return byRank.map { details[indexByID[$0]!] }
    }
}
