import TesseraCore
import TesseraRedis

/// The Redis Lua script of one stream view: checks the offset fences, applies a delta's
/// tile operations, brings the entity's vector up to date at `now`, and writes it, all
/// atomically. With an empty partition it only recomputes (the roller's call). Generated
/// from the view so the feature layout is compiled in rather than parsed on every call.
///
/// A delta updates the stored vector in place when the vector has this layout and was
/// computed at a time whose windows read exactly the tiles they read at `now` (the same
/// first tile of every window and the same last readable tile of every slot): counts and
/// sums add the delta's part inside each window, minimums and maximums compare, approximate
/// distinct counts are counted again only when a PFADD changed a HyperLogLog they read,
/// `last` slots and lifetime values are read from the state. A delta to a blank state (no
/// event ever applied: no newest event time, so no tiles) starts from empty windows, so a
/// new entity costs no tile reads. Otherwise (a tile boundary passed, the clock went back,
/// no vector, another layout, the roller, a rebuild) every feature is recomputed from the
/// tiles. (Measured by replaying a benchmark's calls under callgrind: the blank-state start
/// took the first 8,000 calls of a drain from 814,000 to 258,000 instructions a call.)
///
/// KEYS: 1 state hash, 2 vector, 3… approx-distinct tiles (per slot, first tile to last).
/// ARGV: 1 partitions, comma-separated ("" = recompute only, "*" = a backfill's rebuild),
///       2 first offsets, one per partition (a rebuild: its fences, "partition=expected>cutoff;…",
///       expected empty for none), 3 last offsets (a rebuild: "1" when it writes no value, so an
///       absent entity stays absent), 4 now (ms), 5 newest event time (ms, 0 = none), 6 op count, then
///       ops of 4 strings (code, field or key index, value, extra: a `last`'s event time or
///       a HyperLogLog's ttl in ms), then per approx-distinct slot: first tile, tile count,
///       then (deltas) one in-place contribution per `inPlaceFeatures` entry ("" = none).
///       Deltas add (i, f, <, >, L, H); rebuilds clear (C tile range, X field, D key) and set (S, T, H).
/// Returns {1, 0} applied, {0, fence} already applied, {-1, fence} partly applied (one
/// partition): the caller re-sends only the events after `fence`; {-3, 0} the partitions'
/// fences disagree (some events applied, others not): the caller re-sends one delta per
/// partition; {-2, partition} a rebuild refused because that partition's fence moved since
/// the backfill read it.
public struct ApplyScript: Sendable {
    public let view: StreamView
    public let futureToleranceMs: Int64
    public let script: RedisScript
    /// Indexes of the features a delta updates in place from its contributions: windowed
    /// counts, sums, minimums and maximums, in feature order.
    public let inPlaceFeatures: [Int]

    public init(view: StreamView, futureToleranceMs: Int64) {
        self.view = view
        self.futureToleranceMs = futureToleranceMs
        inPlaceFeatures = Self.inPlaceFeatures(of: view)
        script = RedisScript(source: Self.source(view: view, futureToleranceMs: futureToleranceMs))
    }

    /// Keys and vectors expire when an entity has been quiet for its view's ttl plus a day.
    public static func retentionMs(_ view: StreamView) -> Int64 { view.ttlMs + 86_400_000 }

    /// A delta renews the state's expiry only when the last renewal (the state's `r` field,
    /// the daemon's clock) is at least this old: a busy entity skips a command per call,
    /// and its state still outlives a quiet spell of the ttl plus 23 hours 50 minutes.
    static let expiryRefreshMs: Int64 = 600_000

    static func inPlaceFeatures(of view: StreamView) -> [Int] {
        view.features.indices.filter { index in
            guard case .windowed(let slot, _) = view.features[index].kind else { return false }
            return [.count, .sum, .min, .max].contains(view.slots[slot].aggregation)
        }
    }

