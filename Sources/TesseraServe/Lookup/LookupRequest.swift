import TesseraCore

/// `POST /get-online-features` in Feast's feature-server shape:
/// `{"features": ["view:feature", ...], "entities": {"join_key": [v1, v2, ...]}, "full_feature_names": false}`.
struct FeastLookupRequest: Decodable {
    var features: [String]
    var entities: [String: [EntityValue]]
    var fullFeatureNames: Bool?

    enum CodingKeys: String, CodingKey {
        case features, entities
        case fullFeatureNames = "full_feature_names"
    }
}

/// An entity value: a JSON string or integer; 42 and "42" name the same entity.
struct EntityValue: Decodable, Equatable {
    var text: String

    init(text: String) { self.text = text }

    init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let number = try? container.decode(Int64.self) {
            text = String(number)
        } else if let string = try? container.decode(String.self) {
            text = string
        } else {
            throw DecodingError.typeMismatch(
                String.self, .init(codingPath: decoder.codingPath, debugDescription: "entity values must be strings or integers"))
        }
    }
}

/// A validated lookup: which features, from which views, for which entity rows.
struct LookupPlan {
    struct Column {
        var view: Int  // index into `views`
        var feature: Int  // index into the view's features
        var outputName: String
    }

    var views: [LookupView]
    var columns: [Column]
    /// Join-key columns echoed first in the response, in first-use order.
    var joinKeys: [String]
    var joinKeyValues: [String: [EntityValue]]
    var rowCount: Int
    /// Per view, per row: the entity.
    var entities: [[EntityKey]]

    init(request: FeastLookupRequest, catalog: FeatureCatalog, maxRows: Int) throws(APIError) {
        guard !request.features.isEmpty else { throw .badRequest("missing_features", "'features' must list at least one view:feature") }
        var views: [LookupView] = []
        var columns: [Column] = []
        for reference in request.features {
            let parts = reference.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw .badRequest("bad_feature_reference", "'\(reference)' is not view:feature")
            }
            let viewName = String(parts[0]), featureName = String(parts[1])
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
            let outputName = request.fullFeatureNames == true ? "\(viewName)__\(featureName)" : featureName
            guard !columns.contains(where: { $0.outputName == outputName }) else {
                throw .badRequest("duplicate_feature", "'\(outputName)' is requested twice; set full_feature_names to tell views apart")
            }
            columns.append(Column(view: viewIndex, feature: featureIndex, outputName: outputName))
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
        self.entities = views.map { view in
            (0..<rowCount).map { row in
                EntityKey(values: view.entity.joinKeys.map { field in
                    let raw = request.entities[field.rawValue]![row].text
                    // Events' queries are normalised on the way in; normalise lookups the same way.
                    return field == .query ? QueryNormalization.normalize(raw) ?? raw : raw
                })
            }
        }
    }
}
