import Testing
import TesseraCore
@testable import TesseraBatch

@Suite struct FeatureToleranceTests {
    @Test func eachAggregationGetsItsTolerance() throws {
        let view = try #require(BatchTestServices.catalog().streamView(named: "product_stats"))
        func tolerance(_ name: String) throws -> FeatureTolerance { FeatureTolerance.of(view.features[try #require(view.featureIndex(named: name))], in: view) }
        #expect(try tolerance("views_24h") == .exact)
        #expect(try tolerance("last_event_at") == .exact)
        #expect(try tolerance("revenue_7d") == .relative(1e-9))
        #expect(try tolerance("unique_users_24h") == .hyperLogLog)
        #expect(try tolerance("ctr_7d") == .relative(1e-9))
    }

    @Test func boundsAreInclusiveAndNoValueMatchesOnlyNoValue() {
        #expect(FeatureTolerance.exact.accepts(online: .nan, offline: .nan))
        #expect(!FeatureTolerance.exact.accepts(online: 0, offline: .nan))
        #expect(!FeatureTolerance.exact.accepts(online: 3, offline: 4))
        #expect(FeatureTolerance.relative(1e-9).accepts(online: 100 + 1e-8, offline: 100))
        #expect(!FeatureTolerance.relative(1e-9).accepts(online: 100.001, offline: 100))
        #expect(FeatureTolerance.hyperLogLog.accepts(online: 12, offline: 10))
        #expect(!FeatureTolerance.hyperLogLog.accepts(online: 13, offline: 10))
        #expect(FeatureTolerance.hyperLogLog.accepts(online: 1_040, offline: 1_000))
        #expect(!FeatureTolerance.hyperLogLog.accepts(online: 1_041, offline: 1_000))
    }
}
