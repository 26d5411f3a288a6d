import TesseraCore

extension FeastLookupRequest {
    /// Reads a body straight from its bytes with TesseraCore's JSONReader: no Foundation, no
    /// tree of values. Malformed JSON is `bad_json`; well-formed JSON of the wrong shape is
    /// `bad_request_body`, naming the field. Unknown members are skipped, as Feast does.
    init(parsing body: UnsafeRawBufferPointer) throws(APIError) {
        var reader = JSONReader(body)
        do {
            self = try Self.read(&reader)
            try reader.expectEnd()
        } catch let rejection as EventRejection {
            throw Self.notJSON(rejection)
        } catch let error as APIError {
            // A syntax error anywhere in the body wins over a shape error found before it.
            var validator = JSONReader(body)
            do throws(EventRejection) {
                _ = try validator.readValue(depth: 1)
                try validator.expectEnd()
            } catch {
                throw Self.notJSON(error)
            }
            throw error
        } catch {
            throw .badRequest("bad_json", "the body is not valid JSON")
        }
        if let rejection = reader.deferredRejection { throw .badRequest("bad_request_body", rejection.detail) }
    }

    private static func notJSON(_ rejection: EventRejection) -> APIError {
        .badRequest("bad_json", "the body is not valid JSON: \(rejection.detail)")
    }

    private static func shape(_ message: String) -> APIError { .badRequest("bad_request_body", message) }

    private static func read(_ reader: inout JSONReader) throws -> FeastLookupRequest {
        guard reader.peekToken() == UInt8(ascii: "{") else {
            _ = try reader.readValue(depth: 1)  // empty or malformed input fails here as bad JSON
            throw shape("the body must be a JSON object with 'features' and 'entities'")
        }
        var features: [String]?
        var entities: [String: [String]]?
        var fullFeatureNames: Bool?
        if try reader.beginObject() {
            repeat {
                let name = reader.string(try reader.readMemberName())
                switch name {
                case "features":
                    guard features == nil else { throw shape("'features' appears twice") }
                    features = try readFeatures(&reader)
                case "entities":
                    guard entities == nil else { throw shape("'entities' appears twice") }
                    entities = try readEntities(&reader)
                case "full_feature_names":
                    guard fullFeatureNames == nil else { throw shape("'full_feature_names' appears twice") }
                    switch try reader.readValue(depth: 2) {
                    case .bool(let flag): fullFeatureNames = flag
                    case .null: fullFeatureNames = false
                    case let other: throw shape("'full_feature_names' must be true or false, not \(other.typeName)")
                    }
                default:
                    _ = try reader.readValue(depth: 2)
                }
            } while try reader.continueContainer(closing: UInt8(ascii: "}"))
        }
        guard let features else { throw shape("missing field 'features'") }
        guard let entities else { throw shape("missing field 'entities'") }
        return FeastLookupRequest(features: features, entities: entities, fullFeatureNames: fullFeatureNames ?? false)
    }

    private static func readFeatures(_ reader: inout JSONReader) throws -> [String] {
        guard reader.peekToken() == UInt8(ascii: "[") else {
            throw shape("'features' must be an array of \"view:feature\" strings, not \(try reader.readValue(depth: 2).typeName)")
        }
        var features: [String] = []
        guard try reader.beginArray() else { return features }
        repeat {
            let value = try reader.readValue(depth: 3)
            guard case .string(let text) = value else {
                throw shape("'features[\(features.count)]' must be a \"view:feature\" string, not \(value.typeName)")
            }
            features.append(reader.string(text))
        } while try reader.continueContainer(closing: UInt8(ascii: "]"))
        return features
    }

    /// `{"join_key": [value, ...], ...}`; a value is a string or an integer (42 ≡ "42").
    private static func readEntities(_ reader: inout JSONReader) throws -> [String: [String]] {
        guard reader.peekToken() == UInt8(ascii: "{") else {
            throw shape("'entities' must be an object of join key → array of values, not \(try reader.readValue(depth: 2).typeName)")
        }
        var entities: [String: [String]] = [:]
        guard try reader.beginObject() else { return entities }
        repeat {
            let joinKey = reader.string(try reader.readMemberName())
            guard entities[joinKey] == nil else { throw shape("'entities.\(joinKey)' appears twice") }
            guard reader.peekToken() == UInt8(ascii: "[") else {
                throw shape("'entities.\(joinKey)' must be an array of strings or integers, not \(try reader.readValue(depth: 3).typeName)")
            }
            var values: [String] = []
            if try reader.beginArray() {
                repeat {
                    let value = try reader.readValue(depth: 4)
                    switch value {
                    case .string(let text):
                        values.append(reader.string(text))
                    case .number(let number):
                        guard let integer = reader.exactInteger(number) else {
                            throw shape("'entities.\(joinKey)[\(values.count)]' must be a string or an integer, not a fraction or out of range")
                        }
                        values.append(String(integer))
                    default:
                        throw shape("'entities.\(joinKey)[\(values.count)]' must be a string or an integer, not \(value.typeName)")
                    }
                } while try reader.continueContainer(closing: UInt8(ascii: "]"))
            }
            entities[joinKey] = values
        } while try reader.continueContainer(closing: UInt8(ascii: "}"))
        return entities
    }
}
