/// CloudWatch's statistics: SampleCount, Sum, Average, Minimum, Maximum, and pNN.NN percentiles.
package enum Statistic: Sendable, Equatable, CustomStringConvertible {
    case sampleCount, sum, average, minimum, maximum
    /// 0...100, at most two decimals.
    case percentile(Double)

    package static let names = ["SampleCount", "Sum", "Average", "Minimum", "Maximum"]

    package init?(_ text: String) {
        switch text {
        case "SampleCount": self = .sampleCount
        case "Sum": self = .sum
        case "Average": self = .average
        case "Minimum": self = .minimum
        case "Maximum": self = .maximum
        default:
            guard let p = Self.parsePercentile(text) else { return nil }
            self = .percentile(p)
        }
    }

    /// `p99`, `p99.9`, `p0.5`, `p100` (CloudWatch's ExtendedStatistic: p0.0 to p100, two decimals at most).
    package static func parsePercentile(_ text: String) -> Double? {
        guard text.first == "p" || text.first == "P" else { return nil }
        let body = text.dropFirst()
        let parts = body.split(separator: ".", omittingEmptySubsequences: false)
        guard !body.isEmpty, parts.count <= 2, let whole = parts.first, !whole.isEmpty, whole.count <= 3,
            whole.allSatisfy(\.isASCII), whole.allSatisfy(\.isNumber)
        else { return nil }
        if parts.count == 2 {
            let frac = parts[1]
            guard !frac.isEmpty, frac.count <= 2, frac.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        }
        guard let v = Double(body), v >= 0, v <= 100 else { return nil }
        return v
    }

    package var description: String {
        switch self {
        case .sampleCount: "SampleCount"
        case .sum: "Sum"
        case .average: "Average"
        case .minimum: "Minimum"
        case .maximum: "Maximum"
        case .percentile(let p):
            p == p.rounded() ? "p\(Int(p))" : "p\(p)"
        }
    }

    package var isPercentile: Bool {
        if case .percentile = self { return true }
        return false
    }

    /// The statistic over `values` (nil for no values). Percentiles are nearest-rank: the smallest
    /// value with at least p% of the values at or below it, so the answer is always a real sample.
    package func compute(_ values: some Collection<Double>) -> Double? {
        guard !values.isEmpty else { return nil }
        switch self {
        case .sampleCount: return Double(values.count)
        case .sum: return values.reduce(0, +)
        case .average: return values.reduce(0, +) / Double(values.count)
        case .minimum: return values.min()
        case .maximum: return values.max()
        case .percentile(let p):
            let sorted = values.sorted()
            let rank = Int((p / 100 * Double(sorted.count)).rounded(.up))
            return sorted[min(max(rank, 1), sorted.count) - 1]
        }
    }

    /// CloudWatch's rule for "too few samples" for a percentile: fewer than 10/(1-p) samples for
    /// p in [0.5, 1), fewer than 10/p for p in (0, 0.5). Other statistics are never low.
    package func isLowSample(count: Int) -> Bool {
        guard case .percentile(let pct) = self else { return false }
        let p = pct / 100
        if p >= 1 || p <= 0 { return false }
        let needed = p >= 0.5 ? 10 / (1 - p) : 10 / p
        return Double(count) < needed - 1e-6
    }
}
