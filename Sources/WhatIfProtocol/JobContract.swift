#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// What a job locks: one job per resource at a time, and a job that needs several takes all of them
/// or none. The text form (`postgres:app`) is what job records, `whatifctl jobs` and 409 answers show.
public enum JobResource: Hashable, Sendable, CustomStringConvertible {
    /// A PostgreSQL database of the configured server (backups, restores, the migration's source).
    case postgres(database: String)
    /// The migration's target server (`host:port/database`).
    case postgresTarget(String)
    case dynamodb(table: String)
    case redis
    /// One backup (a restore reads it; a prune must not delete it meanwhile).
    case backup(id: String)
    case backupVerify
    case backupPrune
    case restoreDrill
    case vacuum(database: String)
    case preflight
    case window(String)
    /// For job kinds outside the agent's own (tests of the job system).
    case other(String)

    /// `postgres:app`, `dynamodb:scenarios`, `redis`, `backup:<id>`, ...: as records and 409 answers show it.
    public var description: String {
        switch self {
        case .postgres(let d): "postgres:\(d)"
        case .postgresTarget(let t): "postgres-target:\(t)"
        case .dynamodb(let t): "dynamodb:\(t)"
        case .redis: "redis"
        case .backup(let id): "backup:\(id)"
        case .backupVerify: "backups:verify"
        case .backupPrune: "backups:prune"
        case .restoreDrill: "restore-drill"
        case .vacuum(let d): "vacuum:\(d)"
        case .preflight: "preflight"
        case .window(let w): "window:\(w)"
        case .other(let s): s
        }
    }
}

/// One kind of job, declared once: its name, what it takes and what it returns. The agent registers
/// an implementation per spec; the admin API decodes `Params` strictly, once, at the route; the result
/// a job record holds decodes as `Result` (whatifctl reads it with `JobInfo.result(as:)`).
public protocol JobSpec: Sendable {
    /// What the kind takes: the body of its endpoint, `params` of `POST /v1/jobs`, `JobInfo.params`.
    associatedtype Params: Codable & Sendable
    /// What the kind returns: `JobInfo.result` once the job succeeded.
    associatedtype Result: Codable & Sendable
    /// The kind's name in job records and `POST /v1/jobs`.
    static var name: String { get }
    /// What the kind does, in a line (`GET /v1/jobs/kinds`).
    static var summary: String { get }
    /// A body to show in the hint of a 422.
    static var example: String { get }
    /// The endpoint that starts it with `Params` as the body; `Endpoint.startJob` (kind and params by
    /// name) starts every kind.
    static var endpoint: Endpoint { get }
}

extension JobSpec {
    /// Kinds without an endpoint of their own start through `POST /v1/jobs`.
    public static var endpoint: Endpoint { .startJob }
}

/// Parameters of a kind that takes none: any key is refused.
public struct NoParams: Codable, Sendable, Equatable {
    private enum NoKeys: CodingKey {}

    /// No parameters.
    public init() {}

    /// Opens the object (so a strict decoder sees each key it has as unknown).
    public init(from decoder: any Decoder) throws {
        _ = try decoder.container(keyedBy: NoKeys.self)
    }

    /// Writes `{}`.
    public func encode(to encoder: any Encoder) throws {
        _ = encoder.container(keyedBy: NoKeys.self)
    }
}

/// The agent's job kinds.
public enum JobSpecs {
    /// `backup`: pg_dump and DynamoDB exports, each verified, then retention.
    public enum Backup: JobSpec {
        public static let endpoint = Endpoint.startBackup
        public typealias Params = StartBackupRequest
        public typealias Result = BackupRunResult
        public static let name = "backup"
        public static let summary = "back up PostgreSQL (pg_dump) and DynamoDB (export), verify, prune"
        public static let example = #"{"kinds": ["postgres", "dynamodb"]}"#
    }