    static func source(view: StreamView, futureToleranceMs: Int64) -> String {
        var lua = """
        -- Tessera apply script for stream view '\(view.name)' (generated; see ApplyScript.swift)
        local state, vectorKey = KEYS[1], KEYS[2]
        local now = tonumber(ARGV[4])
        local NAN = 0/0
        local partition = ARGV[1]
        local newest, stored, blank, recent
        if partition == '*' then
          -- A rebuild with nothing to write for an entity Redis does not hold: the stream
          -- would have made no state for it either (its events changed no window).
          if ARGV[3] == '1' and redis.call('EXISTS', state) == 0 then return {1, 0} end
          -- A backfill's rebuild: only if every fence is still what the backfill read.
          for p, expected in string.gmatch(ARGV[2], '(%d+)=(%d*)>%d+') do
            if (redis.call('HGET', state, 'f:' .. p) or '') ~= expected then return {-2, tonumber(p)} end
          end
          for p, cutoff in string.gmatch(ARGV[2], '(%d+)=%d*>(%d+)') do
            redis.call('HSET', state, 'f:' .. p, cutoff)
          end
          newest = tonumber(redis.call('HGET', state, 'e') or '0')
        elseif partition ~= '' then
          -- One HMGET: the newest event time, every partition's fence, when the expiry was renewed.
          local fields, firsts, lasts
          if not string.find(partition, ',', 1, true) then
            fields, firsts, lasts = {'e', 'f:' .. partition, 'r'}, {tonumber(ARGV[2])}, {ARGV[3]}
          else
            fields, firsts, lasts = {'e'}, {}, {}
            for p in string.gmatch(partition, '%d+') do fields[#fields + 1] = 'f:' .. p end
            for o in string.gmatch(ARGV[2], '%d+') do firsts[#firsts + 1] = tonumber(o) end
            for o in string.gmatch(ARGV[3], '%d+') do lasts[#lasts + 1] = o end
            fields[#fields + 1] = 'r'
          end
          local current = redis.call('HMGET', state, unpack(fields))
          local fresh, done = true, true
          for k = 1, #firsts do
            local fence = tonumber(current[k + 1] or '-1')
            if fence >= firsts[k] then fresh = false end
            if fence < tonumber(lasts[k]) then done = false end
          end
          if done then return {0, tonumber(current[2] or '-1')} end
          if not fresh then
            if #firsts == 1 then return {-1, tonumber(current[2])} end
            return {-3, 0}
          end
          local set = {}
          for k = 1, #firsts do set[#set + 1] = fields[k + 1]; set[#set + 1] = lasts[k] end
          local renewed = tonumber(current[#fields] or '')
          recent = renewed and renewed <= now and now - renewed < \(expiryRefreshMs)
          if not recent then set[#set + 1] = 'r'; set[#set + 1] = ARGV[4] end
          redis.call('HSET', state, unpack(set))
          -- No newest event time: no event ever reached this state, so it has no tiles,
          -- and a vector is not worth reading (the first delta starts from empty windows).
          blank = not current[1]
          newest = tonumber(current[1] or '0')
          if not blank then stored = redis.call('GET', vectorKey) end
        else
          newest = tonumber(redis.call('HGET', state, 'e') or '0')
        end
        if tonumber(ARGV[5]) > newest then
          redis.call('HSET', state, 'e', ARGV[5])
          newest = tonumber(ARGV[5])
        end
        local i = 7
        -- KEYS indexes of HyperLogLogs a PFADD changed.
        local changed = {}
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
            local index = tonumber(field)
            if redis.call('PFADD', KEYS[index], value) == 1 then changed[index] = true end
            redis.call('PEXPIRE', KEYS[index], extra)
          elseif op == 'C' then
            local fields = {}
            for k = tonumber(value), tonumber(extra) do
              local name = field .. ':' .. string.format('%d', k)
              fields[#fields + 1] = name
              fields[#fields + 1] = name .. 't'
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
        -- Tile numbers as integers: Lua's own number-to-text is a slow printf('%.14g').
        local function readTiles(slot, tileMs, longestMs, suffix)
          local first = math.floor((now - longestMs) / tileMs)
          local last = math.floor((now + \(futureToleranceMs)) / tileMs)
          local fields, prefix = {}, slot .. ':'
          for k = first, last do fields[#fields + 1] = prefix .. string.format('%d', k) .. suffix end
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
        lua += inPlaceCheck(view: view, futureToleranceMs: futureToleranceMs)
        lua += "if v then\n" + inPlaceUpdate(view: view) + "else\n" + fullRecompute(view: view) + "end\n"
        for (index, feature) in view.features.enumerated() {
            if case .ratio(let numerator, let denominator, let alpha, let beta) = feature.kind {
                lua += "v[\(index + 1)] = ratio(v[\(numerator + 1)], v[\(denominator + 1)], \(alpha), \(beta))\n"
            }
        }
        let count = view.features.count
        // Numbers passed to redis.call as text: Redis formats a Lua number with printf.
        lua += """
        local packed = 'TV1' .. struct.pack('<Hddd\(String(repeating: "d", count: count))', \(count), \(view.layoutFingerprint), newest, now, unpack(v, 1, \(count)))
        redis.call('SET', vectorKey, packed, 'PX', '\(retentionMs(view))')
        -- A delta renews the state's expiry when the last renewal ('r') is \(expiryRefreshMs / 60_000) minutes old.
        if not recent then redis.call('PEXPIRE', state, '\(retentionMs(view))') end
        return {1, 0}

        """
        return lua
    }

    /// Sets `v` to the stored values when the stored vector can be updated in place (see
    /// the type's comment), else leaves it nil.
    private static func inPlaceCheck(view: StreamView, futureToleranceMs: Int64) -> String {
        var sameTiles: [String] = []
        var tileSizes: [Int64] = []
        var windows: [(tileMs: Int64, windowMs: Int64)] = []
        for feature in view.features {
            guard case .windowed(let slotID, let windowMs) = feature.kind, let tileMs = view.slots[slotID].tileMs else { continue }
            if !tileSizes.contains(tileMs) { tileSizes.append(tileMs) }
            if !windows.contains(where: { $0 == (tileMs, windowMs) }) { windows.append((tileMs, windowMs)) }
        }
        for tileMs in tileSizes {
            sameTiles.append("math.floor((at + \(futureToleranceMs)) / \(tileMs)) == math.floor((now + \(futureToleranceMs)) / \(tileMs))")
        }
        for (tileMs, windowMs) in windows {
            sameTiles.append("math.floor((at - \(windowMs)) / \(tileMs)) == math.floor((now - \(windowMs)) / \(tileMs))")
        }
        let count = view.features.count
        // A blank state's first delta starts from empty windows: its contributions are the
        // values (approximate distinct counts are counted, `last` and lifetime values read).
        let empty = view.features.map { feature -> String in
            guard case .windowed(let slot, _) = feature.kind else { return "NAN" }
            return [.count, .sum, .approxDistinct].contains(view.slots[slot].aggregation) ? "0" : "NAN"
        }
        return """
        local v, fresh
        if stored and string.sub(stored, 1, 3) == 'TV1' and #stored == \(3 + 2 + 24 + 8 * count) then
          local count, fingerprint, _, at = struct.unpack('<Hddd', stored, 4)
          if count == \(count) and fingerprint == \(view.layoutFingerprint) and now >= at\(sameTiles.map { "\n    and " + $0 }.joined()) then
            v = {struct.unpack('<\(String(repeating: "d", count: count))', stored, 30)}
          end
        elseif blank then
          v, fresh = {\(empty.joined(separator: ", "))}, true
        end

        """
    }

    /// The in-place update: contributions for counts, sums, minimums and maximums (ARGV
    /// from `i` on, in `inPlaceFeatures` order), the rest read as the full recompute does.
    private static func inPlaceUpdate(view: StreamView) -> String {
        var lua = ""
        var argument = 0
        for (index, feature) in view.features.enumerated() {
            let target = "v[\(index + 1)]"
            switch feature.kind {
            case .windowed(let slotID, let windowMs):
                let slot = view.slots[slotID]
                let tileMs = slot.tileMs!
                switch slot.aggregation {
                case .count, .sum:
                    lua += "\(target) = \(target) + tonumber(ARGV[i + \(argument)])\n"
                    argument += 1
                case .min, .max:
                    lua += "if ARGV[i + \(argument)] ~= '' then \(target) = \(slot.aggregation == .min ? "least" : "most")(\(target), tonumber(ARGV[i + \(argument)])) end\n"
                    argument += 1
                case .last:
                    lua += lastFeature(slot: slot, windowMs: windowMs, target: target)
                case .approxDistinct:
                    lua += """
                    do
                      local from = math.max(math.floor((now - \(windowMs)) / \(tileMs)), hllFirst[\(slotID)])
                      local base = hllBase[\(slotID)] - hllFirst[\(slotID)]
                      for k = from, hllFirst[\(slotID)] + hllCount[\(slotID)] - 1 do
                        if fresh or changed[base + k] then \(target) = \(distinctCount(slotID: slotID, tileMs: tileMs, windowMs: windowMs)) break end
                      end
                    end

                    """
                }
            case .lifetime(let slotID):
                lua += lifetimeFeature(view: view, slotID: slotID, target: target)
            case .ratio:
                continue
            }
        }
        return lua
    }

    /// Every feature from the tiles; the roller's call also trims tiles that left the slot's
    /// longest window (only the roller trims, so applies stay lean).
    private static func fullRecompute(view: StreamView) -> String {
        // Per-slot tiles live in tables, not locals: Lua allows 200 locals per function.
        var lua = "v = {}\nlocal first, tiles, times, trim = {}, {}, {}, {}\n"
        for slot in view.slots {
            guard let tileMs = slot.tileMs, slot.aggregation != .approxDistinct else { continue }
            let name = slot.storageName
            lua += "first[\(slot.id)], tiles[\(slot.id)] = readTiles('\(name)', \(tileMs), \(slot.longestWindowMs), '')\n"
            if slot.aggregation == .last {
                lua += "times[\(slot.id)] = select(2, readTiles('\(name)', \(tileMs), \(slot.longestWindowMs), 't'))\n"
            }
            for suffix in slot.aggregation == .last ? ["", "t"] : [""] {
                lua += "if partition == '' then for k = first[\(slot.id)] - 8, first[\(slot.id)] - 1 do trim[#trim + 1] = '\(name):' .. string.format('%d', k) .. '\(suffix)' end end\n"
            }
        }
        lua += "if #trim > 0 then redis.call('HDEL', state, unpack(trim)) end\n"
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
                    lua += "\(target) = \(distinctCount(slotID: slotID, tileMs: tileMs, windowMs: windowMs))\n"
                }
            case .lifetime(let slotID):
                lua += lifetimeFeature(view: view, slotID: slotID, target: target)
            case .ratio:
                continue  // after every aggregate, which a ratio may name in any order
            }
        }
        return lua
    }

    /// PFCOUNT over the HyperLogLogs of the window (0 when it reads none).
    private static func distinctCount(slotID: Int, tileMs: Int64, windowMs: Int64) -> String {
        """
        (function()
          local keys = {}
          local from = math.max(math.floor((now - \(windowMs)) / \(tileMs)), hllFirst[\(slotID)])
          for k = from, hllFirst[\(slotID)] + hllCount[\(slotID)] - 1 do keys[#keys + 1] = KEYS[hllBase[\(slotID)] + k - hllFirst[\(slotID)]] end
          if #keys > 0 then return redis.call('PFCOUNT', unpack(keys)) end
          return 0
        end)()
        """
    }

    /// A windowed `last` from its slot's tiles: a value alone does not say when it happened.
    private static func lastFeature(slot: AggregationSlot, windowMs: Int64, target: String) -> String {
        let (name, tileMs) = (slot.storageName, slot.tileMs!)
        return """
        do
          local first, values = readTiles('\(name)', \(tileMs), \(slot.longestWindowMs), '')
          local _, times = readTiles('\(name)', \(tileMs), \(slot.longestWindowMs), 't')
          \(target) = lastOf(first, values, times, \(tileMs), \(windowMs))
        end

        """
    }

    private static func lifetimeFeature(view: StreamView, slotID: Int, target: String) -> String {
        let name = view.slots[slotID].storageName
        switch view.slots[slotID].aggregation {
        case .count, .sum: return "\(target) = tonumber(redis.call('HGET', state, '\(name)') or '0')\n"
        default: return "\(target) = number(redis.call('HGET', state, '\(name)'))\n"
        }
    }
}
