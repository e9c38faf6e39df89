import Logging

/// What long work (a backup, a sweep, a migration) needs from whoever runs it: a place for progress and
/// log lines, and a way to learn it should stop. The agent's jobs provide one; tests can too.
package protocol JobReporter: Sendable {
    func progress(done: Double, total: Double?, unit: String, phase: String?)
    func log(_ level: Logger.Level, _ message: String)
    var isCancelled: Bool { get }
}

extension JobReporter {
    package func info(_ message: String) { log(.info, message) }

    /// Throws `CancellationError` once the work should stop.
    package func checkCancelled() throws {
        if isCancelled { throw CancellationError() }
    }
}

/// Progress reports at most every `interval` seconds (the last one always goes through on `flush`).
package final class ProgressThrottle: @unchecked Sendable {
    private let reporter: any JobReporter
    private let interval: Double
    private let lock = Locked<(last: ContinuousClock.Instant?, pending: (Double, Double?, String, String?)?)>(
        (nil, nil))

    package init(_ reporter: any JobReporter, interval: Double = 0.25) {
        self.reporter = reporter
        self.interval = interval
    }

    package func report(done: Double, total: Double?, unit: String, phase: String?) {
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

    package func flush() {
        if let p = lock.withLock({ s -> (Double, Double?, String, String?)? in
            defer { s.pending = nil }
            return s.pending
        }) {
            reporter.progress(done: p.0, total: p.1, unit: p.2, phase: p.3)
        }
    }
}
