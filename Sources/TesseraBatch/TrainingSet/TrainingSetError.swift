/// Why a training set could not be built; printed as one line by the CLI.
public enum TrainingSetError: Error, CustomStringConvertible, Sendable {
    case badFeatures(String)
    case badSpine(CSVError)

    public var description: String {
        switch self {
        case .badFeatures(let problem): "--features: \(problem)"
        case .badSpine(let error): "spine \(error)"
        }
    }
}
