import Benchmark
import Foundation
import TesseraCore
import TesseraPostgres
import TesseraRedis
import TesseraServe
import TesseraStream

// Hot paths of ingestion (online and offline) and lookup, on the demo clickstream that
// `tessera produce` publishes.
// Each benchmark works on a fixed input made before timing starts, with a fixed clock, so
// instruction and malloc counts repeat from run to run.

/// The end of the generated time range and the clock every benchmark decodes and folds at.
private let nowMs: Int64 = 1_795_000_000_000

/// The shipped config/features.yaml (this file is Benchmarks/Benchmarks/TesseraBenchmarks/<file>).
private let catalog: FeatureCatalog = {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    let path = root.appendingPathComponent("config/features.yaml").path
    do {
        return try FeatureCatalog.load(yaml: String(contentsOfFile: path, encoding: .utf8), file: path)
    } catch {
        fatalError("cannot load \(path): \(error)")
    }
}()

/// Demo messages as `tessera produce --seed 1` makes them (1 % malformed), 7 days of event times.
private func demoMessages(_ count: Int) -> [[UInt8]] {
    var generator = ClickstreamGenerator(options: .init(seed: 1, days: 7, badRatio: 0.01, nowMs: nowMs))
    return (0..<count).map { _ in generator.next().value }
}

/// Valid demo events, each with its message, spread over 4 partitions.
private func demoLogged(_ count: Int) -> [LoggedEvent] {
    var generator = ClickstreamGenerator(options: .init(seed: 1, days: 7, badRatio: 0, nowMs: nowMs))
    let decoder = EventDecoder()
    return (0..<count).map { index in
        let message = generator.next()
        guard case .success(let event) = decoder.decode(message.value, nowMs: nowMs) else { fatalError("bad demo event") }
        return LoggedEvent(event: event, payload: message.value, partition: Int32(index % 4), offset: Int64(index / 4))
    }
}

/// What the ingestion pipeline hands the folders: one batch of valid events (batch_max_events = 5000).
private func demoBatch(_ count: Int) -> [SourcedEvent] {
    demoLogged(count).map { SourcedEvent(event: $0.event, partition: $0.partition, offset: $0.offset) }
}

