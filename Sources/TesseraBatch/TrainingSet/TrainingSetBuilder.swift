import TesseraCore
import TesseraPostgres

/// Builds a point-in-time correct training set: for each spine row at time t, every
/// requested feature as the online store would have served it at t from the events with
/// event time ≤ t (no leakage from the future). The spine is read, recomputed in
/// PostgreSQL and written in chunks, so memory stays bounded however long it is.
///
/// Only stream views are supported. A batch view would be one more source here: the
/// latest row of its table with key = the spine's key and timestamp ≤ t, loaded from the
/// same target table with a LATERAL query of its own.
public struct TrainingSetBuilder: Sendable {
    public var catalog: FeatureCatalog
    /// Spine rows recomputed per round trip.
    public var chunkRows: Int

    public init(catalog: FeatureCatalog, chunkRows: Int = 5_000) {
        self.catalog = catalog
        self.chunkRows = chunkRows
    }

    public struct Summary: Sendable, Equatable {
        public var rows: Int
        public var features: Int
    }

    public func build(spine spinePath: String, features: String, output outputPath: String, on connection: PostgresConnection) throws -> Summary {
        let selection = try FeatureSelection(parsing: features, catalog: catalog)
        let spine = try SpineReader(path: spinePath, joinKeys: selection.joinKeys)
        if let clash = selection.columnNames.first(where: spine.header.contains) {
            throw TrainingSetError.badSpine(CSVError(path: spinePath, line: 1, problem: "column '\(clash)' would clash with a feature column"))
        }
        let recomputations = selection.views.map { ViewRecomputation(view: $0.view) }
        let output = try CSVWriter(path: outputPath)
        try output.write(spine.header + selection.columnNames)
        try TargetTable.create(on: connection)

        var written = 0
        while true {
            let rows = try spine.next(limit: chunkRows)
            guard !rows.isEmpty else { break }
            try TargetTable.load(rows.map(\.target), on: connection)
            let values = try recomputations.map { try $0.values(on: connection, bound: .eventTimeAtMostNow) }
            for (rowIndex, row) in rows.enumerated() {
                let featureFields = selection.columns.map { column in
                    let group = selection.views[column.view]
                    let featureIndex = group.featureIndexes[column.feature]
                    return FeatureValueText.text(values[column.view][rowIndex][featureIndex], group.view.features[featureIndex].valueType)
                }
                try output.write(row.fields + featureFields)
            }
            written += rows.count
        }
        try output.finish()
        return Summary(rows: written, features: selection.columnNames.count)
    }
}
