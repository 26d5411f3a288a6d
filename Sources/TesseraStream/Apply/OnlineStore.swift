import Logging
import TesseraCore
import TesseraRedis

/// Applies folded deltas to Redis, one pipelined round trip per batch, and recomputes
/// entities for the roller. Owns one connection; used from one thread.
public final class OnlineStore {
    public let keyspace: RedisKeyspace
    private let url: RedisURL
    private let calls: [String: ApplyCall]
    private var connection: RedisConnection?
    private var shas: [String: String] = [:]
    /// When on, every applied or recomputed entity is added to its view's changed set,
    /// which the snapshotter drains; off when snapshots are off, so nothing grows unread.
    private let tracksChanges: Bool
    private let logger: Logger

    public init(
        url: RedisURL, keyspace: RedisKeyspace, catalog: FeatureCatalog, futureToleranceMs: Int64,
        tracksChanges: Bool = false, logger: Logger
    ) {
        self.url = url
        self.keyspace = keyspace
        self.tracksChanges = tracksChanges
        self.logger = logger
        var calls: [String: ApplyCall] = [:]
        for view in catalog.streamViews {
            calls[view.name] = ApplyCall(script: ApplyScript(view: view, futureToleranceMs: futureToleranceMs), keyspace: keyspace)
        }
        self.calls = calls
    }

    /// What Redis said about one delta.
    public enum Outcome: Equatable, Sendable {
        case applied
        /// Everything in the delta was applied before (a replay after a crash).
        case alreadyApplied
        /// Events up to `fence` were applied before: re-send only the later ones (a delta
        /// from one partition).
        case partlyApplied(fence: Int64)
        /// A delta from several partitions, some of whose events were applied before:
        /// re-send it as one delta per partition.
        case fencesDiffer
    }

    public struct ViewDeltas: Sendable {
        public var view: String
        public var deltas: [EntityDelta]
        public init(view: String, deltas: [EntityDelta]) {
            self.view = view
            self.deltas = deltas
        }
    }

    /// Applies every delta and registers its tiles with the roller, in one round trip.
    /// Returns one outcome per delta, in order.
    public func apply(_ batches: [ViewDeltas], nowMs: Int64) throws -> [[Outcome]] {
        try outcomes(of: send(batches, nowMs: nowMs))
    }

    /// Deltas sent to Redis and not yet answered: `outcomes(of:)` reads what Redis said.
    /// Until then the store takes no other call.
    public struct SentDeltas {
        fileprivate let commands: [PlannedCommand]
        fileprivate let written: (RedisConnection, RedisConnection.Written)?
        fileprivate let scriptCommandIndex: [[Int]]
        fileprivate let changedCommandIndexes: [Int]
    }

    /// Writes the applies of every delta and returns without waiting for Redis, so the
    /// caller can prepare its next batch meanwhile. Each script call is built as it is sent,
    /// so Redis works on the first entities while the later ones are still being written.
    public func send(_ batches: [ViewDeltas], nowMs: Int64) throws -> SentDeltas {
        var commands: [PlannedCommand] = []
        var scriptCommandIndex: [[Int]] = []
        var changedCommandIndexes: [Int] = []
        for batch in batches {
            guard let call = calls[batch.view] else { throw RedisError("unknown view \(batch.view)") }
            var indexes: [Int] = []
            for delta in batch.deltas {
                indexes.append(commands.count)
                commands.append(.script(view: batch.view) { sha in call.command(sha: sha, entity: delta.entity, delta: delta, nowMs: nowMs) })
            }
            commands += rollCommands(call.script.view, batch.deltas.lazy.map { ($0.entity, $0.rollBoundaries) }, nowMs: nowMs).map { .plain($0) }
            if let changed = changedCommand(view: batch.view, entities: batch.deltas.lazy.map(\.entity)) {
                changedCommandIndexes.append(commands.count)
                commands.append(.plain(changed))
            }
            scriptCommandIndex.append(indexes)
        }
        return SentDeltas(
            commands: commands, written: try write(commands), scriptCommandIndex: scriptCommandIndex,
            changedCommandIndexes: changedCommandIndexes)
    }

