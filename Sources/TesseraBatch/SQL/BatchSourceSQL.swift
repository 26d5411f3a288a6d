import TesseraCore

/// SQL over a batch view's source (a table or a query): its key, timestamp and feature
/// columns as typed expressions, and "the latest row per entity" among the rows a
/// condition admits. Materialize reads rows after a watermark; training sets can read the
/// latest row at or before a spine time with the same expressions.
///
/// Timestamps are epoch microseconds (bigint). Run on a session whose time zone is UTC
/// (`BatchSourceSQL.sessionSetup`), so a `timestamp` column without a zone reads as UTC.
public struct BatchSourceSQL: Sendable {
    public let view: BatchView
    /// The source's alias in the generated SQL.
    public var alias: String

    public init(view: BatchView, alias: String = "src") {
        self.view = view
        self.alias = alias
    }

    public static let sessionSetup = "set time zone 'UTC'"

    /// The FROM item: the quoted table name or the parenthesised query, with the alias.
    public var fromItem: String {
        switch view.source.relation {
        case .table(let name): "\(name.split(separator: ".").map { Self.quoted(String($0)) }.joined(separator: ".")) as \(alias)"
        case .query(let sql): "(\(sql)) as \(alias)"
        }
    }

    /// The join-key values as text, in the entity's join-key order.
    public var keyColumns: [String] { view.source.keyColumns.map { "\(column($0))::text" } }

    public var timestamp: String { column(view.source.timestampColumn) }

    /// The row's timestamp in epoch microseconds, exact (extract returns numeric).
    public var timestampUs: String { "(extract(epoch from \(timestamp)) * 1000000)::bigint" }

    /// A timestamptz literal for epoch microseconds, comparable with the timestamp column
    /// (and sargable: an index on it is used).
    public static func time(us: Int64) -> String { "(timestamptz 'epoch' + \(us) * interval '1 microsecond')" }

    /// The feature's value cast to its type, so its text form is what `BatchValue(text:)` reads.
    public func value(_ feature: BatchFeature) -> String {
        let cast = switch feature.type {
        case .double: "float8"
        case .int: "bigint"
        case .string: "text"
        case .bool: "boolean"
        }
        return "\(column(feature.column))::\(cast)"
    }

    /// One row per entity, its newest among the source rows where `condition` holds (rows
    /// without a key or a timestamp are skipped). Columns: `rows_read` (how many source
    /// rows the condition admitted), the key columns, the timestamp in µs, then one column
    /// per feature in view order. Ordered by entity, so a cursor can page through it.
    public func latestPerEntity(where condition: String) -> String {
        let keys = keyColumns
        let keyAliases = keys.indices.map { "k\($0)" }
        let valueAliases = view.features.indices.map { "f\($0)" }
        let inner = (zip(keys, keyAliases).map { "\($0) as \($1)" } + ["\(timestampUs) as ts_us"]
            + zip(view.features.map(value), valueAliases).map { "\($0) as \($1)" }).joined(separator: ", ")
        let present = (keys + [timestamp]).map { "\($0) is not null" }.joined(separator: " and ")
        return """
            select distinct on (\(keyAliases.joined(separator: ", "))) count(*) over () as rows_read, \
            \((keyAliases + ["ts_us"] + valueAliases).joined(separator: ", ")) \
            from (select \(inner) from \(fromItem) where \(present) and (\(condition))) as rows \
            order by \(keyAliases.joined(separator: ", ")), ts_us desc
            """
    }

    private func column(_ name: String) -> String { "\(alias).\(Self.quoted(name))" }

    /// A quoted SQL identifier: any name works, none is SQL.
    static func quoted(_ identifier: String) -> String {
        "\"" + identifier.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

extension BatchValue {
    /// A value from PostgreSQL's text form of the cast column (see `BatchSourceSQL.value`);
    /// nil when it does not parse. Non-finite doubles have no JSON form and become null.
    public init?(text: String?, type: BatchValueType) {
        guard let text else {
            self = .null
            return
        }
        switch type {
        case .double:
            guard let number = Double(text) else { return nil }
            self = number.isFinite ? .double(number) : .null
        case .int:
            guard let number = Int64(text) else { return nil }
            self = .int(number)
        case .string:
            self = .string(text)
        case .bool:
            switch text {
            case "t": self = .bool(true)
            case "f": self = .bool(false)
            default: return nil
            }
        }
    }
}
