#if canImport(Glibc)
    import Glibc
#endif

/// Counts down to zero from `count`; `wait(seconds:)` blocks until it gets there or the time is up, on
/// the monotonic clock. For a thread that must wait for others with a bound (no polling).
package final class CountdownLatch: @unchecked Sendable {
    private var count: Int
    private var mutex = pthread_mutex_t()
    private var reachedZero = pthread_cond_t()

    package init(_ count: Int) {
        self.count = max(0, count)
        pthread_mutex_init(&mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(&reachedZero, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_mutex_destroy(&mutex)
        pthread_cond_destroy(&reachedZero)
    }

    package func countDown() {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        guard count > 0 else { return }
        count -= 1
        if count == 0 { pthread_cond_broadcast(&reachedZero) }
    }

    /// True when the count reached zero within `seconds`.
    package func wait(seconds: Double) -> Bool {
        var deadline = timespec()
        clock_gettime(CLOCK_MONOTONIC, &deadline)
        let whole = seconds.isFinite ? max(0, seconds) : 100 * 365 * 86400
        let nanos = Int(deadline.tv_nsec) + Int((whole - whole.rounded(.down)) * 1e9)
        deadline.tv_sec += Int(whole.rounded(.down)) + nanos / 1_000_000_000
        deadline.tv_nsec = nanos % 1_000_000_000
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        while count > 0 {
            if pthread_cond_timedwait(&reachedZero, &mutex, &deadline) == ETIMEDOUT { return count == 0 }
        }
        return true
    }
}
