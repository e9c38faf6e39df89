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

/// The agent's job kinds. Each is declared beside what it takes and returns (Backups.swift, Expiry.swift,
/// Migration.swift, Maintenance.swift, here); `all` lists them.
public enum JobSpecs {
    /// Every kind the agent runs, in the order `whatifctl jobs kinds` lists them.
    public static let all: [any JobSpec.Type] = [
        Backup.self, BackupVerify.self, BackupPrune.self, Restore.self, RestorePointInTime.self, RestoreDrill.self,
        RedisExpiry.self,
        RedisAudit.self,
        TablesSetup.self, MigrateScenarios.self, MigrateVerify.self, MigratePostgres.self, Preflight.self,
        Vacuum.self, MaintenanceWindow.self,
    ]
}

extension JobSpecs {
    /// `maintenance.window`: a window's jobs in order, within the window.
    public enum MaintenanceWindow: JobSpec {
        public typealias Params = WindowParams
        public typealias Result = WindowRunResult
        public static let name = "maintenance.window"
        public static let summary = "run a maintenance window's jobs in order, within the window"
        public static let example = #"{"window": "weekly"}"#
    }
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

extension JobSpecs {
    /// `postgres.vacuum`: VACUUM (ANALYZE) of the database.
    public enum Vacuum: JobSpec {
        public typealias Params = NoParams
        public typealias Result = VacuumResult
        public static let name = "postgres.vacuum"
        public static let summary = "VACUUM (ANALYZE) the PostgreSQL database"
        public static let example = "{}"
    }
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
