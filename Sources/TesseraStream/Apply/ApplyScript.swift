import TesseraCore
import TesseraRedis

/// The Redis Lua script of one stream view: checks the offset fences, applies a delta's
/// tile operations, brings the entity's vector up to date at `now`, and writes it, all
/// atomically. With an empty partition it only recomputes (the roller's call). Generated
/// from the view so the feature layout is compiled in rather than parsed on every call.
///
/// The vector is brought up to date slot by slot. A slot whose windows read at `now` the
/// tiles they read when the stored vector was computed (the same first tile of every
/// window and the same last readable tile) keeps its values and, for a delta, takes the
/// delta's part: counts and sums add the part inside each window, minimums and maximums
/// compare, approximate distinct counts are counted again only when a PFADD changed a
/// HyperLogLog they read. The other slots (a tile boundary passed) are recomputed from
/// their tiles, so a boundary of the 1 h windows' 150 s tiles rereads only those slots (and
/// the sums, which are recomputed whenever any slot moves, to bound their rounding drift);
/// `last` slots and lifetime values are always read from the state. A delta to a blank
/// state (no event ever applied: no newest event time, so no tiles) starts from empty
/// windows, so a new entity costs no tile reads. With no usable vector (none, another
/// layout, the clock went back, a rebuild) every slot is recomputed. The roller's call
/// takes the same path with no delta. (Measured by replaying a benchmark's calls under
/// callgrind: the blank-state start took the first 8,000 calls of a drain from 814,000 to
/// 258,000 instructions a call.)
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
          -- The roller's call: slots whose windows still read the same tiles keep their values
          -- (only while the state exists: a vector can outlive its state by the 10-minute renewal).
          local e = redis.call('HGET', state, 'e')
          newest = tonumber(e or '0')
          if e then stored = redis.call('GET', vectorKey) end
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
        lua += storedVectorCheck(view: view, futureToleranceMs: futureToleranceMs)
        lua += vectorUpdate(view: view)
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

    /// Sets `v` to the stored values when the stored vector has this layout and was computed
    /// at `at <= now`, and `moved[slot]` for each windowed slot whose windows read other tiles
    /// at `now` than at `at` (another last readable tile, or another first tile of one of its
    /// windows). A blank state's first delta starts from empty windows (nothing moved); with
    /// no usable vector, `v` is empty and every slot counts as moved.
    private static func storedVectorCheck(view: StreamView, futureToleranceMs: Int64) -> String {
        // `last` slots always read their tiles, so they need no entry.
        let checked = view.slots.filter { $0.tileMs != nil && $0.aggregation != .last }
        func edges(_ slot: AggregationSlot) -> String {
            let tileMs = slot.tileMs!
            return (["math.floor((at + \(futureToleranceMs)) / \(tileMs)) ~= math.floor((now + \(futureToleranceMs)) / \(tileMs))"]
                + view.windows(ofSlot: slot.id).map { "math.floor((at - \($0)) / \(tileMs)) ~= math.floor((now - \($0)) / \(tileMs))" })
                .joined(separator: "\n      or ")
        }
        var movedChecks = checked.filter { $0.aggregation != .sum }.map { "moved[\($0.id)] = " + edges($0) }
        // In-place sums gather rounding (HINCRBYFLOAT keeps long doubles, the vector doubles):
        // they are recomputed whenever any slot moves, so the drift lasts at most the view's
        // smallest tile, as when every edge recomputed the whole vector.
        let others = checked.filter { $0.aggregation != .sum }.map { "moved[\($0.id)]" }
        for slot in checked where slot.aggregation == .sum {
            movedChecks.append("moved[\(slot.id)] = " + (others + [edges(slot)]).joined(separator: " or "))
        }
        let everySlot = checked.map { "[\($0.id)] = true" }.joined(separator: ", ")
        let count = view.features.count
        // A blank state's first delta: its contributions are the values (approximate distinct
        // counts are counted, `last` and lifetime values read).
        let empty = view.features.map { feature -> String in
            guard case .windowed(let slot, _) = feature.kind else { return "NAN" }
            return [.count, .sum, .approxDistinct].contains(view.slots[slot].aggregation) ? "0" : "NAN"
        }
        return """
        local v, fresh, moved
        if stored and string.sub(stored, 1, 3) == 'TV1' and #stored == \(3 + 2 + 24 + 8 * count) then
          local count, fingerprint, _, at = struct.unpack('<Hddd', stored, 4)
          if count == \(count) and fingerprint == \(view.layoutFingerprint) and now >= at then
            v, moved = {struct.unpack('<\(String(repeating: "d", count: count))', stored, 30)}, {}
        \(movedChecks.map { "    " + $0 }.joined(separator: "\n"))
          end
        elseif blank then
          v, fresh, moved = {\(empty.joined(separator: ", "))}, true, {}
        end
        if not v then v, moved = {}, {\(everySlot)} end
        -- Deltas send their part of each in-place feature; the roller's call sends none.
        local contributes = partition ~= '' and partition ~= '*'

        """
    }

    /// Brings `v` up to date at `now`. A feature of a moved slot is recomputed from its
    /// tiles; otherwise counts, sums, minimums and maximums take the delta's contributions
    /// (ARGV from `i` on, in `inPlaceFeatures` order), an approximate distinct count is
    /// counted again only when new or a PFADD changed a HyperLogLog it reads, and `last`
    /// slots and lifetime values are read from the state. The roller's call also trims
    /// tiles that left the slot's longest window (only the roller trims, so applies stay lean).
    private static func vectorUpdate(view: StreamView) -> String {
        // Per-slot tiles live in tables, not locals: Lua allows 200 locals per function.
        var lua = "local first, tiles, times, trim = {}, {}, {}, {}\n"
        for slot in view.slots {
            guard let tileMs = slot.tileMs, slot.aggregation != .approxDistinct else { continue }
            let name = slot.storageName
            // A `last` always reads its tiles: a value alone does not say when it happened.
            let read = slot.aggregation == .last ? "" : "if moved[\(slot.id)] then "
            lua += "\(read)first[\(slot.id)], tiles[\(slot.id)] = readTiles('\(name)', \(tileMs), \(slot.longestWindowMs), '')\(read.isEmpty ? "" : " end")\n"
            if slot.aggregation == .last {
                lua += "times[\(slot.id)] = select(2, readTiles('\(name)', \(tileMs), \(slot.longestWindowMs), 't'))\n"
            }
            for suffix in slot.aggregation == .last ? ["", "t"] : [""] {
                lua += "if partition == '' then local from = math.floor((now - \(slot.longestWindowMs)) / \(tileMs)) for k = from - 8, from - 1 do trim[#trim + 1] = '\(name):' .. string.format('%d', k) .. '\(suffix)' end end\n"
            }
        }
        lua += "if #trim > 0 then redis.call('HDEL', state, unpack(trim)) end\n"
        var argument = 0
        for (index, feature) in view.features.enumerated() {
            let target = "v[\(index + 1)]"
            switch feature.kind {
            case .windowed(let slotID, let windowMs):
                let slot = view.slots[slotID]
                let tileMs = slot.tileMs!
                let recomputed = "\(target) = " + recomputedWindow(slot: slot, windowMs: windowMs)
                switch slot.aggregation {
                case .count, .sum:
                    lua += "if moved[\(slotID)] then \(recomputed) elseif contributes then \(target) = \(target) + tonumber(ARGV[i + \(argument)]) end\n"
                    argument += 1
                case .min, .max:
                    let combine = slot.aggregation == .min ? "least" : "most"
                    lua += "if moved[\(slotID)] then \(recomputed) elseif contributes and ARGV[i + \(argument)] ~= '' then \(target) = \(combine)(\(target), tonumber(ARGV[i + \(argument)])) end\n"
                    argument += 1
                case .last:
                    lua += recomputed + "\n"
                case .approxDistinct:
                    lua += """
                    do
                      local recount = moved[\(slotID)] or fresh
                      if not recount then
                        local from = math.max(math.floor((now - \(windowMs)) / \(tileMs)), hllFirst[\(slotID)])
                        local base = hllBase[\(slotID)] - hllFirst[\(slotID)]
                        for k = from, hllFirst[\(slotID)] + hllCount[\(slotID)] - 1 do
                          if changed[base + k] then recount = true break end
                        end
                      end
                      if recount then \(recomputed) end
                    end

                    """
                }
            case .lifetime(let slotID):
                lua += lifetimeFeature(view: view, slotID: slotID, target: target)
            case .ratio:
                continue  // after every aggregate, which a ratio may name in any order
            }
        }
        return lua
    }

    /// A windowed feature from its slot's tiles (`first`, `tiles`, `times` of the slot).
    private static func recomputedWindow(slot: AggregationSlot, windowMs: Int64) -> String {
        let (id, tileMs) = (slot.id, slot.tileMs!)
        switch slot.aggregation {
        case .count, .sum: return "fold(first[\(id)], tiles[\(id)], \(tileMs), \(windowMs), 0, add)"
        case .min: return "fold(first[\(id)], tiles[\(id)], \(tileMs), \(windowMs), NAN, least)"
        case .max: return "fold(first[\(id)], tiles[\(id)], \(tileMs), \(windowMs), NAN, most)"
        case .last: return "lastOf(first[\(id)], tiles[\(id)], times[\(id)], \(tileMs), \(windowMs))"
        case .approxDistinct: return distinctCount(slotID: id, tileMs: tileMs, windowMs: windowMs)
        }
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

    private static func lifetimeFeature(view: StreamView, slotID: Int, target: String) -> String {
        let name = view.slots[slotID].storageName
        switch view.slots[slotID].aggregation {
        case .count, .sum: return "\(target) = tonumber(redis.call('HGET', state, '\(name)') or '0')\n"
        default: return "\(target) = number(redis.call('HGET', state, '\(name)'))\n"
        }
    }
}
