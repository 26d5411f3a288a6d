import TesseraCore
import TesseraRedis

/// The Redis Lua script of one stream view: checks the offset fence, applies a delta's
/// tile operations, recomputes every feature of the entity from its tiles at `now`, and
/// writes the packed vector, all atomically. With an empty partition it only
/// recomputes (the roller's call). Generated from the view so the feature layout is
/// compiled in rather than parsed on every call.
///
/// KEYS: 1 state hash, 2 vector, 3… approx-distinct tiles (per slot, first tile to last).
/// ARGV: 1 partition ("" = recompute only, "*" = a backfill's rebuild), 2 first offset
///       (a rebuild: its fences, "partition=expected>cutoff;…", expected empty for none),
///       3 last offset, 4 now (ms), 5 newest event time (ms, 0 = none), 6 op count, then
///       ops of 4 strings (code, field or key index, value, extra: a `last`'s event time or
///       a HyperLogLog's ttl in ms), then per approx-distinct slot: first tile, tile count.
///       Deltas add (i, f, <, >, L, H); rebuilds clear (C tile range, X field, D key) and set (S, T, H).
/// Returns {1, 0} applied, {0, fence} already applied, {-1, fence} partly applied:
/// the caller re-sends only the events after `fence`; {-2, partition} a rebuild refused
/// because that partition's fence moved since the backfill read it.
public struct ApplyScript: Sendable {
    public let view: StreamView
    public let futureToleranceMs: Int64
    public let script: RedisScript

    public init(view: StreamView, futureToleranceMs: Int64) {
        self.view = view
        self.futureToleranceMs = futureToleranceMs
        script = RedisScript(source: Self.source(view: view, futureToleranceMs: futureToleranceMs))
    }

    /// Keys and vectors expire when an entity has been quiet for its view's ttl plus a day.
    public static func retentionMs(_ view: StreamView) -> Int64 { view.ttlMs + 86_400_000 }

