import TesseraCore

/// What one materialize run of one batch view did.
public struct MaterializeReport: Sendable, Equatable {
    public var view: String
    /// Source rows at or after `readFromUs` (every row when nil).
    public var rowsRead: Int
    /// Entities whose vector was written (their latest row was not older than Redis's).
    public var entitiesWritten: Int
    /// Entities Redis already held from a newer source row, left as they were.
    public var entitiesKeptNewer: Int
    /// Rows whose key was unusable (a query that normalises to nothing).
    public var rowsSkipped: Int
    public var readFromUs: Int64?
    public var previousWatermarkUs: Int64?
    public var watermarkUs: Int64?
    public var durationMs: Int64

    /// One line for the CLI and logs, e.g. `product_catalog: read 2000 rows (all), wrote 2000 entities, …`.
    public var summary: String {
        let from = readFromUs.map { "from \(Self.time($0))" } ?? "whole source"
        var text = "\(view): read \(rowsRead) rows (\(from)), wrote \(entitiesWritten) entities"
        if entitiesKeptNewer > 0 { text += ", kept \(entitiesKeptNewer) newer in Redis" }
        if rowsSkipped > 0 { text += ", skipped \(rowsSkipped) rows without a usable key" }
        let watermark = watermarkUs.map(Self.time) ?? "none"
        if watermarkUs == previousWatermarkUs {
            text += ", watermark \(watermark) (unchanged)"
        } else {
            text += ", watermark \(watermark) (was \(previousWatermarkUs.map(Self.time) ?? "none"))"
        }
        return text + ", \(durationMs) ms"
    }

    static func time(_ us: Int64) -> String {
        RFC3339.string(epochMilliseconds: TileMath.floorDiv(us, 1_000))
    }
}

/// A materialize run that failed, naming the view; `isMissingSource` when the source table
/// (or something its query reads) does not exist yet.
public struct MaterializeError: Error, CustomStringConvertible, Sendable {
    public var view: String
    public var message: String
    public var isMissingSource: Bool

    public var description: String { "materialize \(view): \(message)" }
}
