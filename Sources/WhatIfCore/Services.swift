/// A part of the agent that runs on its own until it is stopped: a scheduler, a loop. `run` returns
/// soon after its task is cancelled, having left nothing half done. The agent runs each as a member
/// of whatifd's ServiceGroup (WhatIfAgent's BackgroundPart), so the capability modules need not
/// depend on swift-service-lifecycle.
package protocol BackgroundService: Sendable {
    /// For the log: `expiry schedule`, `maintenance scheduler`.
    var name: String { get }
    /// Runs until cancelled.
    func run() async
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
