import Logging
import WhatIfCore
import WhatIfMonitoring
import WhatIfProtocol

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The alert hooks as a service of their own: job outcomes, window outcomes and failed restore drills
/// reach them whatever `metrics.enabled` says; alarms reach them through monitoring, which is handed the
/// same dispatcher.
extension AgentCore {
    package var hooks: HookDispatcher? { hooksBox.value }

    /// Builds the dispatcher and tells it about every job's outcome (a window's own outcome goes as a
    /// maintenance event, its jobs' as jobs).
    func startHooks() async {
        configureHooks()
        let core = self
        await jobs.setOnFinish { info in
            guard info.kind != JobSpecs.MaintenanceWindow.name else { return }
            core.sendHook(
                HookEvent(
                    type: "job", time: Date(), host: Self.hostName, environment: core.config.environment.rawValue,
                    job: HookEvent.Job(
                        id: info.id, kind: info.kind, state: info.state.rawValue, error: info.error?.message,
                        hint: info.error?.hint, startedAt: info.startedAt, endedAt: info.endedAt)))
        }
    }

    /// (Re)builds the dispatcher from the current config; an unchanged one is kept, a replaced one
    /// delivers what it has queued in the background.
    func configureHooks() {
        let c = config
        let settings = c.monitoring.hooks
        let old = hooksBox.withLock { box -> HookDispatcher? in
            if let d = box, d.settings == settings { return nil }
            let previous = box
            box = HookDispatcher(
                settings: settings, http: clients.http, logger: logger, baseEnvironment: environment,
                stateDirectory: c.stateDirectory)
            return previous
        }
        if let old { Threads.start { old.shutdown() }.detach() }
    }

    /// Queues an event for every hook; returns at once.
    func sendHook(_ event: HookEvent) { hooksBox.value?.send(event) }

    /// A maintenance window's outcome, to the hooks.
    func sendWindowHook(_ window: HookEvent.Window) {
        sendHook(
            HookEvent(
                type: "maintenance", time: Date(), host: Self.hostName, environment: config.environment.rawValue,
                window: window))
    }

    /// Delivers what is queued within `grace` seconds, then stops.
    func stopHooks(grace: Double) async {
        guard
            let d = hooksBox.withLock({ box -> HookDispatcher? in
                defer { box = nil }
                return box
            })
        else { return }
        try? await Threads.run { d.shutdown(grace: grace) }
    }
}
