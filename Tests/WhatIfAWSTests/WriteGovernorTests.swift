import Testing
import WhatIfAWS
import WhatIfCore
import WhatIfTesting

/// The bulk writers' pace without DynamoDB: AIMD on the requests in flight, the write-capacity budget
/// as a token bucket on a clock the test moves.
@Suite struct WriteGovernorTests {
    @Test func throttlingHalvesTheRequestsInFlightAndSuccessGrowsThemBack() {
        let g = WriteGovernor(maxInFlight: 8, start: 8)
        #expect(g.stats.limit == 8)
        g.acquire(units: 1)
        g.release(throttled: true)
        #expect(g.stats.limit == 4 && g.stats.cuts == 1)
        g.acquire(units: 1)
        g.release(throttled: true)
        g.acquire(units: 1)
        g.release(throttled: true)
        g.acquire(units: 1)
        g.release(throttled: true)
        #expect(g.stats.limit == 1, "never below one")
        // Additive increase: one more in flight for every `limit` answered without throttling.
        for _ in 0..<1 {
            g.acquire(units: 1)
            g.release(throttled: false)
        }
        #expect(g.stats.limit == 2)
        for _ in 0..<2 {
            g.acquire(units: 1)
            g.release(throttled: false)
        }
        // 2 + 1/2 + 1/2.5: about one more per window of `limit` answers.
        #expect(abs(g.stats.limit - 2.9) < 1e-9)
        for _ in 0..<100 {
            g.acquire(units: 1)
            g.release(throttled: false)
        }
        #expect(g.stats.limit == 8, "never above the workers")
    }

    @Test func requestsBeyondTheLimitWaitForASlot() {
        let g = WriteGovernor(maxInFlight: 2, start: 2)
        g.acquire(units: 1)
        g.acquire(units: 1)
        let third = Locked(false)
        let h = Threads.start {
            g.acquire(units: 1)
            third.set(true)
        }
        // The third waits while two are in flight, and goes once one is answered.
        #expect(!eventually(timeout: 0.3) { third.value })
        g.release(throttled: false)
        #expect(eventually(timeout: 5) { third.value })
        h.join()
        #expect(g.stats.peakInFlight == 2)
    }

    @Test func theBudgetIsNeverExceeded() {
        // A clock the test moves: the governor's waits advance it.
        let clock = Locked(0.0)
        let g = WriteGovernor(
            maxInFlight: 64, unitsPerSecond: 100, start: 64, now: { clock.value },
            sleep: { s in clock.withLock { $0 += s } })
        // A second of budget is there at once; then requests wait for units to accrue.
        var used = 0.0
        for _ in 0..<4 {
            g.acquire(units: 25)
            used += 25
            g.release(throttled: false)
        }
        #expect(used == 100 && g.stats.waitedForUnits == 0)
        clock.set(0.5)
        g.acquire(units: 50)
        g.release(throttled: false)
        #expect(g.stats.waitedForUnits == 0, "half a second accrued 50 units")
        // The bucket is empty: 100 more units wait a second for them, and the time used is 1.5 s for 250.
        g.acquire(units: 100)
        g.release(throttled: false)
        #expect(abs(g.stats.waitedForUnits - 1) < 1e-9 && abs(clock.value - 1.5) < 1e-9)
        // A request bigger than a second of budget waits for a full bucket, then leaves it in debt.
        g.acquire(units: 300)
        #expect(abs(clock.value - 2.5) < 1e-9)
        g.acquire(units: 50)
        #expect(abs(clock.value - 5.0) < 1e-9, "the debt of 200 is paid before 50 more: 2.5 s")
        #expect(WriteGovernor.units(bytes: 1) == 1 && WriteGovernor.units(bytes: 1024) == 1)
        #expect(WriteGovernor.units(bytes: 1025) == 2 && WriteGovernor.units(bytes: 400 * 1024) == 400)
    }
}
