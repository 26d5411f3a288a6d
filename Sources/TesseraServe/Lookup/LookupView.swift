import TesseraCore

/// A view a lookup can read: stream views keep TV1 vectors of numbers, batch views TB1
/// vectors of typed values. Both live under the same key scheme, so one MGET reads any mix.
enum LookupView: Sendable {
    case stream(StreamView)
    case batch(BatchView)

    init?(named name: String, in catalog: FeatureCatalog) {
        if let view = catalog.streamView(named: name) {
            self = .stream(view)
        } else if let view = catalog.batchView(named: name) {
            self = .batch(view)
        } else {
            return nil
        }
    }

    var name: String {
        switch self {
        case .stream(let view): view.name
        case .batch(let view): view.name
        }
    }

    var entity: EntityDefinition {
        switch self {
        case .stream(let view): view.entity
        case .batch(let view): view.entity
        }
    }

    func featureIndex(named name: String) -> Int? {
        switch self {
        case .stream(let view): view.featureIndex(named: name)
        case .batch(let view): view.featureIndex(named: name)
        }
    }
}
