import Testing
@testable import TesseraCore

@Suite struct FeatureCatalogLoadingTests {
    @Test func defaultConfigDeclaresThePublicFeatures() throws {
        let catalog = try DefaultConfig.catalog()
        let expected: [String: [String]] = [
            "product_stats": ["views_1h", "views_24h", "views_7d", "clicks_1h", "clicks_24h", "clicks_7d", "add_to_carts_24h",
                              "purchases_24h", "purchases_7d", "revenue_7d", "unique_users_24h", "ctr_24h", "ctr_7d",
                              "conversion_7d", "last_event_at"],
            "user_stats": ["views_1h", "views_24h", "clicks_24h", "clicks_7d", "purchases_7d", "spend_7d", "last_event_at"],
            "query_product_stats": ["views_7d", "clicks_7d", "ctr_7d"],
        ]
        for (viewName, features) in expected {
            let view = try #require(catalog.streamView(named: viewName))
            #expect(Set(view.features.map(\.name)).isSuperset(of: features), "\(viewName)")
        }
        #expect(catalog.streamView(named: "query_product_stats")?.entity.joinKeys == [.query, .productID])
    }

    @Test func slotStorageNamesFollowTheDefinitionNotThePosition() throws {
        let base = "entities: {p: {join_keys: [product_id]}}\nstream_views: {v: {entity: p, features: {"
        let one = try FeatureCatalog.load(yaml: base + "a: {aggregation: count, window: 1h}, b: {aggregation: sum, of: price, window: 1h}}}}", file: "f")
        let two = try FeatureCatalog.load(yaml: base + "b: {aggregation: sum, of: price, window: 1h}, a: {aggregation: count, window: 1h}}}}", file: "f")
        let sumOne = one.streamViews[0].slots.first { $0.aggregation == .sum }!
        let sumTwo = two.streamViews[0].slots.first { $0.aggregation == .sum }!
        #expect(sumOne.id != sumTwo.id)
        #expect(sumOne.storageName == sumTwo.storageName)
        #expect(Set(one.streamViews[0].slots.map(\.storageName)).count == 2)
    }

    @Test func featuresReadingTheSameTilesShareASlot() throws {
        let view = try #require(try DefaultConfig.catalog().streamView(named: "product_stats"))
        // views_24h and the denominator of ctr_24h read one slot; views_1h has its own tiles.
        let viewSlots = view.slots.filter { $0.aggregation == .count && $0.eventTypes == [.view] }
        #expect(viewSlots.map(\.tileMs).sorted { $0! < $1! } == [150_000, 3_600_000, 25_200_000])
    }

    @Test(arguments: [
        ("entities: {p: {join_keys: [price]}}", "entities.p.join_keys: 'price' is not a join key"),
        ("entities: {p: {join_keys: [product_id]}}\nstream_views: {v: {entity: nope, features: {}}}", "stream_views.v.entity: unknown entity 'nope'"),
        ("entities: {p: {join_keys: [product_id]}}\nstream_views: {v: {entity: p, features: {a: {aggregation: avg}}}}", "stream_views.v.features.a.aggregation: unknown aggregation 'avg'"),
        ("entities: {p: {join_keys: [product_id]}}\nstream_views: {v: {entity: p, features: {a: {aggregation: count, window: 1x}}}}", "stream_views.v.features.a.window: '1x' is not a duration"),
        ("entities: {p: {join_keys: [product_id]}}\nstream_views: {v: {entity: p, features: {a: {aggregation: sum, of: user_id, window: 1h}}}}", "stream_views.v.features.a.of: sum needs a numeric field"),
        ("entities: {p: {join_keys: [product_id]}}\nstream_views: {v: {entity: p, features: {a: {ratio: {numerator: x, denominator: y}}}}}", "stream_views.v.features.a.ratio.numerator: unknown feature 'x'"),
        ("entities: {p: {join_keys: [product_id]}}\nstream_views: {v: {entity: p, features: {a: {aggregation: count, windw: 1h}}}}", "stream_views.v.features.a.windw: unknown key"),
        ("entities: {p: {join_keys: [product_id]}}\nstream_views: {v: {entity: p, features: {a: {aggregation: approx_distinct, of: user_id}}}}", "stream_views.v.features.a: approx_distinct needs a window"),
        ("entities: [", "not valid YAML"),
        ("entities: {p: {join_keys: [product_id]}}\nstream_views: {v: {entity: p, features: {a: {aggregation: count, window: 10ms}}}}", "stream_views.v.features.a.window: must be whole seconds from 1m to 400d"),
    ])
    func badConfigNamesFileKeyAndProblem(yaml: String, expected: String) {
        do {
            _ = try FeatureCatalog.load(yaml: yaml, file: "features.yaml")
            Issue.record("accepted a bad config")
        } catch {
            #expect("\(error)".hasPrefix("features.yaml: "))
            #expect("\(error)".contains(expected), "\(error)")
        }
    }
}

