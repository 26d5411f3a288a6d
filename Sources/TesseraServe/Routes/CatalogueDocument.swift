import TesseraCore

/// `GET /v1/features`: every view (stream, then batch) with its entity, join keys, ttl and features.
enum CatalogueDocument {
    static func bytes(_ catalog: FeatureCatalog) -> [UInt8] {
        var json = JSONWriter(capacity: 4_096)
        json.beginObject()
        json.key("views")
        json.beginArray()
        for view in catalog.streamViews {
            json.beginObject()
            writeViewHeader(&json, name: view.name, kind: "stream", entity: view.entity, ttlMs: view.ttlMs)
            json.key("features")
            json.beginArray()
            for feature in view.features {
                json.beginObject()
                json.field("name", feature.name)
                json.field("reference", "\(view.name):\(feature.name)")
                json.field("type", feature.valueType.rawValue)
                json.key("window")
                if case .windowed(_, let windowMs) = feature.kind {
                    json.string(DurationText.text(milliseconds: windowMs))
                } else {
                    json.null()
                }
                json.field("definition", feature.summary)
                json.endObject()
            }
            json.endArray()
            json.endObject()
        }
        for view in catalog.batchViews {
            json.beginObject()
            writeViewHeader(&json, name: view.name, kind: "batch", entity: view.entity, ttlMs: view.ttlMs)
            json.field("schedule", DurationText.text(milliseconds: view.scheduleMs))
            json.key("features")
            json.beginArray()
            for feature in view.features {
                json.beginObject()
                json.field("name", feature.name)
                json.field("reference", "\(view.name):\(feature.name)")
                json.field("type", feature.type.rawValue)
                json.field("definition", "latest \(feature.column) per entity by \(view.source.timestampColumn)")
                json.endObject()
            }
            json.endArray()
            json.endObject()
        }
        json.endArray()
        json.endObject()
        return json.bytes
    }

    private static func writeViewHeader(_ json: inout JSONWriter, name: String, kind: String, entity: EntityDefinition, ttlMs: Int64) {
        json.field("name", name)
        json.field("kind", kind)
        json.field("entity", entity.name)
        json.key("join_keys")
        json.beginArray()
        for key in entity.joinKeys { json.string(key.rawValue) }
        json.endArray()
        json.field("ttl", DurationText.text(milliseconds: ttlMs))
    }
}
