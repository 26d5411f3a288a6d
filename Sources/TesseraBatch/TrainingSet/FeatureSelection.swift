import TesseraCore

/// The features a training set asks for (`view:feature,...`), grouped by view in the
/// order first named, each remembering its output column.
public struct FeatureSelection: Sendable {
    public struct ViewFeatures: Sendable {
        public var view: StreamView
        /// Indexes into `view.features`, in the order requested.
        public var featureIndexes: [Int]
    }

    public var views: [ViewFeatures]
    /// Output column names in the order requested: `view__feature`, as Feast names
    /// full feature names (a colon is awkward in data-frame column names).
    public var columnNames: [String]
    /// For each output column: which view group and which feature of it.
    var columns: [(view: Int, feature: Int)]

    public init(parsing list: String, catalog: FeatureCatalog) throws(TrainingSetError) {
        views = []
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
            guard let view = catalog.streamView(named: viewName) else {
                let known = catalog.streamViews.map(\.name).joined(separator: ", ")
                throw .badFeatures(
                    "'\(viewName)' is not a stream view (known: \(known)); training sets do not support batch views yet")
            }
            guard let featureIndex = view.featureIndex(named: featureName) else {
                throw .badFeatures("view \(viewName) has no feature '\(featureName)'")
            }
            let columnName = "\(viewName)__\(featureName)"
            guard !columnNames.contains(columnName) else { throw .badFeatures("\(viewName):\(featureName) is named twice") }
            if !views.contains(where: { $0.view.name == viewName }) { views.append(ViewFeatures(view: view, featureIndexes: [])) }
            let group = views.firstIndex { $0.view.name == viewName }!
            columns.append((group, views[group].featureIndexes.count))
            views[group].featureIndexes.append(featureIndex)
            columnNames.append(columnName)
        }
    }

    /// The join-key fields the selected views need from the spine, in first-needed order.
    public var joinKeys: [EventField] {
        var keys: [EventField] = []
        for group in views { for key in group.view.entity.joinKeys where !keys.contains(key) { keys.append(key) } }
        return keys
    }
}

extension Substring {
    var trimmingSpaces: String { String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed()) }
}
