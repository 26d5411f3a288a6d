/// Tile arithmetic shared by ingestion, the roller, the Redis script and the reference model.
///
/// Tile `k` of length `T` covers event times `[k*T, (k+1)*T)`. A window of length `W` at
/// time `now` reads every tile whose end is after `now - W`: all events of (now - W, now]
/// count, and an event stops counting once it is more than one tile older than `W`.
public enum TileMath {
    /// The tile length for a window: the largest exact divisor of `W` no longer than `W/24`.
    public static func tileMs(forWindowMs windowMs: Int64) -> Int64 {
        var parts: Int64 = 24
        while windowMs % parts != 0 { parts += 1 }
        return windowMs / parts
    }

    public static func tileIndex(timeMs: Int64, tileMs: Int64) -> Int64 {
        floorDiv(timeMs, tileMs)
    }

    /// The first tile a window reads at `nowMs`; the window reads every tile from here on.
    public static func firstTile(nowMs: Int64, windowMs: Int64, tileMs: Int64) -> Int64 {
        floorDiv(nowMs - windowMs, tileMs)
    }

    /// When tile `k` leaves a window: the moment `now - W` reaches the tile's end.
    public static func expiryMs(tile: Int64, tileMs: Int64, windowMs: Int64) -> Int64 {
        (tile + 1) * tileMs + windowMs
    }

    public static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        let quotient = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? quotient - 1 : quotient
    }
}
