import NIOPosix
import WhatIfCore

/// Threads for blocking work (libpq, our Redis transport, libcurl): never the event loop, never the
/// cooperative pool.
package final class BlockingPool: Sendable {
    package enum Outcome<T: Sendable>: Sendable {
        case value(T)
        case failure(any Error)
        case timedOut
    }

    private let pool: NIOThreadPool

    package init(threads: Int) {
        pool = NIOThreadPool(numberOfThreads: threads)
        pool.start()
    }

    package func shutdown() async {
        try? await pool.shutdownGracefully()
    }

    /// Runs `body` on a pool thread and returns at once (on the caller's thread once the pool has
    /// stopped, so nothing handed over is lost at shutdown).
    package func execute(_ body: @escaping @Sendable () -> Void) {
        pool.submit { _ in body() }
    }

    /// Runs `body` on a pool thread.
    package func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await pool.runIfActive(body)
    }

    /// Runs `body` on a pool thread, but answers after `timeout` seconds whatever it does; the body then
    /// finishes on its own (every blocking client call carries its own deadline too).
    package func run<T: Sendable>(timeout: Double, _ body: @escaping @Sendable () throws -> T) async -> Outcome<T> {
        await withCheckedContinuation { (continuation: CheckedContinuation<Outcome<T>, Never>) in
            let done = Locked(false)
            let timer = Locked<Task<Void, Never>?>(nil)
            @Sendable func finish(_ outcome: Outcome<T>) {
                let first = done.withLock { d in
                    defer { d = true }
                    return !d
                }
                if first {
                    timer.withLock { $0?.cancel() }
                    continuation.resume(returning: outcome)
                }
            }
            timer.set(
                Task {
                    try? await Task.sleep(for: .milliseconds(Int(timeout * 1000)))
                    if !Task.isCancelled { finish(.timedOut) }
                })
            pool.submit { state in
                guard case .active = state else {
                    finish(.failure(CancellationError()))
                    return
                }
                do { finish(.value(try body())) } catch { finish(.failure(error)) }
            }
        }
    }
}
