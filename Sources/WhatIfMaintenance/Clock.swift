import Logging
import WhatIfCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The wall clock the window scheduler reads (UTC seconds since 1970) and sleeps on. Tests use
/// `ManualClock` and move time themselves, so nothing in them waits for a window to open.
package protocol MaintenanceClock: Sendable {
    var now: Double { get }
    /// Returns once `now >= t`; throws `CancellationError` when the task is cancelled.
    func sleep(until t: Double) async throws
}

/// The system's wall clock. Sleeps in slices of at most a minute so a clock that is set (or a host that
/// resumes from suspend) is noticed.
package struct SystemMaintenanceClock: MaintenanceClock {
    package init() {}

    package var now: Double { Date().timeIntervalSince1970 }

    package func sleep(until t: Double) async throws {
        while true {
            let left = t - now
            if left <= 0 { return }
            try await Task.sleep(for: .milliseconds(Int(min(left, 60) * 1000) + 1))
        }
    }
}

/// Decisions the scheduler makes, kept apart from it so they can be tested on their own.
package enum WindowPlanning {
    /// How long a job is expected to take: the longest of its last three successful runs (newest
    /// first in `durations`), so one fast run does not talk the agent into starting a job it cannot
    /// finish. Nil when it never ran.
    package static func estimate(_ durations: [Double]) -> Double? {
        durations.prefix(3).max()
    }

    /// Whether a job estimated at `estimate` seconds still fits before `end`.
    package static func fits(estimate: Double?, now: Double, end: Double) -> Bool {
        guard let estimate else { return now < end }
        return now + estimate <= end
    }

    /// The newest occurrence of `schedule` that started after `handled` and had closed by `now`: a
    /// window the agent missed (it was down, or asleep). Nil when nothing was missed.
    package static func missed(_ schedule: WindowSchedule, handled: Double, now: Double) -> Double? {
        var t = now
        // The occurrence open now is not missed (it runs); look at the one before it.
        if let open = schedule.open(at: now) { t = open.start - 60 }
        guard let s = schedule.latestStart(atOrBefore: t), s > handled else { return nil }
        return s
    }
}

/// What the maintenance capability keeps across config reloads: the windows' clock and what each
/// window handled and last did.
package struct MaintenanceState: Sendable {
    package let clock: any MaintenanceClock
    package let windows: WindowStates

    package init(stateDirectory: String, logger: Logger, clock: any MaintenanceClock = SystemMaintenanceClock()) {
        self.clock = clock
        windows = WindowStates(stateDirectory: stateDirectory, logger: logger)
    }
}
