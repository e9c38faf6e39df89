#if canImport(Glibc)
    import Glibc
#endif

/// Dedicated threads for long blocking work (a backup, a restore): never Swift's cooperative pool,
/// and not the shared blocking pool, whose few threads the status probes need.
package enum Threads {
    package final class Handle: @unchecked Sendable {
        fileprivate var thread: pthread_t
        fileprivate init(_ t: pthread_t) { thread = t }

        /// Waits for the thread to end.
        package func join() {
            pthread_join(thread, nil)
        }

        /// Lets the thread end on its own (no join).
        package func detach() {
            pthread_detach(thread)
        }
    }

    private final class Box: @unchecked Sendable {
        let body: () -> Void
        init(_ body: @escaping () -> Void) { self.body = body }
    }

    /// The cores online (at least 1).
    package static var cores: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }

    /// Starts `body` on a new thread; `join()` the handle.
    package static func start(_ body: @escaping () -> Void) -> Handle {
        let box = Unmanaged.passRetained(Box(body)).toOpaque()
        var attr = pthread_attr_t()
        pthread_attr_init(&attr)
        defer { pthread_attr_destroy(&attr) }
        pthread_attr_setstacksize(&attr, 4 << 20)
        var t = pthread_t()
        let rc = pthread_create(
            &t, &attr,
            { raw in
                let b = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
                b.body()
                return nil
            }, box)
        precondition(rc == 0, "pthread_create failed: \(rc)")
        return Handle(t)
    }

    /// Runs `body` on a new thread and awaits its result without holding a cooperative thread.
    package static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<T, any Error>) in
            let h = start {
                do { c.resume(returning: try body()) } catch { c.resume(throwing: error) }
            }
            pthread_detach(h.thread)
        }
    }

    /// Runs `body(0..<count)` on `count` threads (the caller's among them) and waits for all.
    /// The first error thrown is rethrown once every thread has ended.
    package static func parallel(_ count: Int, _ body: @escaping @Sendable (Int) throws -> Void) throws {
        let firstError = Locked<(any Error)?>(nil)
        let handles = (1..<max(count, 1)).map { i in
            start {
                do { try body(i) } catch { firstError.withLock { if $0 == nil { $0 = error } } }
            }
        }
        do { try body(0) } catch { firstError.withLock { if $0 == nil { $0 = error } } }
        for h in handles { h.join() }
        if let e = firstError.value { throw e }
    }
}
