import TesseraCore

/// What `verify` found, per view and feature.
public struct VerifyReport: Sendable {
    public struct Mismatch: Sendable {
        public var entity: EntityKey
        public var online: String
        public var offline: String
    }

    public struct FeatureResult: Sendable {
        public var feature: String
        public var tolerance: String
        public var mismatches: Int
        /// The first few, to look at.
        public var examples: [Mismatch]
    }

    public struct ViewResult: Sendable {
        public var view: String
        public var checked: Int
        /// Skipped: the offline log has not caught up with what the online store applied.
        public var notYetLogged: Int
        /// Skipped: the vector was written under another features.yaml (a layout fingerprint
        /// that differs), or went away between the scan and the read.
        public var staleOrGone: Int
        public var features: [FeatureResult]
    }

    public var views: [ViewResult]

    public var mismatches: Int { views.reduce(0) { $0 + $1.features.reduce(0) { $0 + $1.mismatches } } }

    /// The report as printed: per view, entities checked and skipped, then one line per
    /// feature with its mismatch count and a few examples.
    public var lines: [String] {
        var lines: [String] = []
        for view in views {
            lines.append(
                "\(view.view): \(view.checked) entities checked, \(view.notYetLogged) skipped (not yet in the event log), \(view.staleOrGone) skipped (stale layout or gone)")
            let width = view.features.map(\.feature.count).max() ?? 0
            for feature in view.features {
                let name = feature.feature.paddedRight(to: width)
                lines.append("  \(name)  \(feature.mismatches == 0 ? "ok" : "\(feature.mismatches) mismatched")  (tolerance: \(feature.tolerance))")
                for example in feature.examples {
                    lines.append("      \(example.entity): online \(example.online.isEmpty ? "none" : example.online), log \(example.offline.isEmpty ? "none" : example.offline)")
                }
            }
        }
        let failing = views.reduce(0) { $0 + $1.features.filter { $0.mismatches > 0 }.count }
        if mismatches > 0 {
            lines.append("verify: FAILED, \(mismatches) mismatched values in \(failing) features (\(checked) entities checked)")
        } else if checked == 0 {
            // An empty or flushed online store must not read as a pass.
            lines.append("verify: nothing checked, no online vector could be compared (empty online store? `tessera backfill --all` rebuilds it)")
        } else {
            lines.append("verify: ok, \(checked) entities match the event log")
        }
        return lines
    }

    /// Entities compared, over every view.
    public var checked: Int { views.reduce(0) { $0 + $1.checked } }
}

extension String {
    func paddedRight(to length: Int) -> String { self + String(repeating: " ", count: max(0, length - count)) }
}