    /// What Redis said about sent deltas: one outcome per delta, in order.
    public func outcomes(of sent: SentDeltas) throws -> [[Outcome]] {
        let replies = try replies(to: sent.written, of: sent.commands)
        try checkChangedReplies(sent.changedCommandIndexes.map { replies[$0] })
        return try sent.scriptCommandIndex.map { indexes in try indexes.map { try outcome(replies[$0]) } }
    }

    /// Files each entity with the roller under each time one of its tiles leaves a window:
    /// one SADD and PEXPIRE per time, for all the entities filed under it.
    private func rollCommands(
        _ view: StreamView, _ entities: some Sequence<(EntityKey, Set<Int64>)>, nowMs: Int64
    ) -> [[String]] {
        var members: [Int64: [String]] = [:]
        for (entity, boundaries) in entities {
            for boundary in boundaries { members[boundary, default: []].append(entity.encoded) }
        }
        return members.keys.sorted().flatMap { boundary -> [[String]] in
            let key = keyspace.rollKey(view: view.name, boundaryMs: boundary)
            // Relative to the daemon's clock, which decided the boundary.
            return [["SADD", key] + members[boundary]!, ["PEXPIRE", key, String(boundary - nowMs + ApplyScript.retentionMs(view))]]
        }
    }

    /// What Redis said about one rebuild.
    public enum RebuildOutcome: Equatable, Sendable {
        case rebuilt
        /// The entity's fence for this partition moved since the backfill read it: the
        /// stream applied events meanwhile, so the backfill must read and recompute again.
        case fenceMoved(partition: Int32)
    }

    /// Writes a backfill's rebuilds of one view and files their tiles with the roller, in
    /// one round trip. Returns one outcome per rebuild, in order.
    public func rebuild(view: String, _ rebuilds: [EntityRebuild], nowMs: Int64) throws -> [RebuildOutcome] {
        guard let call = calls[view] else { throw RedisError("unknown view \(view)") }
        var commands: [PlannedCommand] = rebuilds.map { rebuild in
            .script(view: view) { sha in call.command(sha: sha, rebuild: rebuild, nowMs: nowMs) }
        }
        let scriptIndexes = commands.indices
        commands += rollCommands(call.script.view, rebuilds.lazy.map { ($0.entity, $0.rollBoundaries) }, nowMs: nowMs).map { .plain($0) }
        // A rebuild (fence moved or not) may rewrite the vector: the next snapshot looks.
        let changed = changedCommand(view: view, entities: rebuilds.lazy.map(\.entity))
        if let changed { commands.append(.plain(changed)) }
        let replies = try run(planned: commands)
        if changed != nil, let last = replies.last { try checkChangedReplies([last]) }
        return try scriptIndexes.map { index in
            let reply = replies[index]
            if let items = reply.array, items.count == 2, items[0].integer == -2, let partition = items[1].integer {
                return .fenceMoved(partition: Int32(partition))
            }
            guard try outcome(reply) == .applied else { throw RedisError("rebuild script returned \(reply)") }
            return .rebuilt
        }
    }

    /// Recomputes entities' vectors at `nowMs` (tiles left a window), in one round trip.
    public func recompute(view: String, entities: [EntityKey], nowMs: Int64) throws {
        guard let call = calls[view] else { throw RedisError("unknown view \(view)") }
        var commands: [PlannedCommand] = entities.map { entity in
            .script(view: view) { sha in call.command(sha: sha, entity: entity, delta: nil, nowMs: nowMs) }
        }
        if let changed = changedCommand(view: view, entities: entities) { commands.append(.plain(changed)) }
        let replies = try run(planned: commands)
        for reply in replies.prefix(entities.count) { _ = try outcome(reply) }
        try checkChangedReplies(replies.dropFirst(entities.count))
    }

