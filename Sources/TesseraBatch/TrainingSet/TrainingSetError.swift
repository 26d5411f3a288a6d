/// Why a training set could not be built; printed as one line by the CLI.
public enum TrainingSetError: Error, CustomStringConvertible, Sendable {
    case badFeatures(String)
    case badSpine(CSVError)
    /// A batch source value PostgreSQL cast to the feature's type but that does not read back.
    case badBatchValue(view: String, feature: String, text: String)

    public var description: String {
        switch self {
        case .badFeatures(let problem): "--features: \(problem)"
        case .badSpine(let error): "spine \(error)"
        case .badBatchValue(let view, let feature, let text): "\(view):\(feature): the source value '\(text)' does not read as its type"
        }
    }
}
