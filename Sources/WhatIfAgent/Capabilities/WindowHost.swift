import WhatIfCore
import WhatIfMaintenance
import WhatIfMonitoring
import WhatIfProtocol

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The agent as the host of window runs and the window scheduler (WhatIfMaintenance).
struct AgentWindowHost: WindowHost {
    let core: AgentCore

    var clock: any MaintenanceClock { core.maintenance.clock }
    var states: WindowStates { core.maintenance.windows }
    func lease(_ fleet: MaintenanceConfig.Fleet) -> FleetLease { FleetLease(fleet, client: core.clients.dynamodb) }
    func durations(kind: String, params: JSONValue?) async -> [Double] {
        await core.jobs.durations(kind: kind, params: params)
    }
    func start<S: JobSpec>(_ spec: S.Type, _ params: S.Params, requestedBy: String) async throws(APIError)
        -> JobInfo
    {
        try await core.jobs.start(S.self, params, requestedBy: requestedBy)
    }
    func start(kind: String, requestedBy: String) async throws(APIError) -> JobInfo {
        try await core.jobs.start(kind: kind, params: nil, requestedBy: requestedBy)
    }
    func job(_ id: String) async -> JobInfo? { await core.jobs.get(id) }
    func ended(_ id: String) async -> JobInfo? { await core.jobs.ended(id) }
    func cancelJob(_ id: String) async { _ = try? await core.jobs.cancel(id, by: "maintenance window") }
    func beginMaintenance(window: String, silence: [String]) {
        core.monitoring?.beginMaintenance(window: window, silence: silence)
    }
    func endMaintenance(window: String, now: Double) { core.monitoring?.endMaintenance(window: window, now: now) }
    func sendWindowHook(
        _ window: String, occurrence: Double, outcome: String, trigger: String, steps: [String], jobId: String?
    ) {
        core.sendWindowHook(
            HookEvent.Window(
                name: window, outcome: outcome, trigger: trigger, occurrence: Date(timeIntervalSince1970: occurrence),
                steps: steps, jobId: jobId))
    }
}