    /// `backup.verify`: backups re-read and checked against their manifests.
    public enum BackupVerify: JobSpec {
        public static let endpoint = Endpoint.verifyBackups
        public typealias Params = VerifyRequest
        public typealias Result = VerifyOutcomes
        public static let name = "backup.verify"
        public static let summary = "re-read backups and check them against their manifests"
        public static let example = #"{"ids": []}"#
    }

    /// `restore`: a backup into a PostgreSQL database or a DynamoDB table.
    public enum Restore: JobSpec {
        public static let endpoint = Endpoint.startRestore
        public typealias Params = RestoreRequest
        public typealias Result = RestoreResult
        public static let name = "restore"
        public static let summary = "restore a backup into a PostgreSQL database or a DynamoDB table"
        public static let example =
            #"{"kind": "postgres", "id": "...", "targetDatabase": "...", "create": true, "clean": false, "force": false}"#
    }

    /// `backup.prune`: retention, with the catalog's damaged and orphaned folders named.
    public enum BackupPrune: JobSpec {
        public typealias Params = NoParams
        public typealias Result = PruneResult
        public static let name = "backup.prune"
        public static let summary = "delete backups the retention policy no longer keeps"
        public static let example = "{}"
    }

    /// `restore.pitr`: a managed service's own point-in-time recovery into a new table or instance.
    public enum RestorePointInTime: JobSpec {
        public typealias Params = PointInTimeRestoreRequest
        public typealias Result = PointInTimeRestoreResult
        public static let name = "restore.pitr"
        public static let summary =
            "restore the DynamoDB table or the RDS instance as it was at a time, into a new table or instance"
        public static let example =
            #"{"service": "dynamodb", "toTime": "2026-12-01T02:00:00Z", "target": "scenarios-at-2am"}"#
    }

    /// `restore.drill`: the newest backups restored into scratch copies, checked and dropped.
    public enum RestoreDrill: JobSpec {
        public typealias Params = NoParams
        public typealias Result = DrillResult
        public static let name = "restore.drill"
        public static let summary =
            "restore the newest backups into a scratch database and table, check them, drop them"
        public static let example = "{}"
    }

    /// `redis.expiry`: the key-expiry policy, as a dry run or enforced.
    public enum RedisExpiry: JobSpec {
        public static let endpoint = Endpoint.startExpiry
        public typealias Params = StartExpiryRequest
        public typealias Result = ExpiryReport
        public static let name = "redis.expiry"
        public static let summary = "audit (dry run) or enforce the Redis key-expiry policy with SCAN"
        public static let example = #"{"enforce": false}"#
    }

    /// `redis.audit`: keys without a TTL by prefix and type, no policy needed.
    public enum RedisAudit: JobSpec {
        public static let endpoint = Endpoint.startKeyAudit
        public typealias Params = StartKeyAuditRequest
        public typealias Result = KeyAuditReport
        public static let name = "redis.audit"
        public static let summary = "keys without a TTL and their memory, by prefix and type (no policy needed)"
        public static let example = #"{"delimiter": ":", "depth": 1}"#
    }

    /// `tables.setup`: the scenarios table created or compared with its expected schema.
    public enum TablesSetup: JobSpec {
        public static let endpoint = Endpoint.setupTables
        public typealias Params = TablesSetupRequest
        public typealias Result = TablesReport
        public static let name = "tables.setup"
        public static let summary = "create the scenarios table (or compare it with the expected schema)"
        public static let example = #"{"environment": "test", "force": false, "confirm": false}"#
    }

    /// `migrate.scenarios`: a MongoDB dump into the scenarios table.
    public enum MigrateScenarios: JobSpec {
        public static let endpoint = Endpoint.migrateScenarios
        public typealias Params = StartScenarioMigrationRequest
        public typealias Result = ScenarioMigrationReport
        public static let name = "migrate.scenarios"
        public static let summary = "migrate MongoDB scenarios (mongodump or mongoexport output) into DynamoDB"
        public static let example = #"{"from": "/path/to/scenarios.bson", "environment": "test"}"#
    }

