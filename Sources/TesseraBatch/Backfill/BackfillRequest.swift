import TesseraCore

/// What an operator asked `tessera backfill` to rebuild.
public struct BackfillRequest: Sendable, Equatable {
    /// One stream view and the slots its rebuilt features read.
    public struct Target: Sendable, Equatable {
        public var view: StreamView
        /// Slot ids to rebuild; the vector is recomputed whole either way.
        public var slots: [Int]
        /// The feature names asked for (empty = all), as recorded in the job.
        public var features: [String]
    }

    public var targets: [Target]
    /// Event-time range [from, to) whose tiles are rebuilt; nil with `rebuildAll`.
    public var fromMs: Int64?
    public var toMs: Int64?
    /// `--all`: every stream view, every tile a window still reads, every lifetime value.
    public var rebuildAll: Bool

    /// `--view V [--features f1,f2] --from T1 --to T2`.
    public init(catalog: FeatureCatalog, view name: String, features: [String], fromMs: Int64, toMs: Int64) throws {
        guard let view = catalog.streamView(named: name) else {
            let known = catalog.streamViews.map(\.name).joined(separator: ", ")
            throw BackfillError("no stream view '\(name)' in features.yaml (stream views: \(known))")
        }
        guard fromMs < toMs else { throw BackfillError("--from must be before --to") }
        var slots = Set<Int>()
        for feature in features {
            guard let index = view.featureIndex(named: feature) else {
                throw BackfillError("view '\(name)' has no feature '\(feature)' (features: \(view.features.map(\.name).joined(separator: ", ")))")
            }
            slots.formUnion(Self.slots(readBy: index, in: view))
        }
        if features.isEmpty { slots = Set(view.slots.map(\.id)) }
        targets = [Target(view: view, slots: slots.sorted(), features: features)]
        self.fromMs = fromMs
        self.toMs = toMs
        rebuildAll = false
    }

    /// `--all`: the recovery after Redis lost its data.
    public init(rebuildingEverythingIn catalog: FeatureCatalog) {
        targets = catalog.streamViews.map { Target(view: $0, slots: $0.slots.map(\.id), features: []) }
        fromMs = nil
        toMs = nil
        rebuildAll = true
    }

    /// The slots a feature reads: its own, or both operands' for a ratio.
    static func slots(readBy index: Int, in view: StreamView) -> Set<Int> {
        switch view.features[index].kind {
        case .windowed(let slot, _), .lifetime(let slot): [slot]
        case .ratio(let numerator, let denominator, _, _):
            slots(readBy: numerator, in: view).union(slots(readBy: denominator, in: view))
        }
    }
}

public struct BackfillError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
