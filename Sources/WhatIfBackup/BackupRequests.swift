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
    package var redis: Bool

    package init(postgresDatabase: String?, dynamoTable: String?, configPath: String, redis: Bool = false) {
        self.postgresDatabase = postgresDatabase
        self.dynamoTable = dynamoTable
        self.configPath = configPath
        self.redis = redis
    }

    /// The kinds the config has, in the order backups take them.
    package var configuredKinds: [BackupKind] {
        (postgresDatabase == nil ? [] : [.postgres]) + (dynamoTable == nil ? [] : [.dynamodb])
            + (redis ? [.redis] : [])
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
                    hint: k == .redis
                        ? "configure redis: and backups.redis in \(configPath)"
                        : "configure \(k.rawValue): in \(configPath)")
            }
            seen.append(k)
        }
        return seen
    }

    /// What a backup of `kind` locks.
    package func resource(_ kind: BackupKind) -> JobResource {
        switch kind {
        case .postgres: .postgres(database: postgresDatabase ?? "?")
        case .dynamodb: .dynamodb(table: dynamoTable ?? "?")
        case .redis: .redis
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
            case .redis: throw redisRestore
            }
        guard let t = target, !t.isEmpty else {
            let what = req.kind == .postgres ? "database" : "table"
            throw APIError(.unprocessable, "restore \(req.kind.rawValue) needs a target \(what)", hint: option)
        }
        return [req.kind == .postgres ? .postgres(database: t) : .dynamodb(table: t), .backup(id: req.id)]
    }
}

extension BackupService {
    /// A restore of the request's kind (the `restore` job).
    package func restoreJob(_ req: RestoreRequest, reporter: any JobReporter) throws -> RestoreResult {
        switch req.kind {
        case .postgres: try restorePostgres(req, reporter: reporter)
        case .dynamodb: try restoreDynamo(req, reporter: reporter)
        case .redis: throw redisRestore
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
        "to put one back: stop Redis, copy the backup's dump.rdb (decrypted) over its RDB file, start Redis (docs/backups.md)"
)