    /// One SADD per view and round trip marks the entities for the next snapshot. Sent
    /// with the applies, so a retried batch marks them again (a replayed delta too:
    /// writing its unchanged vector once more costs a row, never a missed change).
    private func changedCommand(view: String, entities: some Sequence<EntityKey>) -> [String]? {
        guard tracksChanges else { return nil }
        let members = entities.map(\.encoded)
        return members.isEmpty ? nil : ["SADD", keyspace.changedKey(view: view)] + members
    }

    /// A change that was applied but not marked would never be snapshotted: fail the batch
    /// so it is retried (the fences make the applies no-ops then).
    private func checkChangedReplies(_ replies: some Sequence<RedisReply>) throws {
        for reply in replies {
            if let message = reply.errorMessage { throw RedisError("marking entities for the snapshot failed: \(message)") }
        }
    }

    /// A command of a pipeline: as it is, or a view's script call, built with the script's
    /// SHA when it is sent.
    fileprivate enum PlannedCommand {
        case plain([String])
        case script(view: String, build: (_ sha: String) -> ByteStrings)
    }

    /// Plain commands, e.g. the roller's SMEMBERS and cursor updates.
    public func run(_ commands: [[String]]) throws -> [RedisReply] {
        try run(planned: commands.map { .plain($0) })
    }

    private func run(planned commands: [PlannedCommand]) throws -> [RedisReply] {
        try replies(to: write(commands), of: commands)
    }

    /// Writes the commands (none: nothing written) without waiting for their replies.
    private func write(_ commands: [PlannedCommand]) throws -> (RedisConnection, RedisConnection.Written)? {
        guard !commands.isEmpty else { return nil }
        let connection = try connected()
        // Every SHA before the pipeline starts: loading a script is a command of its own.
        for case .script(let view, _) in commands where shas[view] == nil { _ = try scriptSHA(view) }
        let written = try connection.write(count: commands.count) { index -> ByteStrings in
            switch commands[index] {
            case .plain(let command):
                return ByteStrings(arguments: command)
            case .script(let view, let build):
                return build(shas[view]!)
            }
        }
        return (connection, written)
    }

    /// Read on the connection the commands went to: a broken one throws, never waits.
    private func replies(to written: (RedisConnection, RedisConnection.Written)?, of commands: [PlannedCommand]) throws -> [RedisReply] {
        guard let (connection, written) = written else { return [] }
        let replies = try connection.replies(to: written)
        guard replies.contains(where: RedisScript.isMissingScript) else { return replies }
        // Redis restarted or flushed its scripts: load them again and re-send. Safe to
        // repeat: fences make applied deltas no-ops and the other commands are idempotent.
        logger.notice("apply scripts missing in Redis; loading them again")
        shas.removeAll()  // `write` loads the scripts again
        let (again, rewritten) = try write(commands)!
        // A call that ran the first time (another client loaded the script meanwhile) keeps
        // that answer: re-sent, it would say "already applied", or a rebuild "fence moved".
        return zip(replies, try again.replies(to: rewritten)).map { first, second in
            RedisScript.isMissingScript(first) ? second : first
        }
    }

    private func scriptSHA(_ view: String) throws -> String {
        if let sha = shas[view] { return sha }
        let sha = try calls[view]!.script.script.load(on: try connected())
        shas[view] = sha
        return sha
    }

    private func connected() throws -> RedisConnection {
        if let connection, !connection.isBroken { return connection }
        connection = nil
        let fresh = try RedisConnection(url: url)
        connection = fresh
        return fresh
    }

    private func outcome(_ reply: RedisReply) throws -> Outcome {
        if let message = reply.errorMessage { throw RedisError("apply script failed: \(message)") }
        guard let items = reply.array, items.count == 2, let code = items[0].integer, let fence = items[1].integer else {
            throw RedisError("apply script returned \(reply)")
        }
        switch code {
        case 1: return .applied
        case 0: return .alreadyApplied
        case -1: return .partlyApplied(fence: fence)
        case -3: return .fencesDiffer
        default: throw RedisError("apply script returned \(reply)")
        }
    }
}
