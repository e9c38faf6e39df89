import WhatIfCore
import WhatIfProtocol

/// What the backup capability's jobs lock and refuse before they start, from what is configured: the
/// kinds a request names (or every configured one), the backup ids it names, a restore's target.
package struct BackupTargets: Sendable {
    /// The configured PostgreSQL database and DynamoDB table (nil when not configured).
    package var postgresDatabase: String?
    package var dynamoTable: String?
    /// The config file, for the hints.
    package var configPath: String
    /// Redis and `backups.redis` are configured.
    package var redis: Bool = false
    /// The snapshot kinds `backups.snapshots` turns on (each with its service configured).
    package var snapshots: [BackupKind] = []

    // memberwise-init: package

    /// The kinds the config has, in the order backups take them.
    package var configuredKinds: [BackupKind] {
        (postgresDatabase == nil ? [] : [.postgres]) + (dynamoTable == nil ? [] : [.dynamodb])
            + (redis ? [.redis] : []) + snapshots
    }

    /// Where the config turns a kind on, for the refusal of one that is not.
    static func setting(_ kind: BackupKind) -> String {
        switch kind {
        case .redis: "redis: and backups.redis"
        case .rdsSnapshot: "rds.instance_id and backups.snapshots.rds: true"
        case .dynamodbBackup: "dynamodb: and backups.snapshots.dynamodb: true"
        case .elasticacheSnapshot: "elasticache.replication_group_id and backups.snapshots.elasticache: true"
        case .postgres, .dynamodb: "\(kind.rawValue):"
        }
    }

    /// The kinds a backup takes: the ones asked for, once each, each configured; every configured one
    /// when none is asked for. `what` names the job in the refusal ("back up", "drill").
    package func kinds(_ asked: [BackupKind], what: String = "back up") throws(APIError) -> [BackupKind] {
        let configured = configuredKinds
        let kinds = asked.isEmpty ? configured : asked
        guard !kinds.isEmpty else {
            throw APIError(
                .notConfigured, "nothing to \(what): neither postgres, dynamodb nor backups.redis is configured",
                hint: "configure postgres:, dynamodb: or redis: with backups.redis in \(configPath)")
        }
        var seen: [BackupKind] = []
        for k in kinds where !seen.contains(k) {
            guard configured.contains(k) else {
                throw APIError(
                    .notConfigured, "\(k.rawValue) is not configured, so it cannot be backed up",
                    hint: "configure \(Self.setting(k)) in \(configPath)")
            }
            seen.append(k)
        }
        return seen
    }

    /// The kinds a restore drill restores: the configured ones whose data the agent holds (restoring an
    /// RDS or ElastiCache snapshot creates billed resources; AWS verifies its own).
    package func drillKinds() throws(APIError) -> [BackupKind] {
        let kinds = try self.kinds([], what: "drill").filter { !$0.isHeldByAWS }
        guard !kinds.isEmpty else {
            throw APIError(
                .notConfigured, "nothing to drill: only snapshots AWS keeps are configured",
                hint: "configure postgres:, dynamodb: or redis: with backups.redis in \(configPath)")
        }
        return kinds
    }

    /// `incremental` and `exportTime` are for DynamoDB's native exports: refused (422, naming the key)
    /// when the backup takes no DynamoDB part, or when both are given.
    package static func checkExportOptions(_ req: StartBackupRequest, kinds: [BackupKind]) throws(APIError) {
        guard req.incremental != nil || req.exportTime != nil else { return }
        let key = req.exportTime != nil ? "exportTime" : "incremental"
        guard kinds.contains(.dynamodb) else {
            throw APIError(
                .unprocessable, "\(key) applies to DynamoDB exports, and this backup takes none",
                hint: "back up dynamodb (whatifctl backup dynamodb --incremental | --export-time T)")
        }
        if req.exportTime != nil, req.incremental == true {
            throw APIError(
                .unprocessable, "exportTime is for a full export; incremental asks for the changes since the last one",
                hint: "give one of them")
        }
    }

    /// What a backup of `kind` locks.
    package func resource(_ kind: BackupKind) -> JobResource {
        switch kind {
        case .postgres: .postgres(database: postgresDatabase ?? "?")
        case .dynamodb: .dynamodb(table: dynamoTable ?? "?")
        case .redis: .redis
        case .rdsSnapshot: .other("rds-snapshot")
        case .dynamodbBackup: .other("dynamodb-backup")
        case .elasticacheSnapshot: .other("elasticache-snapshot")
        }
    }

    /// Refuses an id that is not a backup id (404, as for one that does not exist).
    package static func checkIDs(_ ids: [String]) throws(APIError) {
        for id in ids where BackupID.kind(of: id) == nil {
            throw APIError(.notFound, BackupError.badID(id).message, hint: BackupError.badID(id).hint)
        }
    }

    /// What a restore locks: its target and the backup it reads (which prune then keeps).
    package static func resources(of req: RestoreRequest) throws(APIError) -> [JobResource] {
        try checkIDs([req.id])
        let (target, option): (String?, String) =
            switch req.kind {
            case .postgres: (req.targetDatabase, "--target-db NAME")
            case .dynamodb: (req.targetTable, "--target-table NAME")
            case .dynamodbBackup: (req.targetTable, "--target-table NAME")
            case .rdsSnapshot: (req.targetInstance, "--target-instance NAME")
            case .redis: throw redisRestore
            case .elasticacheSnapshot: throw elastiCacheRestore(BackupService.snapshotName(req.id))
            }
        guard let t = target, !t.isEmpty else {
            let what = ["postgres": "database", "rds-snapshot": "instance"][req.kind.rawValue] ?? "table"
            throw APIError(.unprocessable, "restore \(req.kind.rawValue) needs a target \(what)", hint: option)
        }
        let resource: JobResource =
            switch req.kind {
            case .postgres: .postgres(database: t)
            case .rdsSnapshot: .other("rds:\(t)")
            default: .dynamodb(table: t)
            }
        return [resource, .backup(id: req.id)]
    }
}

