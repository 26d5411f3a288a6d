@testable import TesseraCore

/// Shared inputs for the event decoding tests.
enum EventFixtures {
    /// 2026-11-21T12:00:00Z, the decoder's "now" in these tests.
    static let nowMs: Int64 = 1_795_262_400_000
    /// 2026-11-21T10:15:30.120Z, the contract example's timestamp.
    static let exampleTimestampMs: Int64 = 1_795_256_130_120

    static let decoder = EventDecoder()

    static func decode(_ json: String, nowMs: Int64 = nowMs) -> Result<ClickEvent, EventRejection> {
        decoder.decode(Array(json.utf8), nowMs: nowMs)
    }

    static func rejection(_ bytes: [UInt8]) -> EventRejection? {
        guard case .failure(let rejection) = decoder.decode(bytes, nowMs: nowMs) else { return nil }
        return rejection
    }

    /// A minimal valid event with `members` (raw JSON, e.g. `"price": 3`) appended.
    static func minimal(with members: String = "") -> String {
        let base = #"{"event_id": "e-1", "event_type": "view", "timestamp": "2026-11-21T10:15:30.120Z", "#
            + #""user_id": "u-1", "product_id": "p-1""#
        return base + (members.isEmpty ? "" : ", " + members) + "}"
    }

    /// The minimal event with the first occurrence of `target` replaced.
    static func minimal(replacing target: String, with replacement: String) -> String {
        var json = minimal()
        guard let range = json.firstRange(of: target) else { preconditionFailure("'\(target)' not in \(json)") }
        json.replaceSubrange(range, with: replacement)
        return json
    }
}

extension Result<ClickEvent, EventRejection> {
    var rejectionReason: RejectionReason? {
        if case .failure(let rejection) = self { rejection.reason } else { nil }
    }
}
