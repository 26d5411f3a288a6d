extension FeatureCatalog {
    /// One entry of `batch_views:`, e.g.
    ///
    ///     product_catalog:
    ///       entity: product
    ///       source: {table: demo.product_catalog, timestamp_column: updated_at}
    ///       schedule: 1m
    ///       ttl: 400d
    ///       features:
    ///         price: {type: double}
    static func loadBatchView(name: String, node: ConfigNode, entities: [String: EntityDefinition]) throws -> BatchView {
        try node.requireKeys(in: ["entity", "source", "schedule", "ttl", "lookback", "features"])
        let entity = try resolveEntity(of: node, entities: entities)
        let source = try loadBatchSource(try node.required("source"), entity: entity)
        let scheduleMs = try node.optional("schedule")?.durationMs() ?? 60_000
        if scheduleMs < 1_000, let scheduleNode = try node.optional("schedule") {
            throw scheduleNode.error("must be at least 1s")
        }
        let ttlMs = try node.optional("ttl")?.durationMs() ?? 30 * 86_400_000
        let lookbackMs = try node.optional("lookback")?.durationMs() ?? 5 * 60_000

        var features: [BatchFeature] = []
        let featuresNode = try node.required("features")
        for (featureName, featureNode) in try featuresNode.entries() {
            try checkName(featureName, node: featureNode)
            try featureNode.requireKeys(in: ["type", "column"])
            let typeNode = try featureNode.required("type")
            let typeText = try typeNode.string()
            guard let type = BatchValueType(rawValue: typeText) else {
                throw typeNode.error("unknown type '\(typeText)' (use \(BatchValueType.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            let column = try featureNode.optional("column")?.string() ?? featureName
            features.append(BatchFeature(name: featureName, type: type, column: column))
        }
        guard !features.isEmpty else { throw featuresNode.error("must declare at least one feature") }
        return BatchView(
            name: name, entity: entity, source: source, scheduleMs: scheduleMs, ttlMs: ttlMs, lookbackMs: lookbackMs,
            features: features)
    }

    private static func loadBatchSource(_ node: ConfigNode, entity: EntityDefinition) throws -> BatchSource {
        try node.requireKeys(in: ["table", "query", "timestamp_column", "key_columns"])
        let relation: BatchSource.Relation
        switch (try node.optional("table"), try node.optional("query")) {
        case (let tableNode?, nil):
            let table = try tableNode.string()
            let parts = table.split(separator: ".", omittingEmptySubsequences: false)
            guard parts.count <= 2, parts.allSatisfy({ !$0.isEmpty }) else {
                throw tableNode.error("'\(table)' is not a table name (use table or schema.table)")
            }
            relation = .table(table)
        case (nil, let queryNode?):
            relation = .query(try queryNode.string())
        default:
            throw node.error("needs exactly one of 'table' or 'query'")
        }

        // Join-key columns default to the join keys' names.
        var keyColumns = entity.joinKeys.map(\.rawValue)
        if let mappingNode = try node.optional("key_columns") {
            let joinKeyNames = Set(keyColumns)
            for (joinKey, columnNode) in try mappingNode.entries() {
                guard let index = entity.joinKeys.firstIndex(where: { $0.rawValue == joinKey }) else {
                    throw columnNode.error("'\(joinKey)' is not a join key of entity '\(entity.name)' (\(joinKeyNames.sorted().joined(separator: ", ")))")
                }
                keyColumns[index] = try columnNode.string()
            }
        }
        let timestampColumn = try node.required("timestamp_column").string()
        return BatchSource(relation: relation, keyColumns: keyColumns, timestampColumn: timestampColumn)
    }
}
