import Logging
import WhatIfAWS
import WhatIfBackup
import WhatIfCore
import WhatIfProtocol

extension ServiceClients {
    /// What the backup capability needs, from this config's clients.
    func backupContext(environment: [String: String], logger: Logger) -> BackupContext {
        BackupContext(
            settings: config.backups, environmentName: config.environment.rawValue,
            postgres: config.postgres.map { PostgresSource(config: $0.connection, connectTimeout: $0.connectTimeout) },
            dynamo: config.dynamodb.map {
                DynamoSource(
                    client: dynamodb, table: $0.table, endpoint: $0.endpoint ?? config.aws.endpoint,
                    region: config.region)
            },
            s3: config.backups.s3 == nil ? nil : s3, kms: KMS(client: aws), stateDirectory: config.stateDirectory,
            processEnvironment: environment, logger: logger)
    }
}

extension AgentConfig {
    /// What the backup capability may back up, lock and restore.
    var backupTargets: BackupTargets {
        BackupTargets(postgresDatabase: postgres?.connection.database, dynamoTable: dynamodb?.table, configPath: path)
    }
}

extension AgentCore {
    /// The backup capability over the current config.
    package func backups() -> BackupService {
        BackupService(
            context: clients.backupContext(environment: environment, logger: logger), leases: backupLeases)
    }
}

/// The backup capability's jobs (WhatIfBackup): backup, backup.verify, restore.
enum BackupJobs {
    static func kinds(_ core: AgentCore) -> [JobKind] { [backup(core), verify(core), restore(core)] }

    static func backup(_ core: AgentCore) -> JobKind {
        JobKind(
            JobSpecs.Backup.self,
            resources: { req, c in try c.backupTargets.kinds(req.kinds).map { c.backupTargets.resource($0) } },
            run: { ctx, req in
                let kinds = try ctx.config.backupTargets.kinds(req.kinds)
                let service = core.backups()
                return try await Threads.run { try service.backupJob(kinds: kinds, reporter: ctx) }
            })
    }

    static func verify(_ core: AgentCore) -> JobKind {
        JobKind(
            JobSpecs.BackupVerify.self,
            resource: { req, _ in
                try BackupTargets.checkIDs(req.ids)
                return .backupVerify
            },
            run: { ctx, req in
                let service = core.backups()
                return try await Threads.run {
                    try service.verifyJob(ids: req.ids.isEmpty ? nil : req.ids, reporter: ctx)
                }
            })
    }

    static func restore(_ core: AgentCore) -> JobKind {
        JobKind(
            JobSpecs.Restore.self,
            resources: { req, _ in try BackupTargets.resources(of: req) },
            run: { ctx, req in
                let service = core.backups()
                return try await Threads.run { try service.restoreJob(req, reporter: ctx) }
            })
    }
}
