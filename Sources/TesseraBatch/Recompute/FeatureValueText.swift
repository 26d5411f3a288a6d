import TesseraCore

/// How a feature value is written in a training set or a verify report: empty for no
/// value, counts and epoch-millisecond times as integers, the rest as the shortest
/// decimal that reads back as the same Double.
enum FeatureValueText {
    static func text(_ value: Double, _ type: FeatureValueType) -> String {
        guard !value.isNaN else { return "" }
        switch type {
        case .int64, .timestampMs:
            if let integer = Int64(exactly: value) { return String(integer) }
            return String(value)
        case .double:
            return String(value)
        }
    }

    /// A batch feature's value: empty for null, numbers as the shortest decimal that reads
    /// back as the same value, booleans as `true`/`false`, strings as they are.
    static func text(_ value: BatchValue) -> String {
        switch value {
        case .null: ""
        case .double(let number): String(number)
        case .int(let number): String(number)
        case .string(let text): text
        case .bool(let flag): flag ? "true" : "false"
        }
    }
}
