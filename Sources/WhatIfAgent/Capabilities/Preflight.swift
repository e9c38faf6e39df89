import WhatIfBackup
import WhatIfCore
import WhatIfMigration
import WhatIfProtocol

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// `whatifctl preflight ENV` as a job: the checklist itself is WhatIfMigration.Preflight.
enum PreflightJobs {
    static func job(_ core: AgentCore) -> JobKind {
        JobKind(
            JobSpecs.Preflight.self,
            resource: { req, config in
                _ = try MigrationRequests.table(req.environment, MigrationJobs.setting(config))
                return .preflight
            },
            run: { ctx, req in
                try WhatIfMigration.Preflight.outcome(try await Threads.run { try run(core, req, ctx) }, reporter: ctx)
            })
    }

    /// What the agent knows, for the checklist in WhatIfMigration.
    static func run(_ core: AgentCore, _ req: PreflightRequest, _ ctx: JobContext) throws -> PreflightReport {
        let config = ctx.config
        let clients = core.clients
        let table = try MigrationRequests.table(req.environment, MigrationJobs.setting(config))
        return WhatIfMigration.Preflight.run(
            .init(
                environment: req.environment ?? config.environment.rawValue, table: table, configPath: config.path,
                maxBackupAge: req.maxBackupAge ?? 26 * 3600,
                backupKinds: config.backupTargets.configuredKinds, backups: core.backups().list().backups,
                backupLocation: config.backups.location, dynamodb: config.dynamodb == nil ? nil : clients.dynamodb,
                credentials: { try clients.credentials.credentials() },
                postgres: config.postgres?.connection, postgresTarget: config.postgresTarget?.connection,
                redis: config.redis.map { r in (connect: { try clients.redis(timeout: 5) }, url: r.url) },
                elasticache: config.elasticache.map {
                    (client: clients.elasticache, replicationGroupId: $0.replicationGroupId)
                }, rds: config.rds.map { (client: clients.rds, instanceId: $0.instanceId) }))
    }
}
