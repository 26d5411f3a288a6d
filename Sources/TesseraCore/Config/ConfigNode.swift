import Yams

/// A YAML node that remembers where it sits (file and dotted key path), so every
/// config error can name both.
struct ConfigNode {
    let node: Node
    let file: String
    let path: String

    static func parse(yaml: String, file: String) throws -> ConfigNode {
        do {
            guard let node = try Yams.compose(yaml: yaml) else {
                return ConfigNode(node: Node.mapping(.init([])), file: file, path: "")
            }
            return ConfigNode(node: node, file: file, path: "")
        } catch {
            throw ConfigError(file: file, key: "", problem: "not valid YAML: \(error)")
        }
    }

    func error(_ problem: String) -> ConfigError {
        ConfigError(file: file, key: path, problem: problem)
    }

    private func child(_ node: Node, _ key: String) -> ConfigNode {
        ConfigNode(node: node, file: file, path: path.isEmpty ? key : "\(path).\(key)")
    }

    /// The mapping's entries in file order; an error if this is not a mapping.
    func entries() throws -> [(key: String, value: ConfigNode)] {
        guard let mapping = node.mapping else { throw error("must be a mapping") }
        return try mapping.map { pair in
            guard let key = pair.key.string else { throw error("keys must be strings") }
            return (key, child(pair.value, key))
        }
    }

    /// Rejects keys outside `allowed`, so a typo is an error rather than a silent default.
    func requireKeys(in allowed: Set<String>) throws {
        for (key, _) in try entries() where !allowed.contains(key) {
            throw child(node, key).error("unknown key (expected one of: \(allowed.sorted().joined(separator: ", ")))")
        }
    }

    func optional(_ key: String) throws -> ConfigNode? {
        guard let mapping = node.mapping else { throw error("must be a mapping") }
        guard let value = mapping[key], value.null == nil else { return nil }
        return child(value, key)
    }

    func required(_ key: String) throws -> ConfigNode {
        guard let value = try optional(key) else { throw child(node, key).error("is required") }
        return value
    }

    func string() throws -> String {
        guard case .scalar(let scalar) = node, !scalar.string.isEmpty else { throw error("must be a non-empty string") }
        return scalar.string
    }

    func int() throws -> Int {
        guard let value = node.int else { throw error("must be an integer") }
        return value
    }

    func positiveInt() throws -> Int {
        let value = try int()
        guard value > 0 else { throw error("must be greater than 0") }
        return value
    }

    func double() throws -> Double {
        guard let value = node.float ?? node.int.map(Double.init), value.isFinite else { throw error("must be a number") }
        return value
    }

    func durationMs() throws -> Int64 {
        let text = try string()
        guard let ms = DurationText.milliseconds(text) else {
            throw error("'\(text)' is not a duration (use e.g. 250ms, 30s, 5m, 1h, 7d)")
        }
        return ms
    }

    /// A single string or a list of strings.
    func strings() throws -> [String] {
        if case .scalar = node { return [try string()] }
        guard case .sequence(let sequence) = node else { throw error("must be a string or a list of strings") }
        return try sequence.enumerated().map { index, item in try child(item, "\(index)").string() }
    }

    func stringMap() throws -> [String: String] {
        var result: [String: String] = [:]
        for (key, value) in try entries() { result[key] = try value.string() }
        return result
    }
}
