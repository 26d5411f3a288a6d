import TesseraCore
import TesseraRedis

/// The Lua script that stores one entity's batch vector unless Redis already holds a
/// vector of the same layout from a newer source row: a stale or concurrent run can
/// never put an older row back. Rows of the same time are written again (idempotent).
enum BatchWriteScript {
    /// KEYS[1] vector key; ARGV[1] the TB1 vector, ARGV[2] its source time (ms),
    /// ARGV[3] its layout fingerprint, ARGV[4] expiry (ms). Returns 1 written, 0 kept.
    static let script = RedisScript(source: """
        local old = redis.call('GET', KEYS[1])
        if old and #old >= \(BatchVector.headerBytes) and string.sub(old, 1, 3) == 'TB1' then
          local fingerprint, time = struct.unpack('<dd', old, 6)
          if fingerprint == tonumber(ARGV[3]) and time > tonumber(ARGV[2]) then return 0 end
        end
        redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[4])
        return 1
        """)

    /// Vectors outlive the view's ttl by a day after their last write, as stream vectors
    /// do: a row older than the ttl still answers OUTSIDE_MAX_AGE rather than NOT_FOUND.
    static func expiryMs(_ view: BatchView) -> Int64 { view.ttlMs + 86_400_000 }

    static func command(sha: String, key: String, vector: BatchVector, view: BatchView) -> [[UInt8]] {
        [
            Array("EVALSHA".utf8), Array(sha.utf8), Array("1".utf8), Array(key.utf8), vector.encoded(),
            Array(String(vector.sourceTimeMs).utf8), Array(String(vector.layoutFingerprint).utf8),
            Array(String(expiryMs(view)).utf8),
        ]
    }
}
