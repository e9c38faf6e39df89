import WhatIfBackup
import WhatIfCore
import WhatIfMigration
import WhatIfPostgres
import WhatIfProtocol

/// The migration capability's jobs (WhatIfMigration) on the agent's config and clients.
enum MigrationJobs {
    static func kinds(_ core: AgentCore) -> [JobKind] { [tables(core), scenarios(core), verify(core), postgres(core)] }

    static func setting(_ c: AgentConfig) -> MigrationRequests.Setting {
        .init(configPath: c.path, environment: c.environment.rawValue, table: c.dynamodb?.table)
    }

    /// Backs up the configured table before a migration or a recreation; answers the backup's id.
    static func backUp(_ core: AgentCore, _ table: String, before purpose: String, _ ctx: JobContext) throws -> String {
        try MigrationRequests.checkBackup(of: table, setting(ctx.config))
        return try core.backups().safetyBackup(.dynamodb, of: table, before: purpose, reporter: ctx)
    }

    /// Where the migrations keep reject files and the records `--sync` compares with.
    static func directory(_ c: AgentConfig) -> String { c.stateDirectory + "/migrations" }

    /// What a killed migration left half-written (a sync record holding the table's keys).
    static func removeLeftovers(_ core: AgentCore) {
        for path in SyncRecord.removePartials(in: directory(core.config)) {
            core.logger.notice("removed a half-written sync record left by a crash", metadata: ["path": "\(path)"])
        }
    }

    static func tables(_ core: AgentCore) -> JobKind {
        JobKind(
            JobSpecs.TablesSetup.self,
            resource: { req, c in .dynamodb(table: try MigrationRequests.table(req.environment, setting(c))) },
            run: { ctx, req in
                let s = setting(ctx.config)
                let name = try MigrationRequests.table(req.environment, s)
                let ddb = core.clients.dynamodb(region: req.region)
                let region = req.region ?? ctx.config.region
                let report = try await Threads.run {
                    try ScenarioTable.setUp(
                        name, ddb: ddb, region: region, req: req, reporter: ctx,
                        backup: { try backUp(core, name, before: "recreating it", ctx) })
                }
                return try MigrationRequests.outcome(report, table: name, req, s)
            })
    }

    static func scenarios(_ core: AgentCore) -> JobKind {
        JobKind(
            JobSpecs.MigrateScenarios.self,
            resource: { req, c in .dynamodb(table: try MigrationRequests.check(req, setting(c))) },
            run: { ctx, req in
                let name = try MigrationRequests.check(req, setting(ctx.config))
                let job = ScenarioMigrationJob(
                    request: req, path: req.from, table: name, client: core.clients.dynamodb, reporter: ctx,
                    rejectDirectory: directory(ctx.config), runName: ctx.id,
                    saved: req.restart ? nil : ctx.loadCheckpoint(), saveCheckpoint: { try ctx.saveCheckpoint($0) },
                    backUp: { try backUp(core, name, before: "migrating into it", ctx) })
                let report = try await Threads.run { try job.run() }
                if !req.dryRun { ctx.clearCheckpoint() }
                return report
            })
    }

    static func verify(_ core: AgentCore) -> JobKind {
        JobKind(
            JobSpecs.MigrateVerify.self,
            resource: { req, c in
                _ = try MigrationRequests.sourcePath(req.from)
                return .dynamodb(table: try MigrationRequests.table(req.environment, setting(c)))
            },
            run: { ctx, req in
                let name = try MigrationRequests.table(req.environment, setting(ctx.config))
                let path = try MigrationRequests.sourcePath(req.from)
                let client = core.clients.dynamodb
                let report = try await Threads.run {
                    try ScenarioVerifier(
                        source: try MigrationSource(path: path, jsonArray: req.jsonArray), table: name, client: client,
                        skipBad: req.skipBad, reporter: ctx
                    ).run()
                }
                return try MigrationRequests.outcome(report, table: name)
            })
    }

    static func postgres(_ core: AgentCore) -> JobKind {
        JobKind(
            JobSpecs.MigratePostgres.self,
            resources: { req, config in
                if let e = req.to { try MigrationRequests.checkEnvironment(e) }
                let (s, t) = try config.migrationServers()
                return [.postgres(database: s.connection.database), .postgresTarget(t.connection.endpoint)]
            },
            run: { ctx, req in
                let (s, t) = try ctx.config.migrationServers()
                let env = core.environment
                let c = ctx.config
                return try await Threads.run {
                    // The backups' scratch folder: what a killed run leaves there (a partial dump, password
                    // files) is removed at the next start.
                    try PostgresMigrator(
                        source: s.connection, target: t.connection,
                        tools: try PostgresTools.find(binDirectory: c.backups.postgres.binDirectory, environment: env),
                        workDirectory: c.stateDirectory + "/tmp", environment: env, reporter: ctx,
                        timeout: c.backups.postgres.timeout
                    ).runJob(dryRun: req.dryRun, verifyOnly: req.verifyOnly)
                }
            })
    }
}
