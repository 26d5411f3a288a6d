import TesseraCore
import TesseraPostgres

/// Recomputes one stream view's features in PostgreSQL from `tessera.events` for every
/// row of the target table, under the online window rules (ReferenceFeatures is the
/// model): a window W over tiles of length T, evaluated at `now`, takes the events whose
/// tile is ≥ floor((now − W) / T); lifetime aggregates take every event that counts.
public struct ViewRecomputation: Sendable {
    public let view: StreamView

    /// Which events of an entity count for a target.
    public enum EventBound: Sendable {
        /// Event time ≤ the target's time: a training-set row sees nothing of its future.
        case eventTimeAtMostNow
        /// What the online store applied: offsets up to the target's fence for their
        /// partition, whatever their event time (online reads tiles ahead of now too).
        case appliedOffsets
    }

    public init(view: StreamView) { self.view = view }

    private let sql = EventSQL(alias: "e")

    /// Features that are aggregates, in view order; ratios are computed from them in Swift.
    private var windowed: [(index: Int, slot: AggregationSlot, windowMs: Int64)] {
        view.features.enumerated().compactMap { index, feature in
            guard case .windowed(let slot, let windowMs) = feature.kind else { return nil }
            return (index, view.slots[slot], windowMs)
        }
    }

    private var lifetime: [(index: Int, slot: AggregationSlot)] {
        view.features.enumerated().compactMap { index, feature in
            guard case .lifetime(let slot) = feature.kind else { return nil }
            return (index, view.slots[slot])
        }
    }

    func query(_ bound: EventBound) -> String {
        let keyMatch = view.entity.joinKeys.map { "\(sql.value($0)) = t.\($0.rawValue)" }.joined(separator: " and ")
        let counted = switch bound {
        case .eventTimeAtMostNow: "e.event_time <= t.now_at"
        case .appliedOffsets: "e.source_offset <= (t.fences ->> e.source_partition::text)::bigint"
        }
        var columns: [String] = []
        var laterals: [String] = []
        if !windowed.isEmpty {
            let aggregates = windowed.map { feature in
                let tileMs = feature.slot.tileMs!
                let inWindow = "e.tile_\(tileMs) >= floor((t.now_ms - \(feature.windowMs))::numeric / \(tileMs))::bigint"
                return "\(sql.aggregate(feature.slot, where: inWindow)) as f\(feature.index)"
            }
            // Each event's tile per tile length, computed once rather than per aggregate.
            let tiles = Set(windowed.map { $0.slot.tileMs! }).sorted().map { "\(sql.tile(tileMs: $0)) as tile_\($0)" }
            // The earliest event any window can take is less than W + T before now: a bound
            // the (key, event_time) indexes and the daily partitions can use.
            let spanMs = windowed.map { $0.windowMs + $0.slot.tileMs! }.max()!
            laterals.append(
                """
                cross join lateral (select \(aggregates.joined(separator: ", "))
                    from (select e.*, \(tiles.joined(separator: ", ")) from tessera.events e
                          where \(keyMatch) and e.event_time >= t.now_at - interval '\(spanMs) milliseconds' and \(counted)) e) w
                """)
            columns += windowed.map { "w.f\($0.index)" }
        }
        if !lifetime.isEmpty {
            let aggregates = lifetime.map { "\(sql.aggregate($0.slot, where: "true")) as f\($0.index)" }
            laterals.append(
                """
                cross join lateral (select \(aggregates.joined(separator: ", "))
                    from tessera.events e where \(keyMatch) and \(counted)) l
                """)
            columns += lifetime.map { "l.f\($0.index)" }
        }
        return """
            select \((["t.row_number"] + columns).joined(separator: ", "))
            from \(TargetTable.name) t
            \(laterals.joined(separator: "\n"))
            order by t.row_number
            """
    }

    /// The view's feature values for every row of the target table, in row order (NaN = no value).
    func values(on connection: PostgresConnection, bound: EventBound) throws -> [[Double]] {
        let aggregateIndexes = windowed.map(\.index) + lifetime.map(\.index)
        return try connection.execute(query(bound)).rows.map { row in
            var values = [Double](repeating: .nan, count: view.features.count)
            for (column, index) in aggregateIndexes.enumerated() {
                values[index] = row[column + 1].flatMap { Double($0) } ?? .nan
            }
            for (index, feature) in view.features.enumerated() {
                if case .ratio(let numerator, let denominator, let alpha, let beta) = feature.kind {
                    values[index] = ReferenceFeatures.ratio(values[numerator], values[denominator], alpha: alpha, beta: beta)
                }
            }
            return values
        }
    }

    /// Loads `targets` and recomputes the view for each, in order.
    public func values(for targets: [RecomputeTarget], bound: EventBound, on connection: PostgresConnection) throws -> [[Double]] {
        try TargetTable.create(on: connection)
        try TargetTable.load(targets, on: connection)
        return try values(on: connection, bound: bound)
    }
}
