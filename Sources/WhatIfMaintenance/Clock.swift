import WhatIfCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The wall clock the window scheduler reads (UTC seconds since 1970) and sleeps on. Tests use
/// `ManualClock` and move time themselves, so nothing in them waits for a window to open.
public protocol MaintenanceClock: Sendable {
    var now: Double { get }
    /// Returns once `now >= t`; throws `CancellationError` when the task is cancelled.
    func sleep(until t: Double) async throws
}

/// The system's wall clock. Sleeps in slices of at most a minute so a clock that is set (or a host that
/// resumes from suspend) is noticed.
public struct SystemMaintenanceClock: MaintenanceClock {
    public init() {}

    public var now: Double { Date().timeIntervalSince1970 }

    public func sleep(until t: Double) async throws {
        while true {
            let left = t - now
            if left <= 0 { return }
            try await Task.sleep(for: .milliseconds(Int(min(left, 60) * 1000) + 1))
        }
    }
}

/// A clock that moves only when told to. Sleepers wake when `advance` passes their time.
public final class ManualClock: MaintenanceClock, @unchecked Sendable {
    private struct State {
        var now: Double
        var sleepers: [Int: (until: Double, continuation: CheckedContinuation<Void, any Error>)] = [:]
        var nextID = 0
    }

    private let state: Locked<State>

    public init(_ start: Double) {
        state = Locked(State(now: start))
    }

    public var now: Double { state.withLock { $0.now } }

    /// How many tasks are asleep on this clock (tests wait for the scheduler to go to sleep).
    public var sleeping: Int { state.withLock { $0.sleepers.count } }

    /// The earliest time a sleeper waits for.
    public var nextWake: Double? { state.withLock { $0.sleepers.values.map(\.until).min() } }

    public func advance(to t: Double) {
        let due = state.withLock { s -> [CheckedContinuation<Void, any Error>] in
            s.now = max(s.now, t)
            let ready = s.sleepers.filter { $0.value.until <= s.now }
            for id in ready.keys { s.sleepers[id] = nil }
            return ready.values.map(\.continuation)
        }
        for c in due { c.resume() }
    }

    public func advance(by seconds: Double) { advance(to: now + seconds) }

    public func sleep(until t: Double) async throws {
        let id = state.withLock { s -> Int in
            s.nextID += 1
            return s.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
                let resumeNow = state.withLock { s -> Bool in
                    if s.now >= t || Task.isCancelled { return true }
                    s.sleepers[id] = (t, c)
                    return false
                }
                if resumeNow { c.resume() }
            }
        } onCancel: {
            let c = state.withLock { $0.sleepers.removeValue(forKey: id)?.continuation }
            c?.resume(throwing: CancellationError())
        }
        try Task.checkCancellation()
    }
}

/// Decisions the scheduler makes, kept apart from it so they can be tested on their own.
public enum WindowPlanning {
    /// How long a job is expected to take: the longest of its last three successful runs (newest
    /// first in `durations`), so one fast run does not talk the agent into starting a job it cannot
    /// finish. Nil when it never ran.
    public static func estimate(_ durations: [Double]) -> Double? {
        durations.prefix(3).max()
    }

    /// Whether a job estimated at `estimate` seconds still fits before `end`.
    public static func fits(estimate: Double?, now: Double, end: Double) -> Bool {
        guard let estimate else { return now < end }
        return now + estimate <= end
    }

    /// The newest occurrence of `schedule` that started after `handled` and had closed by `now`: a
    /// window the agent missed (it was down, or asleep). Nil when nothing was missed.
    public static func missed(_ schedule: WindowSchedule, handled: Double, now: Double) -> Double? {
        var t = now
        // The occurrence open now is not missed (it runs); look at the one before it.
        if let open = schedule.open(at: now) { t = open.start - 60 }
        guard let s = schedule.latestStart(atOrBefore: t), s > handled else { return nil }
        return s
    }
}
