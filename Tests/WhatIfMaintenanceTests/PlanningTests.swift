import Foundation
import Testing
import WhatIfTesting
import WhatIfUnits

@testable import WhatIfMaintenance

/// The scheduler's decisions and its clock, without waiting for anything.
@Suite struct PlanningTests {
    @Test func estimatesUseTheLongestOfTheLastThreeRuns() {
        #expect(WindowPlanning.estimate([]) == nil)
        #expect(WindowPlanning.estimate([10]) == 10)
        // Newest first: a fast latest run does not hide a slow one just before it; the fourth is too old.
        #expect(WindowPlanning.estimate([5, 40, 20, 900]) == 40)
        let end = at("2026-11-29T06:00:00Z")
        #expect(WindowPlanning.fits(estimate: 1800, now: end - 1800, end: end))
        #expect(!WindowPlanning.fits(estimate: 1801, now: end - 1800, end: end))
        #expect(WindowPlanning.fits(estimate: nil, now: end - 1, end: end), "never ran: it is tried")
        #expect(!WindowPlanning.fits(estimate: nil, now: end, end: end), "not after the window closed")
        #expect(Units.duration(42) == "42s")
        #expect(Units.duration(7200) == "2h")
        #expect(Units.duration(3900) == "1h5m")
    }

    /// A window missed while the agent was down is the newest closed occurrence after the last one handled;
    /// the occurrence open now is not missed (it runs), and nothing is missed twice.
    @Test func missedWindowsAcrossWeekBoundaries() throws {
        let weekly = try WindowSchedule.parse("sun:05:00-sun:06:00")
        let sunday = at("2026-11-29T05:00:00Z")
        // Handled last week's; now is Monday: this Sunday's was missed.
        #expect(iso(WindowPlanning.missed(weekly, handled: sunday - 7 * 86400, now: sunday + 86400)) == iso(sunday))
        // Handled this Sunday's: nothing missed.
        #expect(WindowPlanning.missed(weekly, handled: sunday, now: sunday + 86400) == nil)
        // Down for three weeks: only the newest counts (one catch-up, not three).
        #expect(
            iso(WindowPlanning.missed(weekly, handled: sunday - 21 * 86400, now: sunday + 3600))
                == iso(sunday))
        // The window is open now: the one a week before was missed, this one is not.
        #expect(
            iso(WindowPlanning.missed(weekly, handled: sunday - 14 * 86400, now: sunday + 600))
                == iso(sunday - 7 * 86400))
        #expect(WindowPlanning.missed(weekly, handled: sunday - 7 * 86400, now: sunday + 600) == nil)
        // A window that wraps the week (sat 23:00 to sun 01:00) missed over the wrap.
        let wrap = try WindowSchedule.parse("sat:23:00-sun:01:00")
        let sat = at("2026-11-28T23:00:00Z")
        #expect(iso(WindowPlanning.missed(wrap, handled: sat - 7 * 86400, now: sat + 7200)) == iso(sat))
        // Cron: every day at 02:00 for 30 minutes, down over midnight.
        let daily = try WindowSchedule.parse("0 2 * * *", duration: 1800)
        #expect(
            iso(WindowPlanning.missed(daily, handled: at("2026-11-24T02:00:00Z"), now: at("2026-11-25T09:00:00Z")))
                == "2026-11-25T02:00:00Z")
    }

    @Test func manualClockWakesSleepersOnlyWhenMoved() async throws {
        let clock = ManualClock(1000)
        let woke = Task { () -> Double in
            try await clock.sleep(until: 1500)
            return clock.now
        }
        while clock.sleeping == 0 { await Task.yield() }
        #expect(clock.nextWake == 1500)
        clock.advance(to: 1400)
        #expect(clock.sleeping == 1, "not yet")
        clock.advance(by: 200)
        #expect(try await woke.value == 1600)
        // A time already passed returns at once; a cancelled sleeper throws.
        try await clock.sleep(until: 1)
        let cancelled = Task { try await clock.sleep(until: 99_999) }
        while clock.sleeping == 0 { await Task.yield() }
        cancelled.cancel()
        await #expect(throws: CancellationError.self) { try await cancelled.value }
        #expect(clock.sleeping == 0)
    }
}
