import TesseraCore
import TesseraPostgres

/// `tessera.batch_view_watermarks`: per batch view, the newest source timestamp a run has
/// read, under the view definition (layout fingerprint) it was read with.
struct WatermarkTable {
    let connection: PostgresConnection

    /// Epoch microseconds, or nil when the view was never read under its current definition.
    func watermarkUs(of view: BatchView) throws -> Int64? {
        let result = try connection.execute(
            """
            select layout_fingerprint, (extract(epoch from watermark) * 1000000)::bigint
            from tessera.batch_view_watermarks where view_name = $1
            """,
            [view.name])
        guard let row = result.rows.first, row[0].flatMap({ UInt32($0) }) == view.layoutFingerprint else { return nil }
        return row[1].flatMap { Int64($0) }
    }

    /// Moves the watermark forward to `us`; never back, so a slower concurrent run cannot
    /// undo a faster one. A watermark set under another definition is replaced.
    func advance(_ view: BatchView, toUs us: Int64) throws {
        try connection.execute(
            """
            insert into tessera.batch_view_watermarks as w (view_name, layout_fingerprint, watermark)
            values ($1, $2, timestamptz 'epoch' + $3::bigint * interval '1 microsecond')
            on conflict (view_name) do update set
                watermark = case when w.layout_fingerprint = excluded.layout_fingerprint
                                 then greatest(w.watermark, excluded.watermark) else excluded.watermark end,
                layout_fingerprint = excluded.layout_fingerprint,
                updated_at = now()
            """,
            [view.name, String(view.layoutFingerprint), String(us)])
    }
}
