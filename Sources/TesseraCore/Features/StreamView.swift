/// A stream feature view: windowed aggregations over events, per entity.
public struct StreamView: Sendable, Hashable {
    public let name: String
    public let entity: EntityDefinition
    /// Lookups report OUTSIDE_MAX_AGE when the entity's newest event is older than this.
    public let ttlMs: Int64
    /// In config order; the packed vector holds values in this order.
    public let features: [FeatureDefinition]
    public let slots: [AggregationSlot]

    /// Events older than this (event time) no longer change any window: they are kept offline only.
    public var longestWindowMs: Int64 { slots.map(\.longestWindowMs).max() ?? 0 }

    /// The distinct windows features read from a slot: each schedules a recompute when a
    /// tile leaves it.
    public func windows(ofSlot slot: Int) -> [Int64] {
        var windows: [Int64] = []
        for feature in features {
            if case .windowed(let id, let windowMs) = feature.kind, id == slot, !windows.contains(windowMs) { windows.append(windowMs) }
        }
        return windows
    }

    public func featureIndex(named name: String) -> Int? {
        features.firstIndex { $0.name == name }
    }

    /// Changes whenever the vector layout changes, so stale vectors are recognised after a
    /// config change. Computed once: the lookup path compares it for every cell.
    public let layoutFingerprint: UInt32

    public init(name: String, entity: EntityDefinition, ttlMs: Int64, features: [FeatureDefinition], slots: [AggregationSlot]) {
        self.name = name
        self.entity = entity
        self.ttlMs = ttlMs
        self.features = features
        self.slots = slots
        var hash: UInt32 = 2_166_136_261  // FNV-1a: stable across runs, unlike Hasher.
        for feature in features {
            for byte in "\(feature.name)=\(feature.summary);".utf8 {
                hash = (hash ^ UInt32(byte)) &* 16_777_619
            }
        }
        layoutFingerprint = hash
    }
}

/// Everything `config/features.yaml` declares.
public struct FeatureCatalog: Sendable {
    public var entities: [EntityDefinition]
    public var streamViews: [StreamView]

    public func streamView(named name: String) -> StreamView? {
        streamViews.first { $0.name == name }
    }
}
