/// The feature values of one entity computed straight from its events under the window
/// rules, with no tiles stored anywhere: the model the online store must agree with
/// (approx_distinct is exact here; HyperLogLog online is within its error).
public enum ReferenceFeatures {
    public static func values(view: StreamView, events: [ClickEvent], nowMs: Int64) -> [Double] {
        var values = [Double](repeating: .nan, count: view.features.count)
        for (index, feature) in view.features.enumerated() {
            switch feature.kind {
            case .windowed(let slotID, let windowMs):
                let slot = view.slots[slotID]
                let firstTile = TileMath.firstTile(nowMs: nowMs, windowMs: windowMs, tileMs: slot.tileMs!)
                let inWindow = events.filter {
                    slot.accepts($0) && TileMath.tileIndex(timeMs: $0.timestampMs, tileMs: slot.tileMs!) >= firstTile
                }
                values[index] = aggregate(slot, inWindow)
            case .lifetime(let slotID):
                let slot = view.slots[slotID]
                values[index] = aggregate(slot, events.filter(slot.accepts))
            case .ratio:
                break  // after every aggregate is known
            }
        }
        for (index, feature) in view.features.enumerated() {
            if case .ratio(let numerator, let denominator, let alpha, let beta) = feature.kind {
                values[index] = ratio(values[numerator], values[denominator], alpha: alpha, beta: beta)
            }
        }
        return values
    }

    /// (numerator + alpha) / (denominator + beta); no value when either side has none or the divisor is 0.
    public static func ratio(_ numerator: Double, _ denominator: Double, alpha: Double, beta: Double) -> Double {
        let divisor = denominator + beta
        guard !numerator.isNaN, !denominator.isNaN, divisor != 0 else { return .nan }
        return (numerator + alpha) / divisor
    }

    private static func aggregate(_ slot: AggregationSlot, _ events: [ClickEvent]) -> Double {
        switch slot.aggregation {
        case .count:
            return Double(events.count)
        case .sum:
            return events.compactMap { slot.field!.number(in: $0) }.reduce(0, +)
        case .min:
            return events.compactMap { slot.field!.number(in: $0) }.min() ?? .nan
        case .max:
            return events.compactMap { slot.field!.number(in: $0) }.max() ?? .nan
        case .last:
            let timed = events.compactMap { event in slot.field!.number(in: event).map { (event.timestampMs, $0) } }
            // Ties on event time go to the larger value, as in the apply script.
            return timed.max { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }?.1 ?? .nan
        case .approxDistinct:
            return Double(Set(events.compactMap { slot.field!.text(in: $0) }).count)
        }
    }
}
