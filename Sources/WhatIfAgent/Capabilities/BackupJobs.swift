import Logging
import WhatIfBackup
import WhatIfCore
import WhatIfProtocol

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

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
            s3: config.backups.s3 == nil ? nil : s3, stateDirectory: config.stateDirectory,
            processEnvironment: environment, logger: logger)
    }
}

extension AgentCore {
    /// The backup capability over the current config.
    package func backups() -> BackupService {
        BackupService(
            context: clients.backupContext(environment: environment, logger: logger), leases: backupLeases)
    }

    /// Removes what crashed backups left. Local leftovers go at once (before any job can start);
    /// unfinished S3 copies are removed in the background.
    func removeBackupLeftovers() async {
        let service = backups()
        let local = service.removeLocalLeftovers()
        for path in local {
            logger.notice("removed \(service.describeLeftover(path)) left by a crash", metadata: ["path": "\(path)"])
        }
        let logger = self.logger
        // Scratch databases of restores a crash interrupted go in the background (PostgreSQL may be slow to answer).
        Task.detached {
            let dropped = (try? await Threads.run { service.dropInterruptedRestores() }) ?? []
            for name in dropped {
                logger.notice(
                    "dropped the scratch database of a restore a crash interrupted", metadata: ["database": "\(name)"])
            }
        }
        let pending = service.pendingS3Leftovers()
        guard !pending.isEmpty else { return }
        Task.detached {
            let removed = (try? await Threads.run { service.removeS3Leftovers(pending) }) ?? []
            for p in removed {
                logger.notice("removed an incomplete S3 backup copy left by a crash", metadata: ["path": "\(p)"])
            }
        }
    }
}

/// The job kinds of the backup capability: backup, backup.verify, restore.
enum BackupJobs {
    static func kinds(_ core: AgentCore) -> [JobKind] { [backup(core), verify(core), restore(core)] }

    static func configuredKinds(_ config: AgentConfig) -> [BackupKind] {
        var k: [BackupKind] = []
        if config.postgres != nil { k.append(.postgres) }
        if config.dynamodb != nil { k.append(.dynamodb) }
        return k
    }

    static func kinds(of req: StartBackupRequest, _ config: AgentConfig) throws -> [BackupKind] {
        let kinds = req.kinds.isEmpty ? configuredKinds(config) : req.kinds
        guard !kinds.isEmpty else {
            throw APIError(
                .notConfigured, "nothing to back up: neither postgres nor dynamodb is configured",
                hint: "configure postgres: or dynamodb: in \(config.path)")
        }
        for k in kinds where !configuredKinds(config).contains(k) {
            throw APIError(
                .notConfigured, "\(k.rawValue) is not configured, so it cannot be backed up",
                hint: "configure \(k.rawValue): in \(config.path)")
        }
        var seen: [BackupKind] = []
        for k in kinds where !seen.contains(k) { seen.append(k) }
        return seen
    }

    static func resource(_ kind: BackupKind, _ config: AgentConfig) -> JobResource {
        switch kind {
        case .postgres: .postgres(database: config.postgres?.connection.database ?? "?")
        case .dynamodb: .dynamodb(table: config.dynamodb?.table ?? "?")
        }
    }

    static func backup(_ core: AgentCore) -> JobKind {
        JobKind(
            JobSpecs.Backup.self,
            resources: { req, config in try kinds(of: req, config).map { resource($0, config) } },
            run: { ctx, req in
                let kinds = try kinds(of: req, ctx.config)
                let service = core.backups()
                return try await Threads.run { try service.backupJob(kinds: kinds, reporter: ctx) }
            })
    }

    static func checkIDs(_ ids: [String]) throws {
        for id in ids where BackupID.kind(of: id) == nil {
            throw APIError(.notFound, BackupError.badID(id).message, hint: BackupError.badID(id).hint)
        }
    }

    static func verify(_ core: AgentCore) -> JobKind {
        JobKind(
            JobSpecs.BackupVerify.self,
            resource: { req, _ in
                try checkIDs(req.ids)
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
            resources: { req, config in
                try checkIDs([req.id])
                switch req.kind {
                case .postgres:
                    guard let t = req.targetDatabase, !t.isEmpty else {
                        throw APIError(
                            .unprocessable, "restore postgres needs a target database", hint: "--target-db NAME")
                    }
                    return [.postgres(database: t), .backup(id: req.id)]
                case .dynamodb:
                    guard let t = req.targetTable, !t.isEmpty else {
                        throw APIError(
                            .unprocessable, "restore dynamodb needs a target table", hint: "--target-table NAME")
                    }
                    return [.dynamodb(table: t), .backup(id: req.id)]
                }
            },
            run: { ctx, req in
                let service = core.backups()
                return try await Threads.run {
                    switch req.kind {
                    case .postgres: try service.restorePostgres(req, reporter: ctx)
                    case .dynamodb: try service.restoreDynamo(req, reporter: ctx)
                    }
                }
            })
    }
}
