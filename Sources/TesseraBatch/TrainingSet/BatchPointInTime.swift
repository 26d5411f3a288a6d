import TesseraCore
import TesseraPostgres

/// A batch view's features as a lookup would have answered them at each target's time:
/// the entity's latest source row with timestamp ≤ t (nothing later can leak in), no
/// value when there is none or it is older than the view's ttl (a lookup's
/// OUTSIDE_MAX_AGE, which has no value either). Reads the same typed expressions as
/// `materialize` (`BatchSourceSQL`), one LATERAL query over the target table.
struct BatchPointInTime {
    let view: BatchView
    private let source: BatchSourceSQL

    init(view: BatchView) {
        self.view = view
        source = BatchSourceSQL(view: view)
    }

    func query() -> String {
        let keyMatch = zip(source.keyColumns, view.entity.joinKeys).map { "\($0) = t.\($1.rawValue)" }.joined(separator: " and ")
        let values = view.features.enumerated().map { "\(source.value($1)) as f\($0)" }
        let ttlUs = view.ttlMs * 1_000
        return """
            select t.row_number, \(values.indices.map { "b.f\($0)" }.joined(separator: ", "))
            from \(TargetTable.name) t
            left join lateral (select \(values.joined(separator: ", ")) from \(source.fromItem)
                where \(keyMatch) and \(source.timestamp) <= t.now_at
                  and \(source.timestamp) >= t.now_at - interval '\(ttlUs) microseconds'
                order by \(source.timestamp) desc limit 1) b on true
            order by t.row_number
            """
    }

    /// The view's values for every row of the target table, in row order (`.null` = no value).
    func values(on connection: PostgresConnection) throws -> [[BatchValue]] {
        try connection.execute(query()).rows.map { row in
            try view.features.enumerated().map { index, feature in
                guard let value = BatchValue(text: row[index + 1], type: feature.type) else {
                    throw TrainingSetError.badBatchValue(view: view.name, feature: feature.name, text: row[index + 1] ?? "")
                }
                return value
            }
        }
    }
}
