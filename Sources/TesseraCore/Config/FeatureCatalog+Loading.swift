extension FeatureCatalog {
    /// Parses and validates `features.yaml`; `file` names it in errors.
    public static func load(yaml: String, file: String) throws -> FeatureCatalog {
        let root = try ConfigNode.parse(yaml: yaml, file: file)
        try root.requireKeys(in: ["entities", "stream_views", "batch_views"])

        var entities: [String: EntityDefinition] = [:]
        var entityOrder: [EntityDefinition] = []
        for (name, node) in try root.required("entities").entries() {
            try node.requireKeys(in: ["join_keys"])
            let keysNode = try node.required("join_keys")
            let joinKeys = try keysNode.strings().map { text -> EventField in
                guard let field = EventField(rawValue: text), field.isText else {
                    throw keysNode.error("'\(text)' is not a join key (use user_id, product_id, session_id or query)")
                }
                return field
            }
            guard !joinKeys.isEmpty, Set(joinKeys).count == joinKeys.count else {
                throw keysNode.error("must list distinct join keys")
            }
            let entity = EntityDefinition(name: name, joinKeys: joinKeys)
            entities[name] = entity
            entityOrder.append(entity)
        }

        var views: [StreamView] = []
        for (name, node) in try root.optional("stream_views")?.entries() ?? [] {
            try checkName(name, node: node)
            views.append(try loadStreamView(name: name, node: node, entities: entities))
        }
        var batchViews: [BatchView] = []
        for (name, node) in try root.optional("batch_views")?.entries() ?? [] {
            try checkName(name, node: node)
            // Lookups name features `view:feature`: one name, one view.
            if views.contains(where: { $0.name == name }) {
                throw node.error("'\(name)' is already a stream view; view names must be unique")
            }
            batchViews.append(try loadBatchView(name: name, node: node, entities: entities))
        }
        return FeatureCatalog(entities: entityOrder, streamViews: views, batchViews: batchViews)
    }

    static func checkName(_ name: String, node: ConfigNode) throws {
        let allowed = name.utf8.allSatisfy { ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 95 }
        guard allowed, !name.isEmpty else {
            throw node.error("'\(name)' must be lower-case letters, digits and underscores")
        }
    }

    private static func loadStreamView(
        name: String, node: ConfigNode, entities: [String: EntityDefinition]
    ) throws -> StreamView {
        try node.requireKeys(in: ["entity", "ttl", "features"])
        let entity = try resolveEntity(of: node, entities: entities)
        let ttlMs = try node.optional("ttl")?.durationMs() ?? 30 * 86_400_000

        var slots: [AggregationSlot] = []
        var features: [FeatureDefinition] = []
        var ratios: [(name: String, node: ConfigNode)] = []

        for (featureName, featureNode) in try node.required("features").entries() {
            try checkName(featureName, node: featureNode)
            if try featureNode.optional("ratio") != nil {
                ratios.append((featureName, featureNode))
                // Placeholder keeps config order; resolved below once all features are known.
                features.append(FeatureDefinition(name: featureName, kind: .lifetime(slot: -1), valueType: .double, summary: ""))
                continue
            }
            features.append(try loadAggregate(name: featureName, node: featureNode, slots: &slots))
        }
        let ratioNames = Set(ratios.map(\.name))
        for (featureName, featureNode) in ratios {
            let index = features.firstIndex { $0.name == featureName }!
            features[index] = try loadRatio(name: featureName, node: featureNode, features: features, ratioNames: ratioNames)
        }
        return StreamView(name: name, entity: entity, ttlMs: ttlMs, features: features, slots: slots)
    }

    static func resolveEntity(of node: ConfigNode, entities: [String: EntityDefinition]) throws -> EntityDefinition {
        let entityNode = try node.required("entity")
        let entityName = try entityNode.string()
        guard let entity = entities[entityName] else { throw entityNode.error("unknown entity '\(entityName)'") }
        return entity
    }

    private static func loadAggregate(
        name: String, node: ConfigNode, slots: inout [AggregationSlot]
    ) throws -> FeatureDefinition {
        try node.requireKeys(in: ["aggregation", "of", "where", "window"])
        let aggregationNode = try node.required("aggregation")
        let aggregationText = try aggregationNode.string()
        guard let aggregation = Aggregation(rawValue: aggregationText) else {
            throw aggregationNode.error("unknown aggregation '\(aggregationText)' (use \(Aggregation.allCases.map(\.rawValue).joined(separator: ", ")))")
        }

        var field: EventField?
        if let ofNode = try node.optional("of") {
            let text = try ofNode.string()
            guard let parsed = EventField(rawValue: text) else { throw ofNode.error("unknown event field '\(text)'") }
            if aggregation == .count { throw ofNode.error("count takes no 'of'") }
            if aggregation == .approxDistinct && !parsed.isText {
                throw ofNode.error("approx_distinct counts a text field (user_id, product_id, session_id, query)")
            }
            if aggregation != .approxDistinct && parsed.isText {
                throw ofNode.error("\(aggregation.rawValue) needs a numeric field (event_time, price, quantity, revenue, position)")
            }
            field = parsed
        } else if aggregation != .count {
            throw node.error("'of' is required for \(aggregation.rawValue)")
        }

        var eventTypes: Set<EventType>?
        if let whereNode = try node.optional("where") {
            try whereNode.requireKeys(in: ["event_type"])
            let typesNode = try whereNode.required("event_type")
            eventTypes = Set(try typesNode.strings().map { text in
                guard let type = EventType(rawValue: text) else {
                    throw typesNode.error("unknown event type '\(text)' (use view, click, add_to_cart, purchase)")
                }
                return type
            })
        }

        let windowNode = try node.optional("window")
        let windowMs = try windowNode?.durationMs()
        if let windowMs, let windowNode, windowMs < 60_000 || windowMs % 1_000 != 0 || windowMs > 400 * 86_400_000 {
            // Tiles are W/24 long: shorter windows would mean tiles of a few milliseconds.
            throw windowNode.error("must be whole seconds from 1m to 400d")
        }
        if windowMs == nil && aggregation == .approxDistinct {
            throw node.error("approx_distinct needs a window")
        }
        let tileMs = windowMs.map(TileMath.tileMs(forWindowMs:))

        // Features that aggregate the same thing in the same tiles share one slot.
        let slotIndex: Int
        if let existing = slots.firstIndex(where: {
            $0.aggregation == aggregation && $0.field == field && $0.eventTypes == eventTypes && $0.tileMs == tileMs
        }) {
            slotIndex = existing
            slots[existing].longestWindowMs = max(slots[existing].longestWindowMs, windowMs ?? 0)
        } else {
            slotIndex = slots.count
            slots.append(AggregationSlot(
                id: slotIndex, aggregation: aggregation, field: field, eventTypes: eventTypes,
                tileMs: tileMs, longestWindowMs: windowMs ?? 0))
        }

        let valueType: FeatureValueType =
            switch aggregation {
            case .count, .approxDistinct: .int64
            case .min, .max, .last: field == .eventTime ? .timestampMs : .double
            case .sum: .double
            }
        var summary = field.map { "\(aggregation.rawValue)(\($0.rawValue))" } ?? aggregation.rawValue
        if let eventTypes { summary += " where event_type in [\(eventTypes.map(\.rawValue).sorted().joined(separator: ","))]" }
        if let windowMs { summary += " over \(DurationText.text(milliseconds: windowMs))" }
        let kind: FeatureKind = windowMs.map { .windowed(slot: slotIndex, windowMs: $0) } ?? .lifetime(slot: slotIndex)
        return FeatureDefinition(name: name, kind: kind, valueType: valueType, summary: summary)
    }

    private static func loadRatio(
        name: String, node: ConfigNode, features: [FeatureDefinition], ratioNames: Set<String>
    ) throws -> FeatureDefinition {
        try node.requireKeys(in: ["ratio"])
        let ratioNode = try node.required("ratio")
        try ratioNode.requireKeys(in: ["numerator", "denominator", "alpha", "beta"])
        func operand(_ key: String) throws -> Int {
            let operandNode = try ratioNode.required(key)
            let target = try operandNode.string()
            guard let index = features.firstIndex(where: { $0.name == target }) else {
                throw operandNode.error("unknown feature '\(target)'")
            }
            guard !ratioNames.contains(target) else { throw operandNode.error("'\(target)' is a ratio; ratios read aggregates only") }
            return index
        }
        let numerator = try operand("numerator")
        let denominator = try operand("denominator")
        let alpha = try ratioNode.optional("alpha")?.double() ?? 0
        let beta = try ratioNode.optional("beta")?.double() ?? 0
        guard beta > 0 || alpha == 0 else { throw ratioNode.error("beta must be > 0 when alpha is set, so an empty window has a defined ratio") }
        return FeatureDefinition(
            name: name, kind: .ratio(numerator: numerator, denominator: denominator, alpha: alpha, beta: beta),
            valueType: .double,
            summary: "(\(features[numerator].name) + \(alpha)) / (\(features[denominator].name) + \(beta))")
    }
}
