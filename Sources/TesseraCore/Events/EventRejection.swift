/// Why a message was refused: the dead-letter topic and the rejection metric carry `reason`,
/// operators read `detail`.
public struct EventRejection: Error, Sendable, Equatable {
    public var reason: RejectionReason
    /// A human message naming the offending field or byte, e.g. "field 'price' must be a finite number >= 0".
    public var detail: String

    public init(_ reason: RejectionReason, _ detail: String) {
        self.reason = reason
        self.detail = detail
    }
}

/// Stable rejection labels; the raw values appear in DLQ headers and metric labels, so never rename them.
public enum RejectionReason: String, Sendable, CaseIterable {
    case notJSON = "not_json"
    case notObject = "not_object"
    case oversize
    case missingField = "missing_field"
    case wrongType = "wrong_type"
    case invalidValue = "invalid_value"
    case unknownEventType = "unknown_event_type"
    case badTimestamp = "bad_timestamp"
    case futureTimestamp = "future_timestamp"
    case notUTF8 = "not_utf8"
}