    /// `migrate.verify`: a MongoDB dump compared with the scenarios table.
    public enum MigrateVerify: JobSpec {
        public static let endpoint = Endpoint.migrateVerify
        public typealias Params = StartVerifyRequest
        public typealias Result = VerifyReport
        public static let name = "migrate.verify"
        public static let summary = "compare a MongoDB dump with the scenarios table, item by item"
        public static let example = #"{"from": "/path/to/scenarios.bson"}"#
    }

    /// `migrate.postgres`: the PostgreSQL database into RDS.
    public enum MigratePostgres: JobSpec {
        public static let endpoint = Endpoint.migratePostgres
        public typealias Params = StartPostgresMigrationRequest
        public typealias Result = PostgresMigrationReport
        public static let name = "migrate.postgres"
        public static let summary = "copy the PostgreSQL database into RDS (pg_dump, pg_restore, verification)"
        public static let example = #"{"to": "test", "dryRun": true}"#
    }

    /// `preflight`: the pre-migration checklist.
    public enum Preflight: JobSpec {
        public static let endpoint = Endpoint.preflight
        public typealias Params = PreflightRequest
        public typealias Result = PreflightReport
        public static let name = "preflight"
        public static let summary = "check the pre-migration checklist (PASS/FAIL per item)"
        public static let example = #"{"environment": "test"}"#
    }

    /// `postgres.vacuum`: VACUUM (ANALYZE) of the database.
    public enum Vacuum: JobSpec {
        public typealias Params = NoParams
        public typealias Result = VacuumResult
        public static let name = "postgres.vacuum"
        public static let summary = "VACUUM (ANALYZE) the PostgreSQL database"
        public static let example = "{}"
    }

    /// `maintenance.window`: a window's jobs in order, within the window.
    public enum MaintenanceWindow: JobSpec {
        public typealias Params = WindowParams
        public typealias Result = WindowRunResult
        public static let name = "maintenance.window"
        public static let summary = "run a maintenance window's jobs in order, within the window"
        public static let example = #"{"window": "weekly"}"#
    }

    /// Every kind the agent runs, in the order `whatifctl jobs kinds` lists them.
    public static let all: [any JobSpec.Type] = [
        Backup.self, BackupVerify.self, BackupPrune.self, Restore.self, RestorePointInTime.self, RestoreDrill.self,
        RedisExpiry.self,
        RedisAudit.self,
        TablesSetup.self, MigrateScenarios.self, MigrateVerify.self, MigratePostgres.self, Preflight.self,
        Vacuum.self, MaintenanceWindow.self,
    ]
}

/// The parameters of a `maintenance.window` job.
public struct WindowParams: Codable, Sendable, Equatable {
    /// The window's name, from the config.
    public var window: String
    /// scheduled, catch-up or manual.
    public var trigger: String?
    /// The occurrence's start (seconds since 1970); a manual run works it out.
    public var occurrence: Double?
    /// As `MaintenanceRunRequest.ignoreEstimates`.
    public var ignoreEstimates: Bool?

    // memberwise-init: public
}

/// What `postgres.vacuum` did.
public struct VacuumResult: Codable, Sendable, Equatable {
    /// The database vacuumed.
    public var database: String
    /// Tables vacuumed.
    public var tables: Int
    /// How long it took.
    public var seconds: Double

    // memberwise-init: package
}

extension JobInfo {
    /// The job's result as its kind's result type; nil when the job has none (yet). Throws when the
    /// record is of another kind or its result does not decode.
    public func result<S: JobSpec>(as spec: S.Type) throws -> S.Result? {
        guard kind == S.name else {
            throw DecodingError.typeMismatch(
                S.Result.self, .init(codingPath: [], debugDescription: "job \(id) is a \(kind) job, not \(S.name)"))
        }
        guard let result else { return nil }
        return try APICoding.decode(S.Result.self, from: APICoding.encode(result))
    }
}
