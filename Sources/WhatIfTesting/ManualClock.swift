import WhatIfCore
import WhatIfMaintenance

/// A clock that moves only when told to. Sleepers wake when `advance` passes their time.
package final class ManualClock: MaintenanceClock, @unchecked Sendable {
    private struct State {
        var now: Double
        var sleepers: [Int: (until: Double, continuation: CheckedContinuation<Void, any Error>)] = [:]
        var nextID = 0
    }

    private let state: Locked<State>

    package init(_ start: Double) {
        state = Locked(State(now: start))
    }

    package var now: Double { state.withLock { $0.now } }

    /// How many tasks are asleep on this clock (tests wait for the scheduler to go to sleep).
    package var sleeping: Int { state.withLock { $0.sleepers.count } }

    /// The earliest time a sleeper waits for.
    package var nextWake: Double? { state.withLock { $0.sleepers.values.map(\.until).min() } }

    package func advance(to t: Double) {
        let due = state.withLock { s -> [CheckedContinuation<Void, any Error>] in
            s.now = max(s.now, t)
            let ready = s.sleepers.filter { $0.value.until <= s.now }
            for id in ready.keys { s.sleepers[id] = nil }
            return ready.values.map(\.continuation)
        }
        for c in due { c.resume() }
    }

    package func advance(by seconds: Double) { advance(to: now + seconds) }

    package func sleep(until t: Double) async throws {
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
