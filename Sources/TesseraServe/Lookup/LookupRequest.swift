import TesseraCore

/// `POST /get-online-features` in Feast's feature-server shape:
/// `{"features": ["view:feature", ...], "entities": {"join_key": [v1, v2, ...]}, "full_feature_names": false}`.
struct FeastLookupRequest {
    var features: [String]
    /// Per join key, one value per entity row; integers as their decimal text, so 42 and
    /// "42" name the same entity.
    var entities: [String: [String]]
    var fullFeatureNames: Bool
}

/// A validated lookup: which features, from which views, for which entity rows.
public struct LookupPlan: Sendable {
    struct Column: Sendable {
        var view: Int  // index into `views`
        var feature: Int  // index into the view's features
        var outputName: String
        /// A stream feature of type int64 or timestamp_ms: whole values are written as integers.
        var wholeNumbers: Bool
    }

    var views: [LookupView]
    var columns: [Column]
    /// Join-key columns echoed first in the response, in first-use order.
    var joinKeys: [String]
    var joinKeyValues: [String: [String]]
    public private(set) var rowCount: Int
    /// Per distinct entity of the views (views of one entity share it), per row: its key.
    var entityRows: [[EntityKey]]
    /// Per view: its entity's index in `entityRows`.
    var viewEntities: [Int]

    /// A request body as it came: parsed, then checked against the catalog.
    public init(body: UnsafeRawBufferPointer, catalog: FeatureCatalog, maxRows: Int) throws(APIError) {
        try self.init(request: FeastLookupRequest(parsing: body), catalog: catalog, maxRows: maxRows)
    }

    init(request: FeastLookupRequest, catalog: FeatureCatalog, maxRows: Int) throws(APIError) {
        guard !request.features.isEmpty else { throw .badRequest("missing_features", "'features' must list at least one view:feature") }
        var views: [LookupView] = []
        var columns: [Column] = []
        var outputNames = Set<String>()
        for reference in request.features {
            // Split on the byte: a Character-wise split was a tenth of the plan's time.
            let utf8 = reference.utf8
            guard let colon = utf8.firstIndex(of: UInt8(ascii: ":")), colon != utf8.startIndex,
                  utf8.index(after: colon) != utf8.endIndex, !utf8[utf8.index(after: colon)...].contains(UInt8(ascii: ":"))
            else {
                throw .badRequest("bad_feature_reference", "'\(reference)' is not view:feature")
            }
            let viewName = String(reference[..<colon]), featureName = String(reference[utf8.index(after: colon)...])
            guard let view = LookupView(named: viewName, in: catalog) else {
                throw .badRequest("unknown_view", "no feature view '\(viewName)' (GET /v1/features lists them)")
            }
            guard let featureIndex = view.featureIndex(named: featureName) else {
                throw .badRequest("unknown_feature", "view '\(viewName)' has no feature '\(featureName)' (GET /v1/features lists them)")
            }
            let viewIndex: Int
            if let existing = views.firstIndex(where: { $0.name == viewName }) {
                viewIndex = existing
            } else {
                viewIndex = views.count
                views.append(view)
            }
            let outputName = request.fullFeatureNames ? "\(viewName)__\(featureName)" : featureName
            guard outputNames.insert(outputName).inserted else {
                throw .badRequest("duplicate_feature", "'\(outputName)' is requested twice; set full_feature_names to tell views apart")
            }
            var wholeNumbers = false
            if case .stream(let streamView) = view { wholeNumbers = streamView.features[featureIndex].valueType != .double }
            columns.append(Column(view: viewIndex, feature: featureIndex, outputName: outputName, wholeNumbers: wholeNumbers))
        }

        var joinKeys: [String] = []
        for view in views {
            for field in view.entity.joinKeys where !joinKeys.contains(field.rawValue) {
                guard request.entities[field.rawValue] != nil else {
                    throw .badRequest("missing_join_key", "view '\(view.name)' needs entity key '\(field.rawValue)'")
                }
                joinKeys.append(field.rawValue)
            }
        }
        let lengths = Set(joinKeys.map { request.entities[$0]!.count })
        guard lengths.count == 1, let rowCount = lengths.first else {
            throw .badRequest("mismatched_entity_lengths", "every entity key list must have the same length")
        }
        guard rowCount > 0 else { throw .badRequest("no_entities", "entity key lists are empty") }
        guard rowCount <= maxRows else {
            throw .badRequest("too_many_entities", "\(rowCount) entity rows; at most \(maxRows) per request")
        }

        self.views = views
        self.columns = columns
        self.joinKeys = joinKeys
        self.joinKeyValues = request.entities
        self.rowCount = rowCount
        var entityNames: [String] = []
        var entityRows: [[EntityKey]] = []
        self.viewEntities = views.map { view in
            if let index = entityNames.firstIndex(of: view.entity.name) { return index }
            let columns = view.entity.joinKeys.map { field in
                let values = request.entities[field.rawValue]!
                // Events' queries are normalised on the way in; normalise lookups the same way.
                return field == .query ? values.map { QueryNormalization.normalize($0) ?? $0 } : values
            }
            entityRows.append((0..<rowCount).map { row in
                columns.count == 1 ? EntityKey(columns[0][row]) : EntityKey(values: columns.map { $0[row] })
            })
            entityNames.append(view.entity.name)
            return entityNames.count - 1
        }
        self.entityRows = entityRows
    }
}
