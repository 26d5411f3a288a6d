/// A batch feature view: the latest row per entity of a PostgreSQL table or query,
/// materialized into Redis on a schedule (`tessera materialize`).
public struct BatchView: Sendable, Hashable {
    public let name: String
    public let entity: EntityDefinition
    public let source: BatchSource
    /// How often `tessera serve` materializes the view.
    public let scheduleMs: Int64
    /// Lookups report OUTSIDE_MAX_AGE when the entity's source row is older than this.
    public let ttlMs: Int64
    /// Each run re-reads rows this far behind the watermark, for rows committed late with
    /// older timestamps; re-writing them is idempotent.
    public let lookbackMs: Int64
    /// In config order; the packed vector holds values in this order.
    public let features: [BatchFeature]

    /// Changes whenever the vector layout or where its values come from changes, so old
    /// vectors are not trusted and the next run re-reads the whole source.
    public let layoutFingerprint: UInt32

    public init(
        name: String, entity: EntityDefinition, source: BatchSource, scheduleMs: Int64, ttlMs: Int64, lookbackMs: Int64,
        features: [BatchFeature]
    ) {
        self.name = name
        self.entity = entity
        self.source = source
        self.scheduleMs = scheduleMs
        self.ttlMs = ttlMs
        self.lookbackMs = lookbackMs
        self.features = features
        var definition = "\(source.relation);\(source.keyColumns);\(source.timestampColumn);"
        for feature in features { definition += "\(feature.name)=\(feature.type.rawValue)(\(feature.column));" }
        layoutFingerprint = FNV1a.hash(definition)
    }

    public func featureIndex(named name: String) -> Int? {
        features.firstIndex { $0.name == name }
    }
}

/// Where a batch view's rows come from. Kept apart from the view so training sets can
/// read "the latest source row at or before t" from the same definition.
public struct BatchSource: Sendable, Hashable {
    public enum Relation: Sendable, Hashable, CustomStringConvertible {
        /// A table or view name, optionally schema-qualified (`demo.product_catalog`).
        case table(String)
        /// A SELECT whose result columns are the key, timestamp and feature columns.
        case query(String)

        public var description: String {
            switch self {
            case .table(let name): "table \(name)"
            case .query(let sql): "query \(sql)"
            }
        }
    }

    public var relation: Relation
    /// One column per join key of the entity, in the entity's join-key order.
    public var keyColumns: [String]
    /// A `timestamp` or `timestamptz` column (without a zone it is read as UTC).
    public var timestampColumn: String

    public init(relation: Relation, keyColumns: [String], timestampColumn: String) {
        self.relation = relation
        self.keyColumns = keyColumns
        self.timestampColumn = timestampColumn
    }
}

public struct BatchFeature: Sendable, Hashable {
    public var name: String
    public var type: BatchValueType
    /// The source column holding the value; the feature's name unless configured.
    public var column: String

    public init(name: String, type: BatchValueType, column: String) {
        self.name = name
        self.type = type
        self.column = column
    }
}

/// The value types a batch feature can have; the lookup API answers them as JSON
/// numbers, strings and booleans.
public enum BatchValueType: String, Sendable, Hashable, CaseIterable {
    case double, int, string, bool
}

/// FNV-1a over UTF-8: stable across runs and builds, unlike `Hasher`.
enum FNV1a {
    static func hash(_ text: String) -> UInt32 {
        var hash: UInt32 = 2_166_136_261
        for byte in text.utf8 { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
        return hash
    }
}
