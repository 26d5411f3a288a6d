import TesseraCore

/// How `tessera.events` columns express what ingestion reads from a decoded event, so
/// recomputations in PostgreSQL (backfill, verify, training sets) aggregate exactly
/// what the online path folded. Every expression is qualified by a table alias, so
/// callers can join the log with their own tables (a training-set spine) safely.
public struct EventSQL: Sendable {
    /// The alias the log has in the caller's query, e.g. `e` in `from tessera.events e`.
    public var alias: String

    public init(alias: String = "e") { self.alias = alias }

    /// Event time in epoch milliseconds, exact (extract returns numeric).
    public var eventTimeMs: String { "(extract(epoch from \(alias).event_time) * 1000)::bigint" }

    /// The value an aggregation reads, typed as ingestion sees it: numbers as float8
    /// (revenue multiplied in float8, as Swift does), event time as bigint ms, ids as text.
    public func value(_ field: EventField) -> String {
        switch field {
        case .eventTime: eventTimeMs
        case .price: "\(alias).price"
        case .quantity: "\(alias).quantity::float8"
        case .revenue: "(\(alias).price * \(alias).quantity::float8)"
        case .position: "\(alias).position::float8"
        case .userID: "\(alias).user_id"
        case .productID: "\(alias).product_id"
        case .sessionID: "\(alias).session_id"
        case .query: "\(alias).query"
        }
    }

    /// The join-key columns of an entity, in its join-key order.
    public func keyColumns(_ entity: EntityDefinition) -> [String] {
        entity.joinKeys.map(value)
    }

    /// True for the events a slot aggregates (its event types; every event when it has none).
    public func accepts(_ slot: AggregationSlot) -> String {
        guard let types = slot.eventTypes else { return "true" }
        let list = types.map(\.rawValue).sorted().map { "'\($0)'" }.joined(separator: ", ")
        return "\(alias).event_type in (\(list))"
    }

    /// Tile index of the event for a tile length: floor division, also before 1970.
    public func tile(tileMs: Int64) -> String {
        "floor(\(eventTimeMs)::numeric / \(tileMs))::bigint"
    }

    /// The slot's aggregate over the rows where `condition` holds, as float8 (NULL = no
    /// value, as NaN online). Counts and sums of nothing are 0, as an absent tile is online.
    /// approx_distinct is exact here; online HyperLogLogs are within their error of it.
    public func aggregate(_ slot: AggregationSlot, where condition: String) -> String {
        let filter = "filter (where \(accepts(slot)) and (\(condition)))"
        guard let field = slot.field else { return "(count(*) \(filter))::float8" }
        let value = value(field)
        switch slot.aggregation {
        case .count:
            return "(count(*) \(filter))::float8"
        case .sum:
            return "coalesce(sum(\(value)) \(filter), 0)::float8"
        case .min:
            return "(min(\(value)) \(filter))::float8"
        case .max:
            return "(max(\(value)) \(filter))::float8"
        case .last:
            // The latest event wins; ties on event time go to the larger value, as online.
            let filterWithValue = "filter (where \(accepts(slot)) and (\(condition)) and \(value) is not null)"
            return "((array_agg(\(value)::float8 order by \(alias).event_time desc, \(value) desc) \(filterWithValue))[1])"
        case .approxDistinct:
            return "(count(distinct \(value)) \(filter))::float8"
        }
    }
}
