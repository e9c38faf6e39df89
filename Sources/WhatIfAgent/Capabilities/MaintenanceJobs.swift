import Logging
import WhatIfBackup
import WhatIfCore
import WhatIfMaintenance
import WhatIfMonitoring
import WhatIfProtocol

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
#if canImport(Glibc)
    import Glibc
#endif

/// Maintenance windows as jobs: `maintenance.window` runs a window's jobs in order (each as its own
/// agent job, so locks, history and hooks are the usual ones), plus the kinds only windows needed so
/// far: the restore drill, VACUUM (ANALYZE) and a prune on its own.
enum MaintenanceJobs {
    static func kinds(_ core: AgentCore) -> [JobKind] { [window(core), drill(core), vacuum(core), prune(core)] }

    static func find(_ name: String, _ config: AgentConfig) throws -> MaintenanceConfig.Window {
        guard let m = config.maintenance, let w = m.windows.first(where: { $0.name == name }) else {
            let known = config.maintenance?.windows.map(\.name) ?? []
            throw APIError(
                .notFound, "there is no maintenance window named '\(name)'",
                hint: known.isEmpty
                    ? "add maintenance.windows to \(config.path)" : "windows: \(known.joined(separator: ", "))")
        }
        return w
    }

    // MARK: maintenance.window

    static func window(_ core: AgentCore) -> JobKind {
        JobKind(
            JobSpecs.MaintenanceWindow.self,
            resource: { p, config in
                _ = try find(p.window, config)
                return .window(p.window)
            },
            run: { ctx, p in
                let w = try find(p.window, ctx.config)
                let run = WindowRun(
                    host: AgentWindowHost(core: core), ctx: ctx, window: w, fleet: ctx.config.maintenance?.fleet,
                    params: p)
                return try await run.runJob()
            })
    }

    // MARK: restore.drill

    static func drill(_ core: AgentCore) -> JobKind {
        JobKind(
            JobSpecs.RestoreDrill.self,
            resource: { _, config in
                guard !BackupJobs.configuredKinds(config).isEmpty else {
                    throw APIError(
                        .notConfigured, "nothing to drill: neither postgres nor dynamodb is configured",
                        hint: "configure postgres: or dynamodb: in \(config.path)")
                }
                return .restoreDrill
            },
            run: { ctx, _ in
                let kinds = BackupJobs.configuredKinds(ctx.config)
                let service = core.backups()
                return try await Threads.run {
                    try service.drillJob(
                        kinds: kinds, reporter: ctx,
                        record: { core.monitoring?.record($0, now: core.maintenanceClock.now) })
                }
            })
    }

    // MARK: postgres.vacuum

    static func vacuum(_ core: AgentCore) -> JobKind {
        JobKind(
            JobSpecs.Vacuum.self,
            resource: { _, config in
                guard let pg = config.postgres else {
                    throw APIError(
                        .notConfigured, "PostgreSQL is not configured", hint: "configure postgres: in \(config.path)")
                }
                return .vacuum(database: pg.connection.database)
            },
            run: { ctx, _ in
                let clients = core.clients
                let database = ctx.config.postgres?.connection.database ?? "?"
                return try await Threads.run {
                    try Vacuum.run(
                        database: database, connect: { try clients.postgres(deadline: .after(seconds: 30)) },
                        reporter: ctx)
                }
            })
    }

    // MARK: backup.prune

    static func prune(_ core: AgentCore) -> JobKind {
        JobKind(
            JobSpecs.BackupPrune.self,
            resource: { _, _ in .backupPrune },
            run: { ctx, _ in
                let service = core.backups()
                return try await Threads.run { try service.pruneJob(reporter: ctx) }
            })
    }
}

/// The agent as the host of a window run (WhatIfMaintenance.WindowRun).
struct AgentWindowHost: WindowHost {
    let core: AgentCore

    var clock: any MaintenanceClock { core.maintenanceClock }
    func lease(_ fleet: MaintenanceConfig.Fleet) -> FleetLease { core.fleetLease(fleet) }
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
    func cancelJob(_ id: String) async { _ = try? await core.jobs.cancel(id) }
    func beginMaintenance(window: String, silence: [String]) {
        core.monitoring?.beginMaintenance(window: window, silence: silence)
    }
    func endMaintenance(window: String, now: Double) { core.monitoring?.endMaintenance(window: window, now: now) }
    func windowEnded(
        _ window: String, occurrence: Double, outcome: String, trigger: String, steps: [String], jobId: String?
    ) {
        core.windowEnded(window, occurrence: occurrence, outcome: outcome, trigger: trigger, steps: steps, jobId: jobId)
    }
}

extension JobContext: WindowJobContext {}

extension AgentCore {
    /// A lease client for the fleet's table with this agent's owner name.
    func fleetLease(_ fleet: MaintenanceConfig.Fleet) -> FleetLease {
        FleetLease(
            client: clients.dynamodb, table: fleet.table, owner: fleet.owner ?? "\(Self.hostName):\(getpid())",
            leaseSeconds: fleet.leaseSeconds)
    }

    /// A window's outcome (run, failed to run, or missed): its last run recorded, the hooks told.
    func windowEnded(
        _ window: String, occurrence: Double, outcome: String, trigger: String, steps: [String], jobId: String?
    ) {
        let at = Date(timeIntervalSince1970: occurrence)
        windowStates.record(
            window, WindowLastRun(occurrence: at, outcome: outcome, trigger: trigger, jobId: jobId, at: Date()))
        sendWindowHook(
            HookEvent.Window(
                name: window, outcome: outcome, trigger: trigger, occurrence: at, steps: steps, jobId: jobId))
    }

    /// The scheduler (WhatIfMaintenance.WindowScheduler) on the agent's clock, config and window states.
    func startMaintenanceSchedule() {
        guard config.maintenance != nil else { return }
        let core = self
        let scheduler = WindowScheduler(
            host: AgentWindowHost(core: core), states: windowStates, logger: logger,
            config: { core.config.maintenance })
        services.add(scheduler)
    }
}
