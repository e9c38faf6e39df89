import Logging

/// What long work (a backup, a sweep, a migration) needs from whoever runs it: a place for progress and
/// log lines, and a way to learn it should stop. The agent's jobs provide one; tests can too.
public protocol JobReporter: Sendable {
    func progress(done: Double, total: Double?, unit: String, phase: String?)
    func log(_ level: Logger.Level, _ message: String)
    var isCancelled: Bool { get }
}

extension JobReporter {
    public func info(_ message: String) { log(.info, message) }

    /// Throws `CancellationError` once the work should stop.
    public func checkCancelled() throws {
        if isCancelled { throw CancellationError() }
    }
}

/// Progress reports at most every `interval` seconds (the last one always goes through on `flush`).
public final class ProgressThrottle: @unchecked Sendable {
    private let reporter: any JobReporter
    private let interval: Double
    private let lock = Locked<(last: ContinuousClock.Instant?, pending: (Double, Double?, String, String?)?)>(
        (nil, nil))

    public init(_ reporter: any JobReporter, interval: Double = 0.25) {
        self.reporter = reporter
        self.interval = interval
    }

    public func report(done: Double, total: Double?, unit: String, phase: String?) {
        let now = ContinuousClock.now
        let send = lock.withLock { s -> Bool in
            if let last = s.last, now - last < .milliseconds(Int(interval * 1000)) {
                s.pending = (done, total, unit, phase)
                return false
            }
            s.last = now
            s.pending = nil
            return true
        }
        if send { reporter.progress(done: done, total: total, unit: unit, phase: phase) }
    }

    public func flush() {
        if let p = lock.withLock({ s -> (Double, Double?, String, String?)? in
            defer { s.pending = nil }
            return s.pending
        }) {
            reporter.progress(done: p.0, total: p.1, unit: p.2, phase: p.3)
        }
    }
}
