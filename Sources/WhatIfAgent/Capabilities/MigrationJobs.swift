import Logging
import WhatIfAWS
import WhatIfBackup
import WhatIfCore
import WhatIfMigration
import WhatIfPostgres
import WhatIfProtocol

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The migration capability's jobs: `tables.setup`, `migrate.scenarios`, `migrate.verify`.
enum MigrationJobs {
    static func kinds(_ core: AgentCore) -> [JobKind] { [tables(core), scenarios(core), verify(core), postgres(core)] }

    // MARK: migrate.postgres

    static func postgresSettings(_ config: AgentConfig) throws -> (PostgresSettings, PostgresSettings) {
        guard let source = config.postgres else {
            throw APIError(
                .notConfigured, "PostgreSQL is not configured", hint: "configure postgres: in \(config.path)")
        }
        guard let target = config.postgresTarget else {
            throw APIError(
                .notConfigured, "there is no migration target",
                hint:
                    "add migration.postgres_target (host, database, user, password_file, sslrootcert: the RDS CA bundle) to \(config.path)"
            )
        }
        return (source, target)
    }

    static func postgres(_ core: AgentCore) -> JobKind {
        JobKind(
            JobSpecs.MigratePostgres.self,
            resources: { req, config in
                if let e = req.to, !environments.contains(e) {
                    throw APIError(
                        .unprocessable, "unknown environment '\(e)'", hint: "use development, test or production")
                }
                let (s, t) = try postgresSettings(config)
                return [.postgres(database: s.connection.database), .postgresTarget(t.connection.endpoint)]
            },
            run: { ctx, req in
                let (s, t) = try postgresSettings(ctx.config)
                let env = core.environment
                return try await Threads.run { () throws -> PostgresMigrationReport in
                    let tools = try PostgresTools.find(
                        binDirectory: ctx.config.backups.postgres.binDirectory, environment: env)
                    return try PostgresMigrator(
                        source: s.connection, target: t.connection, tools: tools,
                        // The backups' scratch folder: what a killed run leaves there (a partial dump, password
                        // files) is removed at the next start.
                        workDirectory: ctx.config.stateDirectory + "/tmp", environment: env, reporter: ctx,
                        timeout: ctx.config.backups.postgres.timeout
                    ).runJob(dryRun: req.dryRun, verifyOnly: req.verifyOnly)
                }
            })
    }

    static let environments = ["development", "test", "production"]

    /// The table for an environment: the configured one for the agent's own environment, else the
    /// guide's name.
    static func table(_ env: String?, _ config: AgentConfig) throws -> (name: String, environment: String) {
        let e = env ?? config.environment.rawValue
        guard environments.contains(e) else {
            throw APIError(.unprocessable, "unknown environment '\(e)'", hint: "use development, test or production")
        }
        guard config.dynamodb != nil else {
            throw APIError(.notConfigured, "DynamoDB is not configured", hint: "configure dynamodb: in \(config.path)")
        }
        if e == config.environment.rawValue, let t = config.dynamodb?.table { return (t, e) }
        return (ScenarioTable.tableName(environment: e), e)
    }

    static func sourcePath(_ p: String) throws -> String {
        guard p.hasPrefix("/") else {
            throw APIError(
                .unprocessable, "the source path '\(p)' is not absolute",
                hint: "whatifd reads the file itself: pass an absolute path (whatifctl does this for you)")
        }
        return p
    }

    /// A backup of the configured table, which is the only one the backup capability takes.
    static func backupTable(_ core: AgentCore, _ table: String, purpose: String, _ ctx: JobContext) throws -> String {
        guard ctx.config.dynamodb?.table == table else {
            throw Failure(
                "\(table) is not the configured table (\(ctx.config.dynamodb?.table ?? "none")), so the agent cannot back it up",
                hint: "set dynamodb.table: \(table) in \(ctx.config.path), or run without the backup")
        }
        return try core.backups().safetyBackup(.dynamodb, of: table, before: purpose, reporter: ctx)
    }

