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
                _ = try MigrationJobs.table(req.environment, config)
                return .preflight
            },
            run: { ctx, req in
                let report = try await Threads.run { () throws -> PreflightReport in
                    try run(core, req, ctx)
                }
                for i in report.items where i.result == "FAIL" { ctx.log(.warning, "\(i.check): \(i.detail)") }
                guard report.ok else {
                    let failed = report.items.filter { $0.result == "FAIL" }.map(\.check)
                    throw JobFailed("preflight failed: \(failed.joined(separator: ", "))", result: report)
                }
                return report
            })
    }

    /// What the agent knows, for the checklist in WhatIfMigration.
    static func run(_ core: AgentCore, _ req: PreflightRequest, _ ctx: JobContext) throws -> PreflightReport {
        let config = ctx.config
        let clients = core.clients
        let (table, env) = try MigrationJobs.table(req.environment, config)
        return WhatIfMigration.Preflight.run(
            .init(
                environment: env, table: table, configPath: config.path, maxBackupAge: req.maxBackupAge ?? 26 * 3600,
                backupKinds: BackupJobs.configuredKinds(config), backups: core.backups().list().backups,
                backupLocation: config.backups.location, dynamodb: config.dynamodb == nil ? nil : clients.dynamodb,
                credentials: { try clients.credentials.credentials() },
                postgres: config.postgres?.connection, postgresTarget: config.postgresTarget?.connection,
                redis: config.redis.map { r in (connect: { try clients.redis(timeout: 5) }, url: r.url) },
                elasticache: config.elasticache.map {
                    (client: clients.elasticache, replicationGroupId: $0.replicationGroupId)
                }))
    }
}
