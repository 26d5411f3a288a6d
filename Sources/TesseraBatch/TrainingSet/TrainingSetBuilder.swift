import TesseraCore
import TesseraPostgres

/// Builds a point-in-time correct training set: for each spine row at time t, every
/// requested feature as the online store would have served it at t: stream views from
/// the events with event time ≤ t, batch views from the entity's latest source row with
/// timestamp ≤ t (no leakage from the future). The spine is read, recomputed in
/// PostgreSQL and written in chunks, so memory stays bounded however long it is.
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
        let streams = selection.streamViews.map { ViewRecomputation(view: $0.view) }
        let batches = selection.batchViews.map { BatchPointInTime(view: $0.view) }
        let output = try CSVWriter(path: outputPath)
        try output.write(spine.header + selection.columnNames)
        // A batch source's `timestamp` columns (no zone) read as UTC, as materialize reads them.
        try connection.execute(BatchSourceSQL.sessionSetup)
        try TargetTable.create(on: connection)

        var written = 0
        while true {
            let rows = try spine.next(limit: chunkRows)
            guard !rows.isEmpty else { break }
            try TargetTable.load(rows.map(\.target), on: connection)
            let streamValues = try streams.map { try $0.values(on: connection, bound: .eventTimeAtMostNow) }
            let batchValues = try batches.map { try $0.values(on: connection) }
            for rowIndex in rows.indices {
                let featureFields = selection.columns.map { column in
                    switch column {
                    case .stream(let group, let feature):
                        let view = selection.streamViews[group]
                        let featureIndex = view.featureIndexes[feature]
                        return FeatureValueText.text(streamValues[group][rowIndex][featureIndex], view.view.features[featureIndex].valueType)
                    case .batch(let group, let feature):
                        return FeatureValueText.text(batchValues[group][rowIndex][selection.batchViews[group].featureIndexes[feature]])
                    }
                }
                try output.write(rows[rowIndex].fields + featureFields)
            }
            written += rows.count
        }
        try output.finish()
        return Summary(rows: written, features: selection.columnNames.count)
    }
}
