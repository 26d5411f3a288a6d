import Foundation
import Testing
import TesseraCore
import TesseraRedis
import TesseraStream
@testable import TesseraBatch

/// `tessera backfill` against real Redis, PostgreSQL and the dev broker.
@Suite struct BackfillTests {
    /// Mid-tile for every tile size in the default config.
    let now: Int64 = 1_763_719_950_000 + 75_000

    /// The recovery after Redis loses its data: FLUSHDB, then `backfill --all`.
    @Test func backfillAllAfterRedisLostItsDataRestoresEveryVector() throws {
        let harness = try StreamHarness(nowMs: now)
        // A database number of its own, so FLUSHDB touches no other test's keys.
        let redis = try RedisURL(parsing: try BatchTestServices.environment("TESSERA_REDIS_URL").replacingOccurrences(of: #"/\d+$"#, with: "/11", options: .regularExpression))
        let store = try harness.setup.store(prefix: "ts", url: redis)
        _ = try store.run([["FLUSHDB"]])  // an earlier run's state (its fences) would hide this run's events
        let stream = try harness.paths(store: store)
        try stream.ingest(StreamHarness.events(count: 3_000, nowMs: now, seed: 7, tag: "flush"))
        let before = try StreamHarness.vectors(store, catalog: harness.catalog)
        #expect(before.count > 30)

        _ = try store.run([["FLUSHDB"]])
        #expect(try StreamHarness.vectors(store, catalog: harness.catalog).isEmpty)
        let backfill = try harness.setup.backfill(store: store)
        backfill.setChunkLimits(entities: 7, events: 100_000)
        let job = try backfill.run(BackfillRequest(rebuildingEverythingIn: harness.catalog)) { _ in }
        #expect(job.status == "done")
        #expect(job.chunksDone == job.chunksTotal && job.chunksTotal > 3)
        expectSameVectors(try StreamHarness.vectors(store, catalog: harness.catalog), before)

        // The stream goes on from where it was: new events count once, none twice.
        try stream.ingest(StreamHarness.events(count: 500, nowMs: now, seed: 8, tag: "after"))
        let streamed = try StreamHarness.vectors(store, catalog: harness.catalog)
        _ = try store.run([["FLUSHDB"]])
        _ = try backfill.run(BackfillRequest(rebuildingEverythingIn: harness.catalog)) { _ in }
        expectSameVectors(try StreamHarness.vectors(store, catalog: harness.catalog), streamed)
    }

    /// Backfills racing the stream leave exactly what the stream alone computes.
    @Test func backfillDuringLiveIngestionGivesTheSameValuesAsIngestionAlone() throws {
        let harness = try StreamHarness(nowMs: now)
        let setup = harness.setup
        let racingPrefix = BatchTestServices.uniquePrefix()
        let alonePrefix = BatchTestServices.uniquePrefix()
        let racingStatus = IngestionStatus()
        let aloneStatus = IngestionStatus()
        let logged = IngestionStatus()
        let total = 4_000
        let events = StreamHarness.events(count: total, nowMs: now, seed: 11, tag: "race")

        // The stream: both online paths and the event log on a thread of their own, while
        // the test publishes waves of events and runs backfills.
        let stop = StopFlag()
        let streamError = ErrorBox()
        let streaming = Thread {
            do {
                let racingPipeline = try setup.onlinePipeline(store: try setup.store(prefix: racingPrefix), group: "racing", status: racingStatus)
                let alonePipeline = try setup.onlinePipeline(store: try setup.store(prefix: alonePrefix), group: "alone", status: aloneStatus)
                let writer = try setup.eventLogWriter(status: logged)
                while !stop.isSet {
                    _ = try racingPipeline.processBatch()
                    try writer.processBatch()
                    _ = try alonePipeline.processBatch()
                }
            } catch {
                streamError.set(error)
            }
            stop.finish()
        }
        streaming.start()
        var published = 0
        func publishWave() throws {
            guard published < total else { return }
            try harness.publish(Array(events[published..<published + 500]))
            published += 500
        }
        try publishWave()

        let backfill = try harness.setup.backfill(store: try setup.store(prefix: racingPrefix))
        backfill.setChunkLimits(entities: 3, events: 100_000)
        let request = try BackfillRequest(catalog: harness.catalog, view: "product_stats", features: [], fromMs: now - 8 * 86_400_000, toMs: now + 600_000)
        var runs = 0
        let deadline = Date().addingTimeInterval(90)
        while logged.loggedEvents < 200 && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        while (racingStatus.appliedEvents + racingStatus.ignoredEvents < total || runs < 3) && Date() < deadline && streamError.error == nil {
            try publishWave()
            let job = try backfill.run(request) { _ in }
            #expect(job.status == "done")
            runs += 1
        }
        let settle = Date().addingTimeInterval(60)
        while (aloneStatus.appliedEvents + aloneStatus.ignoredEvents < total || logged.loggedEvents < total) && Date() < settle {
            Thread.sleep(forTimeInterval: 0.05)
        }
        stop.set()
        stop.waitUntilFinished()
        #expect(streamError.error == nil, "\(String(describing: streamError.error))")
        #expect(runs >= 3)
        #expect(racingStatus.appliedEvents + racingStatus.ignoredEvents == total)
        expectSameVectors(try StreamHarness.vectors(setup.store(prefix: racingPrefix), catalog: setup.catalog),
                          try StreamHarness.vectors(setup.store(prefix: alonePrefix), catalog: setup.catalog))
    }

    @Test func anInterruptedBackfillResumesAtItsFirstUnfinishedChunk() throws {
        let harness = try StreamHarness(nowMs: now)
        let store = try harness.setup.store(prefix: BatchTestServices.uniquePrefix())
        let stream = try harness.paths(store: store)
        try stream.ingest(StreamHarness.events(count: 1_500, nowMs: now, seed: 3, tag: "resume"))
        let streamed = try StreamHarness.vectors(store, catalog: harness.catalog)

        // Lose the user vectors, then rebuild them in chunks, stopping after two.
        let userKeys = streamed.keys.filter { $0.hasPrefix("{user_stats|") }.map { "\(store.keyspace.prefix):\($0)" }
        _ = try store.run([["DEL"] + userKeys])
        let backfill = try harness.setup.backfill(store: store)
        backfill.setChunkLimits(entities: 2, events: 100_000)
        let request = try BackfillRequest(catalog: harness.catalog, view: "user_stats", features: [], fromMs: now - 8 * 86_400_000, toMs: now + 600_000)
        let plan = try backfill.plan(request)
        #expect(plan.chunks.count == 5 && plan.entities == 9)

        var checks = 0
        let first = try backfill.run(request, shouldStop: { checks += 1; return checks > 2 }) { _ in }
        #expect(first.status == "interrupted" && first.chunksDone == 2)
        let second = try backfill.run(request) { _ in }
        #expect(second.id == first.id && second.status == "done" && second.chunksDone == 5)
        #expect(second.entitiesDone == 9 && second.eventsDone == plan.events)
        expectSameVectors(try StreamHarness.vectors(store, catalog: harness.catalog), streamed)
        let listed = try Backfill.jobs(in: BatchDatabase(url: harness.database.url))
        #expect(listed.map(\.id) == [first.id] && listed[0].views == ["user_stats"])
    }

    @Test func aBackfillOfSomeFeaturesRewritesOnlyTheirTilesInTheRange() throws {
        let harness = try StreamHarness(nowMs: now)
        let store = try harness.setup.store(prefix: BatchTestServices.uniquePrefix())
        let stream = try harness.paths(store: store)
        try stream.ingest(StreamHarness.events(count: 1_000, nowMs: now, seed: 5, tag: "part"))
        let streamed = try StreamHarness.vectors(store, catalog: harness.catalog)
        let view = try #require(harness.catalog.streamView(named: "product_stats"))

        // Corrupt p-1's hour tiles of views, clicks and purchases; rebuild ctr_24h (clicks_24h
        // over views_24h) only: views and clicks come back, purchases stay corrupted.
        let state = store.keyspace.stateKey(view: "product_stats", entity: EntityKey(values: ["p-1"]))
        let hourSlots = view.slots.filter { $0.tileMs == 3_600_000 && $0.aggregation == .count && $0.eventTypes != [.addToCart] }
        let fields = try store.run([["HKEYS", state]])[0].array!.compactMap(\.string)
        let purchaseSlot = try #require(hourSlots.first { $0.eventTypes == [.purchase] })
        let corrupted = Set(fields.filter { field in hourSlots.contains { field.hasPrefix($0.storageName + ":") } })
            .union([RedisKeyspace.tileField(slot: purchaseSlot.storageName, tile: TileMath.tileIndex(timeMs: now, tileMs: 3_600_000))])
        #expect(!corrupted.isEmpty)
        _ = try store.run(corrupted.map { ["HINCRBY", state, $0, "1000"] })
        try store.recompute(view: "product_stats", entities: [EntityKey(values: ["p-1"])], nowMs: now)

        let backfill = try harness.setup.backfill(store: store)
        let request = try BackfillRequest(catalog: harness.catalog, view: "product_stats", features: ["ctr_24h"],
                                          fromMs: now - 86_400_000 - 3_600_000, toMs: now + 600_000)
        #expect(try backfill.plan(request).entities == 13)
        let job = try backfill.run(request) { _ in }
        #expect(job.status == "done" && job.features == ["ctr_24h"])

        var rebuilt = try StreamHarness.vectors(store, catalog: harness.catalog)
        let purchases = view.featureIndex(named: "purchases_24h")!
        let key = "{product_stats|p-1}:v"
        #expect(rebuilt[key]!.values[purchases] > streamed[key]!.values[purchases] + 999, "purchases_24h was not asked for")
        rebuilt[key]!.values[purchases] = streamed[key]!.values[purchases]
        expectSameVectors(rebuilt, streamed)
    }

    /// The compare-and-set that keeps a racing stream update: a rebuild computed against
    /// fences that have moved since is refused and changes nothing.
    @Test func aRebuildAgainstMovedFencesIsRefused() throws {
        let harness = try StreamHarness(nowMs: now)
        let store = try harness.setup.store(prefix: BatchTestServices.uniquePrefix())
        try harness.paths(store: store, logging: false).ingest(StreamHarness.events(count: 200, nowMs: now, seed: 9, tag: "cas"))
        let entity = EntityKey(values: ["p-1"])
        let state = store.keyspace.stateKey(view: "product_stats", entity: entity)
        let fields = try store.run([["HGETALL", state]])[0].array!.compactMap(\.string)
        let fences = stride(from: 0, to: fields.count, by: 2).filter { fields[$0].hasPrefix("f:") }.map { (Int32(fields[$0].dropFirst(2))!, fields[$0 + 1]) }
        #expect(!fences.isEmpty)
        let before = try StreamHarness.vectors(store, catalog: harness.catalog)

        var rebuild = EntityRebuild(entity: entity)
        rebuild.fences = fences.map { .init(partition: $0.0, expected: $0.1, cutoff: Int64($0.1)! + 10) }
        rebuild.fences[0].expected = String(Int64(fences[0].1)! - 1)  // read before the stream's last apply
        rebuild.clearedLifetimeSlots = [harness.catalog.streamView(named: "product_stats")!.slots.first { $0.tileMs == nil }!.id]
        #expect(try store.rebuild(view: "product_stats", [rebuild], nowMs: now) == [.fenceMoved(partition: fences[0].0)])
        expectSameVectors(try StreamHarness.vectors(store, catalog: harness.catalog), before)
        #expect(try store.run([["HGET", state, "f:\(fences[0].0)"]])[0].string == fences[0].1)

        rebuild.fences[0].expected = fences[0].1
        #expect(try store.rebuild(view: "product_stats", [rebuild], nowMs: now) == [.rebuilt])
        #expect(try store.run([["HGET", state, "f:\(fences[0].0)"]])[0].string == String(Int64(fences[0].1)! + 10))
    }

    @Test func badRequestsSayWhatIsWrong() throws {
        let catalog = try BatchTestServices.catalog()
        #expect(throws: BackfillError.self) { try BackfillRequest(catalog: catalog, view: "nope", features: [], fromMs: 0, toMs: 1) }
        #expect(throws: BackfillError.self) { try BackfillRequest(catalog: catalog, view: "user_stats", features: ["nope"], fromMs: 0, toMs: 1) }
        #expect(throws: BackfillError.self) { try BackfillRequest(catalog: catalog, view: "user_stats", features: [], fromMs: 5, toMs: 5) }
        let ctr = try BackfillRequest(catalog: catalog, view: "product_stats", features: ["ctr_7d"], fromMs: 0, toMs: 1)
        let view = try #require(catalog.streamView(named: "product_stats"))
        let expected = Set(["views_7d", "clicks_7d"].map { name in
            guard case .windowed(let slot, _) = view.features[view.featureIndex(named: name)!].kind else { return -1 }
            return slot
        })
        #expect(Set(ctr.targets[0].slots) == expected)
    }
}

final class StopFlag: @unchecked Sendable {
    // Shared by a test and its streaming thread; the condition guards both fields.
    private let condition = NSCondition()
    private var stopped = false
    private var finished = false

    var isSet: Bool { condition.withLock { stopped } }
    func set() { condition.withLock { stopped = true } }
    func finish() { condition.withLock { finished = true; condition.broadcast() } }
    func waitUntilFinished() {
        condition.withLock { while !finished { condition.wait() } }
    }
}

final class ErrorBox: @unchecked Sendable {
    // Written once by the streaming thread, read by the test; the lock orders them.
    private let lock = NSLock()
    private var stored: Error?
    var error: Error? { lock.withLock { stored } }
    func set(_ error: Error) { lock.withLock { stored = error } }
}
