/// A part of the agent that runs on its own until it is stopped: a scheduler, a loop. `run` returns
/// soon after its task is cancelled, having left nothing half done.
package protocol BackgroundService: Sendable {
    /// For the log: `expiry schedule`, `maintenance scheduler`.
    var name: String { get }
    /// Runs until cancelled.
    func run() async
}

/// The agent's background services, one lifecycle for all: started in order, stopped in reverse
/// order, each awaited (no service outlives `stopAll`).
package final class ServiceRunner: Sendable {
    private let running = Locked<[(name: String, task: Task<Void, Never>)]>([])

    package init() {}

    /// Starts `service` on a task of its own.
    package func start(_ service: some BackgroundService) {
        let task = Task.detached { await service.run() }
        running.withLock { $0.append((service.name, task)) }
    }

    /// Names of the services started and not stopped, in start order.
    package var names: [String] { running.value.map(\.name) }

    /// Cancels each service, the last started first, and waits until its `run` has returned.
    package func stopAll() async {
        let all = running.withLock { list in
            let l = list
            list = []
            return l
        }
        for s in all.reversed() {
            s.task.cancel()
            await s.task.value
        }
    }
}

/// Returns when the current task is cancelled (at once when it already is): what a service whose work
/// runs on threads of its own awaits before it stops them.
package func waitUntilCancelled() async {
    let (stream, continuation) = AsyncStream<Never>.makeStream()
    await withTaskCancellationHandler {
        for await _ in stream {}
    } onCancel: {
        continuation.finish()
    }
}
