import Logging
import WhatIfCore
import WhatIfMonitoring
import WhatIfProtocol

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The alert hooks (WhatIfMonitoring.HookService) on the agent's config: job outcomes, window outcomes and
/// failed restore drills reach them whatever `metrics.enabled` says; alarms reach them through
/// monitoring, which is handed the same dispatcher.
extension AgentCore {
    package var hooks: HookDispatcher? { hookService.dispatcher }

    /// Builds the dispatcher, tells it about every job's outcome (a window's own outcome goes as a
    /// maintenance event, its jobs' as jobs) and starts the service.
    func startHooks() async {
        configureHooks()
        let core = self
        await jobs.setOnFinish { info in
            guard info.kind != JobSpecs.MaintenanceWindow.name else { return }
            core.sendHook(
                HookEvent(
                    type: "job", time: Date(), host: HostName.current, environment: core.config.environment.rawValue,
                    job: HookEvent.Job(
                        id: info.id, kind: info.kind, state: info.state.rawValue, error: info.error?.message,
                        hint: info.error?.hint, startedAt: info.startedAt, endedAt: info.endedAt)))
        }
        services.add(hookService)
    }

    /// (Re)builds the dispatcher from the current config (at start and after a reload).
    func configureHooks() {
        let c = config
        hookService.configure(
            settings: c.monitoring.hooks, http: clients.http, logger: logger, baseEnvironment: environment,
            stateDirectory: c.stateDirectory)
    }

    /// Queues an event for every hook; returns at once.
    func sendHook(_ event: HookEvent) { hookService.send(event) }

    /// A maintenance window's outcome, to the hooks.
    func sendWindowHook(_ window: HookEvent.Window) {
        sendHook(
            HookEvent(
                type: "maintenance", time: Date(), host: HostName.current, environment: config.environment.rawValue,
                window: window))
    }
}
