import Foundation  // log, cos and pow only; the randomness is all here

/// xoshiro256** (Blackman and Vigna) seeded through SplitMix64.
///
/// The demo needs the same stream for the same seed everywhere, and the standard library
/// leaves its algorithms (and `random(in:using:)`) unspecified, so sampling is done here too.
struct DemoRandom {
    private var state: (UInt64, UInt64, UInt64, UInt64)

    init(seed: UInt64) {
        // SplitMix64 spreads any seed, even 0, into a well-mixed non-zero state.
        var splitMix = seed
        func nextSplitMix() -> UInt64 {
            splitMix &+= 0x9E37_79B9_7F4A_7C15
            var mixed = splitMix
            mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
            mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
            return mixed ^ (mixed >> 31)
        }
        state = (nextSplitMix(), nextSplitMix(), nextSplitMix(), nextSplitMix())
    }

    mutating func next() -> UInt64 {
        let result = rotateLeft(state.1 &* 5, 7) &* 9
        let shifted = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= shifted
        state.3 = rotateLeft(state.3, 45)
        return result
    }

    /// Uniform in [0, 1), from the top 53 bits.
    mutating func unit() -> Double {
        Double(next() >> 11) * 0x1p-53
    }

    /// Uniform in `0..<bound` by multiply-shift; the bias (below bound / 2^64) is irrelevant here.
    mutating func index(below bound: Int) -> Int {
        precondition(bound > 0, "bound must be positive")
        return Int(UInt64(bound).multipliedFullWidth(by: next()).high)
    }

    mutating func integer(in range: ClosedRange<Int>) -> Int {
        range.lowerBound + index(below: range.count)
    }

    mutating func chance(_ probability: Double) -> Bool {
        unit() < probability
    }

    mutating func element<Element>(of elements: [Element]) -> Element {
        elements[index(below: elements.count)]
    }

    /// Standard normal, by Box-Muller.
    mutating func normal() -> Double {
        let radius = (-2 * log(1 - unit())).squareRoot()
        return radius * cos(2 * Double.pi * unit())
    }

    /// Exponential with the given mean: waiting times between a user's actions.
    mutating func exponential(mean: Double) -> Double {
        -log(1 - unit()) * mean
    }

    mutating func shuffle<Element>(_ elements: inout [Element]) {
        guard elements.count > 1 else { return }
        for position in stride(from: elements.count - 1, to: 0, by: -1) {
            elements.swapAt(position, index(below: position + 1))
        }
    }

    private func rotateLeft(_ value: UInt64, _ count: UInt64) -> UInt64 {
        (value << count) | (value >> (64 - count))
    }
}

/// Samples indices in proportion to fixed weights, by binary search over cumulative weights.
struct WeightedIndex {
    private let cumulative: [Double]

    init(weights: [Double]) {
        precondition(!weights.isEmpty && weights.allSatisfy { $0 >= 0 }, "weights must be non-negative")
        var total = 0.0
        cumulative = weights.map { weight in
            total += weight
            return total
        }
        precondition(total > 0, "at least one weight must be positive")
    }

    /// Zipf weights 1/rank^exponent for ranks 1...count.
    static func zipf(count: Int, exponent: Double) -> WeightedIndex {
        WeightedIndex(weights: (1...count).map { 1 / pow(Double($0), exponent) })
    }

    func sample(using random: inout DemoRandom) -> Int {
        let target = random.unit() * cumulative[cumulative.count - 1]
        var low = 0
        var high = cumulative.count - 1
        while low < high {
            let middle = (low + high) / 2
            if cumulative[middle] > target { high = middle } else { low = middle + 1 }
        }
        return low
    }
}
