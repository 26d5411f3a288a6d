import TesseraCore
import TesseraPostgres

/// A session-local table of recompute targets, filled with COPY so a whole chunk of a
/// spine (or a sample of entities) is one query per view instead of one per row.
struct TargetTable {
    static let name = "pg_temp.tessera_targets"
    /// Join-key fields get a text column each, named like the event log's column.
    static let keyFields: [EventField] = EventField.allCases.filter(\.isText)

    /// Creates the table on this connection if it is not there yet.
    static func create(on connection: PostgresConnection) throws {
        let keys = keyFields.map { "\($0.rawValue) text" }.joined(separator: ", ")
        try connection.execute(
            "create temp table if not exists tessera_targets (row_number bigint not null, \(keys), now_ms bigint not null, now_at timestamptz not null, fences jsonb)")
    }

    /// Replaces the table's rows with `targets`, numbered from 0 in order.
    static func load(_ targets: [RecomputeTarget], on connection: PostgresConnection) throws {
        try connection.execute("truncate \(name)")
        let columns = (["row_number"] + keyFields.map(\.rawValue) + ["now_ms", "now_at", "fences"]).joined(separator: ", ")
        _ = try connection.copyIn(
            "copy \(name) (\(columns)) from stdin",
            rows: targets.enumerated().lazy.map { index, target -> [String?] in
                let keys: [String?] = keyFields.map { target.keys[$0] }
                return [String(index)] + keys + [String(target.nowMs), RFC3339.string(epochMilliseconds: target.nowMs), target.fences.map(fencesJSON)]
            })
        try connection.execute("analyze \(name)")
    }

    private static func fencesJSON(_ fences: [Int32: Int64]) -> String {
        "{" + fences.sorted { $0.key < $1.key }.map { "\"\($0.key)\": \($0.value)" }.joined(separator: ", ") + "}"
    }
}
