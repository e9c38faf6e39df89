/// Exponential backoff with full jitter, as AWS's architecture blog and SDKs describe it:
/// the n-th retry sleeps a uniformly random time in [0, min(cap, base * 2^n)].
package struct Backoff: Sendable {
    package var base: Double = 0.05
    package var cap: Double = 20
    package var maxAttempts: Int = 8

    // memberwise-init: package

    /// The ceiling of the delay before retry number `retry` (0 for the first retry).
    package func ceiling(retry: Int) -> Double {
        min(cap, base * Double(1 << min(retry, 40)))
    }

    /// A delay before retry number `retry`, drawn with `generator`.
    package func delay(retry: Int, using generator: inout some RandomNumberGenerator) -> Double {
        Double.random(in: 0...ceiling(retry: retry), using: &generator)
    }

    package func delay(retry: Int) -> Double {
        var g = SystemRandomNumberGenerator()
        return delay(retry: retry, using: &g)
    }
}
