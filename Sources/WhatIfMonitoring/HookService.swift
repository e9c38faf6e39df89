import Logging
import WhatIfCore
import WhatIfHTTP

/// The alert hooks as a background service: one dispatcher at a time, rebuilt when the hook settings
/// change (the one replaced delivers what it has queued, in the background); stopping delivers what is
/// queued within `grace` seconds. Job, window and drill outcomes reach it whatever `metrics.enabled`
/// says; monitoring's alarms are handed the same dispatcher.
package final class HookService: BackgroundService {
    package let name = "hooks"
    private let box = Locked<HookDispatcher?>(nil)
    private let grace: Double

    package init(grace: Double = 5) { self.grace = grace }

    /// The dispatcher now in use.
    package var dispatcher: HookDispatcher? { box.value }

    /// Uses `settings` from now on; an unchanged dispatcher is kept.
    package func configure(
        settings: HookSettings, http: HTTPClient, logger: Logger, baseEnvironment: [String: String],
        stateDirectory: String
    ) {
        let old = box.withLock { current -> HookDispatcher? in
            if let d = current, d.settings == settings { return nil }
            let previous = current
            current = HookDispatcher(
                settings: settings, http: http, logger: logger, baseEnvironment: baseEnvironment,
                stateDirectory: stateDirectory)
            return previous
        }
        if let old { Threads.start { old.shutdown() }.detach() }
    }

    /// Queues an event for every hook; returns at once.
    package func send(_ event: HookEvent) { box.value?.send(event) }

    /// Waits until stopped, then delivers what is queued within `grace` seconds.
    package func run() async {
        await waitUntilCancelled()
        guard
            let d = box.withLock({ current -> HookDispatcher? in
                defer { current = nil }
                return current
            })
        else { return }
        let grace = self.grace
        try? await Threads.run { d.shutdown(grace: grace) }
    }
}

extension MonitoringService: BackgroundService {
    package var name: String { "monitoring" }

    /// Collects until stopped, then finishes the cycle in progress and closes the history.
    package func run() async {
        start()
        await waitUntilCancelled()
        // systemd's stop timeout is longer than the jobs' grace plus this.
        try? await Threads.run { self.stop(hookGrace: 5) }
    }
}
