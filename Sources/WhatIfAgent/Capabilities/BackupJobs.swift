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
            postgresReplicas: config.postgres.map { p in
                p.replicas.map { ($0.name, PostgresSource(config: $0.connection, connectTimeout: p.connectTimeout)) }
            } ?? [],
            dynamo: config.dynamodb.map {
                DynamoSource(
                    client: dynamodb, table: $0.table, endpoint: $0.endpoint ?? config.aws.endpoint,
                    region: config.region)
            },
            s3: config.backups.s3 == nil ? nil : s3, kms: KMS(client: aws), redis: redisSource,
            rds: config.usesAWS ? rds : nil, rdsInstance: config.rds?.instanceId,
            elasticache: config.usesAWS ? elasticache : nil,
            replicationGroup: config.elasticache?.replicationGroupId, region: config.region,
            stateDirectory: config.stateDirectory, processEnvironment: environment, logger: logger)
    }
}

extension ServiceClients {
    /// The configured Redis, for its backups (nil unless `backups.redis` is set).
    var redisSource: RedisSource? {
        guard let r = config.redis, config.backups.redis != nil else { return nil }
        let (host, port): (String?, Int?) =
            switch r.config.endpoint.transport {
            case .tcp(let h, let p), .tls(let h, let p): (h, p)
            case .unix(let path): (path, nil)
            }
        return RedisSource(connect: { [self] in try self.redis(timeout: 30) }, host: host, port: port)
    }
}

extension AgentConfig {
    /// What the backup capability may back up, lock and restore.
    var backupTargets: BackupTargets {
        let s = backups.snapshots
        return BackupTargets(
            postgresDatabase: postgres?.connection.database, dynamoTable: dynamodb?.table, configPath: path,
            redis: redis != nil && backups.redis != nil,
            snapshots: (s.rds && rds != nil ? [.rdsSnapshot] : [])
                + (s.dynamodb && dynamodb != nil ? [.dynamodbBackup] : [])
                + (s.elasticache && elasticache != nil ? [.elasticacheSnapshot] : []))
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
    static func kinds(_ core: AgentCore) -> [JobKind] {
        [backup(core), verify(core), restore(core), pointInTime(core)]
    }

    static func backup(_ core: AgentCore) -> JobKind {
        JobKind(
            JobSpecs.Backup.self,
            resources: { req, c in
                let kinds = try c.backupTargets.kinds(req.kinds)
                try BackupTargets.checkExportOptions(req, kinds: kinds)
                return kinds.map { c.backupTargets.resource($0) }
            },
            run: { ctx, req in
                let kinds = try ctx.config.backupTargets.kinds(req.kinds)
                let service = core.backups()
                let options = ExportOptions(incremental: req.incremental, exportTime: req.exportTime)
                return try await Threads.run { try service.backupJob(kinds: kinds, options: options, reporter: ctx) }
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

    static func pointInTime(_ core: AgentCore) -> JobKind {
        JobKind(
            JobSpecs.RestorePointInTime.self,
            resource: { req, c in
                switch req.service {
                case .dynamodb:
                    guard c.dynamodb != nil else {
                        throw APIError(
                            .notConfigured, "DynamoDB is not configured", hint: "configure dynamodb: in \(c.path)")
                    }
                    return .dynamodb(table: req.target)
                case .rds:
                    guard c.rds != nil else {
                        throw APIError(
                            .notConfigured, "RDS is not configured", hint: "set rds.instance_id in \(c.path)")
                    }
                    return .other("rds:\(req.target)")
                }
            },
            run: { ctx, req in
                let c = ctx.config
                let clients = core.clients
                let pitr = PointInTimeRestore(
                    dynamodb: clients.dynamodb, table: c.dynamodb?.table, rds: clients.rds, instance: c.rds?.instanceId,
                    timeout: c.backups.dynamodb.timeout)
                return try await Threads.run { try pitr.run(req, reporter: ctx) }
            })
    }
}