extension BackupService {
    /// A restore of the request's kind (the `restore` job).
    package func restoreJob(_ req: RestoreRequest, reporter: any JobReporter) throws -> RestoreResult {
        switch req.kind {
        case .postgres: try restorePostgres(req, reporter: reporter)
        case .dynamodb: try restoreDynamo(req, reporter: reporter)
        case .redis: throw redisRestore
        case .rdsSnapshot, .dynamodbBackup, .elasticacheSnapshot: try restoreSnapshot(req, reporter: reporter)
        }
    }

    /// Removes what crashes left: local leftovers at once (before any job can start), then, in the
    /// background, the scratch databases of interrupted restores and unfinished S3 copies (PostgreSQL
    /// and S3 may be slow to answer). Each removal is logged.
    package func removeLeftovers() {
        let logger = context.logger
        for path in removeLocalLeftovers() {
            logger.notice("removed \(describeLeftover(path)) left by a crash", metadata: ["path": "\(path)"])
        }
        let pending = pendingS3Leftovers()
        Task.detached {
            for name in (try? await Threads.run { self.dropInterruptedRestores() }) ?? [] {
                logger.notice(
                    "dropped the scratch database of a restore a crash interrupted", metadata: ["database": "\(name)"])
            }
            guard !pending.isEmpty else { return }
            for p in (try? await Threads.run { self.removeS3Leftovers(pending) }) ?? [] {
                logger.notice("removed an incomplete S3 backup copy left by a crash", metadata: ["path": "\(p)"])
            }
        }
    }
}

/// Redis backups are not restored over a server by the agent: the drill loads them into a scratch Redis.
let redisRestore = APIError(
    .unprocessable, "a Redis backup is not restored by the agent (the restore drill loads it into a scratch Redis)",
    hint:
        "to put one back: stop Redis, copy the backup's dump.rdb (decrypted) over its RDB file, start Redis (/usr/share/doc/whatif-agent/backups.md)"
)