    // MARK: tables.setup

    static func tables(_ core: AgentCore) -> JobKind {
        JobKind(
            JobSpecs.TablesSetup.self,
            resource: { req, config in .dynamodb(table: try table(req.environment, config).name) },
            run: { ctx, req in
                let (name, _) = try table(req.environment, ctx.config)
                let clients = core.clients
                let report = try await Threads.run { () throws -> TablesReport in
                    let ddb = clients.dynamodb(region: req.region)
                    return try ScenarioTable.setUp(
                        name, ddb: ddb, region: req.region ?? ctx.config.region, req: req, reporter: ctx,
                        backup: { try backupTable(core, name, purpose: "recreating it", ctx) })
                }
                if report.outcome == "differs" {
                    throw JobFailed(
                        "table \(name) differs from the expected schema: \(report.differences.joined(separator: "; "))",
                        hint: report.differences.allSatisfy { $0.hasSuffix("is missing") && $0.hasPrefix("index ") }
                            ? "add the missing indexes, keeping the table and its items: whatifctl tables setup \(req.environment ?? ctx.config.environment.rawValue) --add-missing"
                            : "migrate it by hand, or recreate it with --force --yes (the agent backs it up first; recreating loses items written since)",
                        result: report)
                }
                return report
            })
    }

    // MARK: migrate.scenarios

    static func scenarios(_ core: AgentCore) -> JobKind {
        JobKind(
            JobSpecs.MigrateScenarios.self,
            resource: { req, config in
                _ = try sourcePath(req.from)
                if let b = req.batchSize, !(1...10_000).contains(b) {
                    throw APIError(
                        .unprocessable, "batch size \(b) is out of range", hint: "use 1 to 10000 (100 is the guide's)")
                }
                if let w = req.workers, !(1...64).contains(w) {
                    throw APIError(.unprocessable, "\(w) workers is out of range", hint: "use 1 to 64")
                }
                return .dynamodb(table: try table(req.environment, config).name)
            },
            run: { ctx, req in
                let (name, _) = try table(req.environment, ctx.config)
                let job = ScenarioMigrationJob(
                    request: req, path: try sourcePath(req.from), table: name, client: core.clients.dynamodb,
                    reporter: ctx, rejectDirectory: ctx.config.stateDirectory + "/migrations", runName: ctx.id,
                    saved: req.restart ? nil : ctx.loadCheckpoint(), saveCheckpoint: { try ctx.saveCheckpoint($0) },
                    backUp: { try backupTable(core, name, purpose: "migrating into it", ctx) })
                let report = try await Threads.run { try job.run() }
                if !req.dryRun { ctx.clearCheckpoint() }
                if report.rejected > 0 {
                    ctx.log(
                        .warning,
                        "\(report.rejected) documents were rejected; they are in \(report.rejectFile ?? "the reject file") with their reasons"
                    )
                }
                return report
            })
    }

    // MARK: migrate.verify

    static func verify(_ core: AgentCore) -> JobKind {
        JobKind(
            JobSpecs.MigrateVerify.self,
            resource: { req, config in
                _ = try sourcePath(req.from)
                return .dynamodb(table: try table(req.environment, config).name)
            },
            run: { ctx, req in
                let (name, _) = try table(req.environment, ctx.config)
                let clients = core.clients
                let report = try await Threads.run { () throws -> VerifyReport in
                    let source = try MigrationSource(path: try sourcePath(req.from), jsonArray: req.jsonArray)
                    return try ScenarioVerifier(
                        source: source, table: name, client: clients.dynamodb, skipBad: req.skipBad, reporter: ctx
                    ).run()
                }
                guard report.ok else {
                    throw JobFailed(
                        "\(name) differs from the source: \(report.missing) missing, \(report.extra) extra, \(report.differing) differing",
                        hint: "run the migration again (it writes the same keys), then verify again", result: report)
                }
                return report
            })
    }
}
