import TesseraCore

/// `GET /v1/features`: every view with its entity, join keys, ttl and features.
enum CatalogueDocument {
    static func bytes(_ catalog: FeatureCatalog) -> [UInt8] {
        var json = JSONWriter(capacity: 4_096)
        json.beginObject()
        json.key("views")
        json.beginArray()
        for view in catalog.streamViews {
            json.beginObject()
            json.field("name", view.name)
            json.field("kind", "stream")
            json.field("entity", view.entity.name)
            json.key("join_keys")
            json.beginArray()
            for key in view.entity.joinKeys { json.string(key.rawValue) }
            json.endArray()
            json.field("ttl", DurationText.text(milliseconds: view.ttlMs))
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
        json.endArray()
        json.endObject()
        return json.bytes
    }
}
