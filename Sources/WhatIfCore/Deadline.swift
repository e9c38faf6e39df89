/// A point on the monotonic clock by which an operation must finish.
public struct Deadline: Sendable, Comparable {
    package let instant: ContinuousClock.Instant

    package init(_ instant: ContinuousClock.Instant) { self.instant = instant }

    public static func after(seconds: Double) -> Deadline {
        Deadline(.now + .nanoseconds(Int64((seconds * 1e9).rounded())))
    }

    package static let distantFuture = Deadline(.now + .seconds(100 * 365 * 86400))

    /// Seconds left (never negative).
    package var remaining: Double {
        let d = instant - .now
        let s = Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
        return max(0, s)
    }

    /// Milliseconds left, clamped to Int32 for poll(2).
    package var remainingMilliseconds: Int32 {
        Int32(min(Double(Int32.max), (remaining * 1000).rounded(.up)))
    }

    public var hasPassed: Bool { instant <= .now }

    public static func < (a: Deadline, b: Deadline) -> Bool { a.instant < b.instant }
}

/// Measures elapsed time on the monotonic clock.
package struct Stopwatch: Sendable {
    private let start = ContinuousClock.now
    package init() {}
    package var elapsedSeconds: Double {
        let d = ContinuousClock.now - start
        return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }
    package var elapsedMilliseconds: Double { elapsedSeconds * 1000 }
}

#if canImport(Glibc)
    import Glibc
#endif

/// Blocks the calling thread (a blocking-pool thread, never an event loop or the cooperative pool).
package func sleepThread(seconds: Double) {
    guard seconds > 0 else { return }
    var ts = timespec(tv_sec: Int(seconds), tv_nsec: Int((seconds - Double(Int(seconds))) * 1e9))
    var left = timespec()
    while nanosleep(&ts, &left) != 0, errno == EINTR { ts = left }
}
