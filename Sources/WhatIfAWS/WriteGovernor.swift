import WhatIfCore

#if canImport(Glibc)
    import Glibc
#endif

/// How many BatchWriteItem requests may be in flight, and how many write capacity units they may use
/// per second, so that the table's capacity, not the agent, sets a bulk write's pace: additive increase
/// (one more request in flight for every `limit` answered without throttling), multiplicative decrease
/// (halved, down to one, on a throttled request or unprocessed items), never above `maxInFlight`. With a
/// budget, a request first waits for its write units (one per started KiB of each item, as DynamoDB
/// counts a standard write) in a token bucket holding one second of budget.
package final class WriteGovernor: @unchecked Sendable {
    package struct Stats: Sendable, Equatable {
        /// The in-flight limit now.
        package var limit: Double
        /// The most requests that were in flight at once.
        package var peakInFlight: Int = 0
        /// Times throttling halved the limit.
        package var cuts: Int = 0
        /// Seconds requests waited for write units.
        package var waitedForUnits: Double = 0
    }

    package let maxInFlight: Int
    package let unitsPerSecond: Double?
    private let now: @Sendable () -> Double
    private let sleep: @Sendable (Double) -> Void
    private var mutex = pthread_mutex_t()
    private var slotFree = pthread_cond_t()
    private var inFlight = 0
    private var tokens: Double
    private var refilledAt: Double
    private var state: Stats

    /// `start`: the in-flight limit at first (grows from there).
    package init(
        maxInFlight: Int, unitsPerSecond: Double? = nil, start: Double = 1,
        now: @escaping @Sendable () -> Double = WriteGovernor.monotonic,
        sleep: @escaping @Sendable (Double) -> Void = { sleepThread(seconds: $0) }
    ) {
        self.sleep = sleep
        self.maxInFlight = max(1, maxInFlight)
        self.unitsPerSecond = unitsPerSecond.flatMap { $0 > 0 ? $0 : nil }
        self.now = now
        tokens = unitsPerSecond ?? 0
        refilledAt = now()
        state = Stats(limit: min(Double(max(1, maxInFlight)), max(1, start)))
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&slotFree, nil)
    }

    deinit {
        pthread_mutex_destroy(&mutex)
        pthread_cond_destroy(&slotFree)
    }

    /// Seconds on a clock that only goes forward.
    package static let monotonic: @Sendable () -> Double = {
        let started = Stopwatch()
        return { started.elapsedSeconds }
    }()

    package var stats: Stats {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return state
    }

    /// The write units an item of `bytes` uses: one per started KiB.
    package static func units(bytes: Int) -> Double { Double(max(1, (bytes + 1023) / 1024)) }

    /// Blocks until a request may go: a slot under the limit, and its write units.
    package func acquire(units: Double) {
        pthread_mutex_lock(&mutex)
        while inFlight >= Int(state.limit) { pthread_cond_wait(&slotFree, &mutex) }
        inFlight += 1
        state.peakInFlight = max(state.peakInFlight, inFlight)
        if let rate = unitsPerSecond {
            while true {
                let t = now()
                tokens = min(rate, tokens + (t - refilledAt) * rate)
                refilledAt = t
                // A request bigger than a second of budget goes when the bucket is full, leaving it in debt.
                if tokens >= min(units, rate) {
                    tokens -= units
                    break
                }
                let wait = (min(units, rate) - tokens) / rate
                state.waitedForUnits += wait
                pthread_mutex_unlock(&mutex)
                sleep(wait)
                pthread_mutex_lock(&mutex)
            }
        }
        pthread_mutex_unlock(&mutex)
    }

    /// After the request's answer: throttled (an error DynamoDB throttles with, or unprocessed items)
    /// halves the limit; otherwise it grows by 1/limit.
    package func release(throttled: Bool) {
        pthread_mutex_lock(&mutex)
        inFlight -= 1
        if throttled {
            state.limit = max(1, (state.limit / 2).rounded(.down))
            state.cuts += 1
        } else {
            state.limit = min(Double(maxInFlight), state.limit + 1 / state.limit)
        }
        pthread_cond_broadcast(&slotFree)
        pthread_mutex_unlock(&mutex)
    }
}
