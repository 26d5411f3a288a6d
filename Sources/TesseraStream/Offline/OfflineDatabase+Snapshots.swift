import TesseraCore
import TesseraPostgres

/// One row of `tessera.feature_snapshots`: a vector as the lookup API served it at `asOfMs`.
public struct SnapshotRow: Sendable, Equatable {
    public var view: String
    /// `{"join_key": "value", ...}`
    public var entityJSON: String
    public var asOfMs: Int64
    public var computedAtMs: Int64
    public var newestEventMs: Int64
    /// `{"feature": value or null, ...}`
    public var featuresJSON: String
}

extension OfflineDatabase {
    /// Appends the rows in one transaction, after making sure their days' partitions exist.
    public func writeSnapshots(_ rows: [SnapshotRow]) throws {
        let days = rows.map { TileMath.floorDiv($0.asOfMs, 86_400_000) }
        guard let first = days.min(), let last = days.max() else { return }
        let connection = try connected()
        // Its own short transaction: a creator holds the default partition until it commits.
        try connection.execute(
            "select tessera.ensure_daily_partitions('feature_snapshots', 'as_of', $1::date, $2::date)",
            [Self.dayText(first), Self.dayText(last)])
        try connection.transaction {
            _ = try connection.copyIn(
                "copy tessera.feature_snapshots (view, entity, as_of, computed_at, newest_event_at, features) from stdin",
                rows: rows.lazy.map { row in
                    [
                        row.view, row.entityJSON, RFC3339.string(epochMilliseconds: row.asOfMs),
                        RFC3339.string(epochMilliseconds: row.computedAtMs), RFC3339.string(epochMilliseconds: row.newestEventMs),
                        row.featuresJSON,
                    ]
                })
        }
    }
}
