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

/// The maintenance capability's jobs (WhatIfMaintenance): `maintenance.window` (each step its own agent
/// job, so locks, history and hooks are the usual ones), and the kinds only windows needed so far: the
/// restore drill, VACUUM (ANALYZE) and a prune on its own.
enum MaintenanceJobs {
    static func kinds(_ core: AgentCore) -> [JobKind] { [window(core), drill(core), vacuum(core), prune(core)] }

    static func window(_ core: AgentCore) -> JobKind {
        JobKind(
            JobSpecs.MaintenanceWindow.self,
            resource: { p, c in
                _ = try MaintenanceConfig.window(p.window, in: c.maintenance, configPath: c.path)
                return .window(p.window)
            },
            run: { ctx, p in
                let c = ctx.config
                let w = try MaintenanceConfig.window(p.window, in: c.maintenance, configPath: c.path)
                return try await WindowRun(
                    host: AgentWindowHost(core: core), ctx: ctx, window: w, fleet: c.maintenance?.fleet, params: p
                ).runJob()
            })
    }

    static func drill(_ core: AgentCore) -> JobKind {
        JobKind(
            JobSpecs.RestoreDrill.self,
            resource: { _, c in
                _ = try c.backupTargets.drillKinds()
                return .restoreDrill
            },
            run: { ctx, _ in
                let kinds = try ctx.config.backupTargets.drillKinds()
                let service = core.backups()
                return try await Threads.run {
                    try service.drillJob(
                        kinds: kinds, reporter: ctx,
                        record: { core.monitoring?.record($0, now: core.maintenance.clock.now) })
                }
            })
    }

    static func vacuum(_ core: AgentCore) -> JobKind {
        JobKind(
            JobSpecs.Vacuum.self,
            resource: { _, c in .vacuum(database: try c.postgresSettings().connection.database) },
            run: { ctx, _ in
                let database = try ctx.config.postgresSettings().connection.database
                let clients = core.clients
                return try await Threads.run {
                    try Vacuum.run(
                        database: database, connect: { try clients.postgres(deadline: .after(seconds: 30)) },
                        reporter: ctx)
                }
            })
    }

    static func prune(_ core: AgentCore) -> JobKind {
        JobKind(
            JobSpecs.BackupPrune.self, resource: { _, _ in .backupPrune },
            run: { ctx, _ in
                let service = core.backups()
                return try await Threads.run { try service.pruneJob(reporter: ctx) }
            })
    }
}

extension JobContext: WindowJobContext {}

extension AgentCore {
    /// The window scheduler, when windows are configured, as a background service.
    func startMaintenanceSchedule() {
        guard config.maintenance != nil else { return }
        let core = self
        services.add(
            WindowScheduler(host: AgentWindowHost(core: core), logger: logger, config: { core.config.maintenance }))
    }
}
