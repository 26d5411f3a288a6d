import TesseraCore

/// The features a training set asks for (`view:feature,...`), grouped by view in the
/// order first named, each remembering its output column. Stream and batch views mix.
public struct FeatureSelection: Sendable {
    public struct ViewFeatures<View: Sendable>: Sendable {
        public var view: View
        /// Indexes into the view's features, in the order requested.
        public var featureIndexes: [Int]
    }

    /// Which value an output column holds: feature `feature` of group `group`.
    enum Column: Equatable {
        case stream(group: Int, feature: Int)
        case batch(group: Int, feature: Int)
    }

    public var streamViews: [ViewFeatures<StreamView>]
    public var batchViews: [ViewFeatures<BatchView>]
    /// Output column names in the order requested: `view__feature`, as Feast names
    /// full feature names (a colon is awkward in data-frame column names).
    public var columnNames: [String]
    /// For each output column: which view group and which feature of it.
    var columns: [Column]

    public init(parsing list: String, catalog: FeatureCatalog) throws(TrainingSetError) {
        streamViews = []
        batchViews = []
        columnNames = []
        columns = []
        let references = list.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingSpaces }
        guard !references.isEmpty, !references.allSatisfy(\.isEmpty) else { throw .badFeatures("no features given (expected view:feature,...)") }
        for reference in references {
            let parts = reference.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw .badFeatures("'\(reference)' is not view:feature")
            }
            let (viewName, featureName) = (String(parts[0]), String(parts[1]))
            let columnName = "\(viewName)__\(featureName)"
            if let view = catalog.streamView(named: viewName) {
                guard let featureIndex = view.featureIndex(named: featureName) else {
                    throw .badFeatures("view \(viewName) has no feature '\(featureName)'")
                }
                guard !columnNames.contains(columnName) else { throw .badFeatures("\(viewName):\(featureName) is named twice") }
                let group = Self.append(featureIndex, of: view, named: viewName, to: &streamViews)
                columns.append(.stream(group: group, feature: streamViews[group].featureIndexes.count - 1))
            } else if let view = catalog.batchView(named: viewName) {
                guard let featureIndex = view.featureIndex(named: featureName) else {
                    throw .badFeatures("view \(viewName) has no feature '\(featureName)'")
                }
                guard !columnNames.contains(columnName) else { throw .badFeatures("\(viewName):\(featureName) is named twice") }
                let group = Self.append(featureIndex, of: view, named: viewName, to: &batchViews)
                columns.append(.batch(group: group, feature: batchViews[group].featureIndexes.count - 1))
            } else {
                let known = (catalog.streamViews.map(\.name) + catalog.batchViews.map(\.name)).joined(separator: ", ")
                throw .badFeatures("no view '\(viewName)' (known: \(known))")
            }
            columnNames.append(columnName)
        }
    }

    /// Adds the feature to its view's group (made on first use); returns the group's index.
    private static func append<View>(_ featureIndex: Int, of view: View, named name: String, to groups: inout [ViewFeatures<View>]) -> Int
    where View: NamedView {
        let group = groups.firstIndex { $0.view.name == name } ?? {
            groups.append(ViewFeatures(view: view, featureIndexes: []))
            return groups.count - 1
        }()
        groups[group].featureIndexes.append(featureIndex)
        return group
    }

    /// The join-key fields the selected views need from the spine, in first-needed order.
    public var joinKeys: [EventField] {
        var keys: [EventField] = []
        let entities = streamViews.map(\.view.entity) + batchViews.map(\.view.entity)
        for entity in entities { for key in entity.joinKeys where !keys.contains(key) { keys.append(key) } }
        return keys
    }
}

/// What grouping the selection by view needs of both kinds of view.
protocol NamedView: Sendable { var name: String { get } }
extension StreamView: NamedView {}
extension BatchView: NamedView {}

extension Substring {
    var trimmingSpaces: String { String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed()) }
}
