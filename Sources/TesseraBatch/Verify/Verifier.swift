import TesseraCore
import TesseraPostgres
import TesseraRedis
import TesseraStream

/// Compares online vectors with the same features recomputed from the event log, as
/// the online store saw it: only the events it applied (offsets up to the entity's
/// fences), windows evaluated at the vector's computed-at time. That is exact whatever
/// the lag, so any difference beyond the aggregation's tolerance is a real mismatch.
public struct Verifier: Sendable {
    public var keyspace: RedisKeyspace
    /// Where the log's offsets are kept: the offline consumer group and the topic.
    public var offlineGroup: String
    public var topic: String
    /// Examples printed per mismatched feature.
    public var examplesPerFeature = 3

    public init(keyspace: RedisKeyspace, offlineGroup: String, topic: String) {
        self.keyspace = keyspace
        self.offlineGroup = offlineGroup
        self.topic = topic
    }

    public func verify(_ views: [StreamView], sample: Int, redis: RedisConnection, postgres: PostgresConnection) throws -> VerifyReport {
        let sampler = OnlineSampler(connection: redis, keyspace: keyspace)
        var results: [VerifyReport.ViewResult] = []
        for view in views {
            let entities = try sampler.sample(view: view, limit: sample)
            // Read after the vectors: the log only grows, so what it covers now it covered then.
            let logged = try OfflineDatabase.storedOffsets(group: offlineGroup, topic: topic, on: postgres)
            var result = VerifyReport.ViewResult(view: view.name, checked: 0, notYetLogged: 0, staleOrGone: 0, features: [])
            var compared: [(entity: EntityKey, vector: FeatureVector)] = []
            var targets: [RecomputeTarget] = []
            for entity in entities {
                guard let vector = entity.vector, vector.layoutFingerprint == view.layoutFingerprint, vector.values.count == view.features.count else {
                    result.staleOrGone += 1
                    continue
                }
                guard entity.fences.allSatisfy({ logged[$0.key, default: 0] > $0.value }) else {
                    result.notYetLogged += 1
                    continue
                }
                compared.append((entity.key, vector))
                let keys = Dictionary(uniqueKeysWithValues: zip(view.entity.joinKeys, entity.key.values))
                targets.append(RecomputeTarget(keys: keys, nowMs: vector.computedAtMs, fences: entity.fences))
            }
            result.checked = compared.count
            let recomputed = try ViewRecomputation(view: view).values(for: targets, bound: .appliedOffsets, on: postgres)
            result.features = view.features.enumerated().map { index, feature in
                let tolerance = FeatureTolerance.of(feature, in: view)
                var featureResult = VerifyReport.FeatureResult(feature: feature.name, tolerance: tolerance.description, mismatches: 0, examples: [])
                for (entityIndex, entity) in compared.enumerated() {
                    let (online, offline) = (entity.vector.values[index], recomputed[entityIndex][index])
                    guard !tolerance.accepts(online: online, offline: offline) else { continue }
                    featureResult.mismatches += 1
                    if featureResult.examples.count < examplesPerFeature {
                        featureResult.examples.append(.init(
                            entity: entity.entity, online: FeatureValueText.text(online, feature.valueType),
                            offline: FeatureValueText.text(offline, feature.valueType)))
                    }
                }
                return featureResult
            }
            results.append(result)
        }
        return VerifyReport(views: results)
    }
}
