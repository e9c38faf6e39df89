import Logging
import WhatIfCore
import WhatIfProtocol

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Scheduled sweeps (`expiry.schedule.every`): a `redis.expiry` job every `every` seconds, started through
/// the job contract (a sweep still running is refused by its lock, and the next tick tries again). The
/// schedule is read at each tick, so a reload takes effect; stopping cancels the wait at once.
package struct ExpiryScheduler: BackgroundService {
    /// What to start and how often, or nil when nothing is scheduled now.
    package typealias Schedule = @Sendable () -> (every: Double, request: StartExpiryRequest)?
    /// Starts a sweep; the error says why not (busy, not configured).
    package typealias Start = @Sendable (StartExpiryRequest) async throws(APIError) -> Void

    package let name = "expiry schedule"
    let schedule: Schedule
    let start: Start
    let logger: Logger

    package init(schedule: @escaping Schedule, logger: Logger, start: @escaping Start) {
        self.schedule = schedule
        self.start = start
        self.logger = logger
    }

    package func run() async {
        var last = Date()
        while !Task.isCancelled {
            let every = schedule()?.every ?? 10
            // Looks at least every 5 s, so a reloaded schedule is seen soon.
            do { try await Task.sleep(for: .milliseconds(Int(min(5, max(0.5, every / 4)) * 1000))) } catch { return }
            guard let s = schedule(), Date().timeIntervalSince(last) >= s.every else { continue }
            last = Date()
            do throws(APIError) {
                try await start(s.request)
            } catch {
                logger.notice("scheduled expiry sweep not started", metadata: ["reason": "\(error.message)"])
            }
        }
    }
}