@Suite struct ServiceConfigTests {
    let yaml = "kafka: {brokers: 'k:9092'}\nredis: {url: 'redis://r:6379/0'}\n"

    @Test func environmentOverridesTheFile() throws {
        let config = try ServiceConfig.load(yaml: yaml, file: "tessera.yaml", environment: [
            "TESSERA_KAFKA_BROKERS": "127.0.0.1:1234", "TESSERA_TOPIC": "clicks", "TESSERA_API_LISTEN": "0.0.0.0:9000",
        ])
        #expect(config.kafka.brokers == "127.0.0.1:1234")
        #expect(config.kafka.topic == "clicks" && config.kafka.deadLetterTopic == "clicks.dlq")
        #expect(config.api.host == "0.0.0.0" && config.api.port == 9000)
        #expect(config.ingest.futureToleranceMs == 300_000)
    }

    @Test func defaultFileLoads() throws {
        let path = DefaultConfig.folder + "/tessera.yaml"
        let config = try ServiceConfig.load(yaml: String(contentsOfFile: path, encoding: .utf8), file: path, environment: [:])
        #expect(config.kafka.topic == "clickstream" && config.api.port == 8080)
        #expect(config.snapshotIntervalMs == 300_000)
    }

    @Test func snapshotsDefaultToFiveMinutesAndTurnOff() throws {
        let postgres = "postgres: {url: 'postgresql://p/db'}\n"
        #expect(try ServiceConfig.load(yaml: yaml + postgres, file: "tessera.yaml", environment: [:]).snapshotIntervalMs == 300_000)
        let every30s = try ServiceConfig.load(yaml: yaml + postgres + "snapshots: {interval: 30s}\n", file: "tessera.yaml", environment: [:])
        #expect(every30s.snapshotIntervalMs == 30_000)
        for off in ["off", "'off'"] {
            let config = try ServiceConfig.load(yaml: yaml + postgres + "snapshots: {interval: \(off)}\n", file: "tessera.yaml", environment: [:])
            #expect(config.snapshotIntervalMs == nil)
        }
        // Snapshots go to PostgreSQL: without it there are none.
        #expect(try ServiceConfig.load(yaml: yaml, file: "tessera.yaml", environment: [:]).snapshotIntervalMs == nil)
        #expect(throws: ConfigError(file: "tessera.yaml", key: "snapshots.interval", problem: "'0' is not a duration (use e.g. 30s, 5m, 1h) or off")) {
            try ServiceConfig.load(yaml: yaml + postgres + "snapshots: {interval: 0}\n", file: "tessera.yaml", environment: [:])
        }
    }

    @Test func badValuesNameTheKey() {
        #expect(throws: ConfigError(file: "tessera.yaml", key: "ingest.batch_max_events", problem: "must be greater than 0")) {
            try ServiceConfig.load(yaml: yaml + "ingest: {batch_max_events: 0}\n", file: "tessera.yaml", environment: [:])
        }
        #expect(throws: ConfigError(file: "tessera.yaml", key: "redis.url", problem: "must start with redis://")) {
            try ServiceConfig.load(yaml: "kafka: {brokers: k}\nredis: {url: 'http://x'}\n", file: "tessera.yaml", environment: [:])
        }
    }

    @Test func durations() {
        #expect(DurationText.milliseconds("250ms") == 250)
        #expect(DurationText.milliseconds("5m") == 300_000)
        #expect(DurationText.milliseconds("7d") == 604_800_000)
        #expect(DurationText.milliseconds("0s") == nil && DurationText.milliseconds("h") == nil && DurationText.milliseconds("1.5h") == nil)
        #expect(DurationText.text(milliseconds: 86_400_000) == "1d")
    }
}