/// One product_stats vector (15 features) the way the apply script packs it.
private func productVector() -> FeatureVector {
    FeatureVector(
        layoutFingerprint: catalog.streamView(named: "product_stats")!.layoutFingerprint, newestEventMs: nowMs - 1_234,
        computedAtMs: nowMs, values: [12, 340, 2_100, 1, 31, 220, 9, 3, 17, 1_013.5, 280, 0.0895, 0.1, 0.069, Double(nowMs - 1_234)])
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.instructions, .mallocCountTotal, .wallClock, .cpuTotal],
        warmupIterations: 3,
        maxDuration: .seconds(5),
        maxIterations: 1_000)

    // 1,000 messages per iteration: divide by 1,000 for one message.
    let messages = demoMessages(1_000)
    Benchmark("EventDecoder.decode x1000 demo messages") { benchmark in
        let decoder = EventDecoder()
        benchmark.startMeasurement()
        for message in messages {
            blackHole(decoder.decode(message, nowMs: nowMs))
        }
    }

    // The event log's COPY text of 1,000 valid events, as OfflineDatabase sends it.
    let logged = demoLogged(1_000)
    Benchmark("OfflineDatabase.writeRow x1000 demo events") { _ in
        var writer = CopyTextWriter(reservingCapacity: 512 * 1_024)
        for event in logged {
            OfflineDatabase.writeRow(event, to: &writer)
            writer.endRow()
        }
        blackHole(writer.bytes)
    }

    // The three default views, as IngestionPipeline.apply folds each batch.
    let batch = demoBatch(5_000)
    let folders = catalog.streamViews.map(TileFolder.init(view:))
    Benchmark("TileFolder.fold 5000-event batch x3 views") { _ in
        for folder in folders {
            blackHole(folder.fold(batch, nowMs: nowMs))
        }
    }
    for folder in folders {
        Benchmark("TileFolder.fold 5000-event batch, \(folder.view.name)") { _ in
            blackHole(folder.fold(batch, nowMs: nowMs))
        }
    }

    // The EVALSHA arguments of that batch's deltas, as OnlineStore sends them.
    let calls = folders.map { folder in
        (ApplyCall(script: ApplyScript(view: folder.view, futureToleranceMs: 300_000), keyspace: RedisKeyspace(prefix: "ts")),
         folder.fold(batch, nowMs: nowMs).deltas)
    }
    Benchmark("ApplyCall.command 5000-event batch's deltas x3 views") { _ in
        for (call, deltas) in calls {
            for delta in deltas {
                blackHole(call.command(sha: "0123456789abcdef0123456789abcdef01234567", entity: delta.entity, delta: delta, nowMs: nowMs))
            }
        }
    }

    // 101 vectors per iteration: one lookup's worth (1 user + 100 products).
    let vector = productVector()
    let packed = vector.encoded()
    Benchmark("FeatureVector.encoded x101") { _ in
        for _ in 0..<101 { blackHole(vector.encoded()) }
    }
    Benchmark("FeatureVector(decoding:) x101") { _ in
        for _ in 0..<101 { blackHole(try FeatureVector(decoding: packed)) }
    }

    // One lookup as scripts/bench sends it: 1 user x 100 products, all 27 default features
    // (user_stats, product_stats, the product_catalog batch view): 201 vectors, 2,700 cells.
    let body = lookupBody()
    Benchmark("LookupPlan(body:) 1 user x 100 products, 27 features") { _ in
        body.withUnsafeBytes { raw in blackHole(try? LookupPlan(body: raw, catalog: catalog, maxRows: 1_000)) }
    }
    let plan = try! body.withUnsafeBytes { raw in try LookupPlan(body: raw, catalog: catalog, maxRows: 1_000) }
    let keyspace = RedisKeyspace(prefix: "ts")
    Benchmark("VectorReads(plan:) 201 keys") { _ in
        blackHole(VectorReads(plan: plan, keyspace: keyspace))
    }
    let reads = VectorReads(plan: plan, keyspace: keyspace)
    let vectors = lookupVectors((0..<reads.keys.count).map { String(decoding: reads.keys[$0]!, as: UTF8.self) })
    Benchmark("LookupResponse.encode 201 vectors, 2,700 cells") { _ in
        blackHole(LookupResponse.encode(plan, reads: reads, vectors: vectors, nowMs: nowMs))
    }
}

private func lookupBody() -> [UInt8] {
    let user = ["views_1h", "views_24h", "clicks_24h", "clicks_7d", "purchases_7d", "spend_7d", "last_event_at"]
    let product = catalog.streamView(named: "product_stats")!.features.map(\.name)
    let batch = catalog.batchView(named: "product_catalog")!.features.map(\.name)
    let features = user.map { "\"user_stats:\($0)\"" } + product.map { "\"product_stats:\($0)\"" } + batch.map { "\"product_catalog:\($0)\"" }
    let products = (1...100).map { "\"p-\($0)\"" }
    let users = Array(repeating: "\"u-1234\"", count: 100)
    let text = #"{"features":[\#(features.joined(separator: ","))],"entities":{"user_id":[\#(users.joined(separator: ","))],"#
        + #""product_id":[\#(products.joined(separator: ","))]},"full_feature_names":true}"#
    return Array(text.utf8)
}

/// What Redis would answer for those keys: every vector present, as the bench's warm-up leaves most.
private func lookupVectors(_ keys: [String]) -> ByteStrings {
    let users = catalog.streamView(named: "user_stats")!
    let product = productVector().encoded()
    let user = FeatureVector(
        layoutFingerprint: users.layoutFingerprint, newestEventMs: nowMs - 5_000, computedAtMs: nowMs,
        values: [2, 14, 3, 9, 1, 57.25, Double(nowMs - 5_000)]
    ).encoded()
    let batch = BatchVector(
        layoutFingerprint: catalog.batchView(named: "product_catalog")!.layoutFingerprint, sourceTimeMs: nowMs - 86_400_000,
        materializedAtMs: nowMs, values: [.double(24.99), .string("kitchen"), .string("Acme"), .bool(true), .double(0.731)]
    ).encoded()
    return ByteStrings(keys.map { key in
        if key.contains("{user_stats|") { return user }
        if key.contains("{product_catalog|") { return batch }
        return product
    })
}
