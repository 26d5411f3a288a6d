import Foundation
@testable import TesseraCore

/// The repository's default `config/features.yaml`, which tests exercise as shipped.
enum DefaultConfig {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../config").standardized.path

    static func catalog() throws -> FeatureCatalog {
        let path = folder + "/features.yaml"
        return try FeatureCatalog.load(yaml: String(contentsOfFile: path, encoding: .utf8), file: path)
    }
}

func event(
    _ type: EventType, at timestampMs: Int64, user: String = "u-1", product: String = "p-1", query: String? = nil,
    price: Double? = nil, quantity: Int64 = 1
) -> ClickEvent {
    ClickEvent(
        eventID: "e-\(timestampMs)-\(type.rawValue)", type: type, timestampMs: timestampMs, userID: user, productID: product,
        query: query, price: price, quantity: quantity)
}