    static func source(view: StreamView, futureToleranceMs: Int64) -> String {
        var lua = """
        -- Tessera apply script for stream view '\(view.name)' (generated; see ApplyScript.swift)
        local state, vectorKey = KEYS[1], KEYS[2]
        local now = tonumber(ARGV[4])
        local NAN = 0/0
        local partition = ARGV[1]
        if partition == '*' then
          -- A backfill's rebuild: only if every fence is still what the backfill read.
          for p, expected in string.gmatch(ARGV[2], '(%d+)=(%d*)>%d+') do
            if (redis.call('HGET', state, 'f:' .. p) or '') ~= expected then return {-2, tonumber(p)} end
          end
          for p, cutoff in string.gmatch(ARGV[2], '(%d+)=%d*>(%d+)') do
            redis.call('HSET', state, 'f:' .. p, cutoff)
          end
        elseif partition ~= '' then
          local fenceField = 'f:' .. partition
          local fence = tonumber(redis.call('HGET', state, fenceField) or '-1')
          if fence >= tonumber(ARGV[3]) then return {0, fence} end
          if fence >= tonumber(ARGV[2]) then return {-1, fence} end
          redis.call('HSET', state, fenceField, ARGV[3])
        end
        if tonumber(ARGV[5]) > tonumber(redis.call('HGET', state, 'e') or '0') then
          redis.call('HSET', state, 'e', ARGV[5])
        end
        local i = 7
        for _ = 1, tonumber(ARGV[6]) do
          local op, field, value, extra = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
          i = i + 4
          if op == 'i' then
            redis.call('HINCRBY', state, field, value)
          elseif op == 'f' then
            redis.call('HINCRBYFLOAT', state, field, value)
          elseif op == '<' or op == '>' then
            local current = redis.call('HGET', state, field)
            local v = tonumber(value)
            if not current or (op == '<' and v < tonumber(current)) or (op == '>' and v > tonumber(current)) then
              redis.call('HSET', state, field, value)
            end
          elseif op == 'L' then
            local t, v = tonumber(extra), tonumber(value)
            local current = redis.call('HMGET', state, field, field .. 't')
            local ct = tonumber(current[2])
            if not ct or t > ct or (t == ct and v > tonumber(current[1])) then
              redis.call('HSET', state, field, value, field .. 't', extra)
            end
          elseif op == 'H' then
            local key = KEYS[tonumber(field)]
            redis.call('PFADD', key, value)
            redis.call('PEXPIRE', key, extra)
          elseif op == 'C' then
            local fields = {}
            for k = tonumber(value), tonumber(extra) do
              fields[#fields + 1] = field .. ':' .. k
              fields[#fields + 1] = field .. ':' .. k .. 't'
            end
            if #fields > 0 then redis.call('HDEL', state, unpack(fields)) end
          elseif op == 'X' then
            redis.call('HDEL', state, field, field .. 't')
          elseif op == 'D' then
            redis.call('DEL', KEYS[tonumber(field)])
          elseif op == 'S' then
            redis.call('HSET', state, field, value)
          elseif op == 'T' then
            redis.call('HSET', state, field, value, field .. 't', extra)
          end
        end
        local function readTiles(slot, tileMs, longestMs, suffix)
          local first = math.floor((now - longestMs) / tileMs)
          local last = math.floor((now + \(futureToleranceMs)) / tileMs)
          local fields = {}
          for k = first, last do fields[#fields + 1] = slot .. ':' .. k .. suffix end
          return first, redis.call('HMGET', state, unpack(fields))
        end
        local function fold(first, values, tileMs, windowMs, start, combine)
          local acc = start
          for idx = math.max(math.floor((now - windowMs) / tileMs) - first + 1, 1), #values do
            if values[idx] then acc = combine(acc, tonumber(values[idx])) end
          end
          return acc
        end
        local function add(a, b) return a + b end
        local function least(a, b) if a ~= a or b < a then return b end return a end
        local function most(a, b) if a ~= a or b > a then return b end return a end
        local function lastOf(first, values, times, tileMs, windowMs)
          local bestT, bestV = nil, NAN
          for idx = math.max(math.floor((now - windowMs) / tileMs) - first + 1, 1), #values do
            local t = tonumber(times[idx])
            if t and (not bestT or t > bestT or (t == bestT and tonumber(values[idx]) > bestV)) then
              bestT, bestV = t, tonumber(values[idx])
            end
          end
          return bestV
        end
        local function number(text) if text then return tonumber(text) end return NAN end
        local function ratio(n, d, alpha, beta)
          if n ~= n or d ~= d or d + beta == 0 then return NAN end
          return (n + alpha) / (d + beta)
        end
        local hllFirst, hllBase, hllCount = {}, {}, {}
        local keyIndex = 3

        """
        for slot in view.slots where slot.aggregation == .approxDistinct {
            lua += """
            hllFirst[\(slot.id)], hllCount[\(slot.id)], hllBase[\(slot.id)] = tonumber(ARGV[i]), tonumber(ARGV[i + 1]), keyIndex
            keyIndex, i = keyIndex + hllCount[\(slot.id)], i + 2

            """
        }
        // Per-slot tiles live in tables, not locals: Lua allows 200 locals per function.
        lua += "local first, tiles, times, trim = {}, {}, {}, {}\n"
        for slot in view.slots {
            guard let tileMs = slot.tileMs, slot.aggregation != .approxDistinct else { continue }
            let name = slot.storageName
            lua += "first[\(slot.id)], tiles[\(slot.id)] = readTiles('\(name)', \(tileMs), \(slot.longestWindowMs), '')\n"
            if slot.aggregation == .last {
                lua += "times[\(slot.id)] = select(2, readTiles('\(name)', \(tileMs), \(slot.longestWindowMs), 't'))\n"
            }
            // Tiles that just left the slot's longest window; only the roller trims, so applies stay lean.
            for suffix in slot.aggregation == .last ? ["", "t"] : [""] {
                lua += "if partition == '' then for k = first[\(slot.id)] - 8, first[\(slot.id)] - 1 do trim[#trim + 1] = '\(name):' .. k .. '\(suffix)' end end\n"
            }
        }
        lua += "if #trim > 0 then redis.call('HDEL', state, unpack(trim)) end\n"
        lua += "local v = {}\n"
        for (index, feature) in view.features.enumerated() {
            let target = "v[\(index + 1)]"
            switch feature.kind {
            case .windowed(let slotID, let windowMs):
                let slot = view.slots[slotID]
                let tileMs = slot.tileMs!
                switch slot.aggregation {
                case .count, .sum:
                    lua += "\(target) = fold(first[\(slotID)], tiles[\(slotID)], \(tileMs), \(windowMs), 0, add)\n"
                case .min:
                    lua += "\(target) = fold(first[\(slotID)], tiles[\(slotID)], \(tileMs), \(windowMs), NAN, least)\n"
                case .max:
                    lua += "\(target) = fold(first[\(slotID)], tiles[\(slotID)], \(tileMs), \(windowMs), NAN, most)\n"
                case .last:
                    lua += "\(target) = lastOf(first[\(slotID)], tiles[\(slotID)], times[\(slotID)], \(tileMs), \(windowMs))\n"
                case .approxDistinct:
                    lua += """
                    do
                      local keys = {}
                      local from = math.max(math.floor((now - \(windowMs)) / \(tileMs)), hllFirst[\(slotID)])
                      for k = from, hllFirst[\(slotID)] + hllCount[\(slotID)] - 1 do keys[#keys + 1] = KEYS[hllBase[\(slotID)] + k - hllFirst[\(slotID)]] end
                      \(target) = 0
                      if #keys > 0 then \(target) = redis.call('PFCOUNT', unpack(keys)) end
                    end

                    """
                }
            case .lifetime(let slotID):
                let slot = view.slots[slotID]
                switch slot.aggregation {
                case .count, .sum:
                    lua += "\(target) = tonumber(redis.call('HGET', state, '\(view.slots[slotID].storageName)') or '0')\n"
                default:
                    lua += "\(target) = number(redis.call('HGET', state, '\(view.slots[slotID].storageName)'))\n"
                }
            case .ratio:
                continue  // after every aggregate, which a ratio may name in any order
            }
        }
        for (index, feature) in view.features.enumerated() {
            if case .ratio(let numerator, let denominator, let alpha, let beta) = feature.kind {
                lua += "v[\(index + 1)] = ratio(v[\(numerator + 1)], v[\(denominator + 1)], \(alpha), \(beta))\n"
            }
        }
        let count = view.features.count
        lua += """
        local newest = tonumber(redis.call('HGET', state, 'e') or '0')
        local packed = 'TV1' .. struct.pack('<Hddd', \(count), \(view.layoutFingerprint), newest, now)
          .. struct.pack('<' .. string.rep('d', \(count)), unpack(v))
        redis.call('SET', vectorKey, packed, 'PX', \(retentionMs(view)))
        redis.call('PEXPIRE', state, \(retentionMs(view)))
        return {1, 0}

        """
        return lua
    }
}
