/// One operation of the admin API: method, path pattern, the least role that may call it, whether it
/// reads a body and which query parameters it takes. The agent's router and whatifctl's client are both
/// built from `Endpoint.all`, so a path cannot be spelt two ways.
public struct Endpoint: Sendable, Hashable, CustomStringConvertible {
    /// `GET`, `POST` or `DELETE`.
    public let method: String
    /// Path segments; `{id}` matches one segment.
    public let pattern: [String]
    /// The least role that may call it.
    public let role: Role
    /// An endpoint that reads no body refuses one (other than `{}`), rather than ignore what was sent.
    public let takesBody: Bool
    /// The query parameters it reads; any other is refused (422 naming it).
    public let query: [String]

    init(_ method: String, _ path: String, _ role: Role, body: Bool = false, query: [String] = []) {
        self.method = method
        self.pattern = path.split(separator: "/").map(String.init)
        self.role = role
        self.takesBody = body
        self.query = query
    }

    /// `GET /v1/jobs/{id}`
    public var description: String { "\(method) /\(pattern.joined(separator: "/"))" }

    /// The path with each `{id}` replaced by the next argument (percent-encoded) and the query
    /// parameters that have a value appended.
    public func path(_ args: String..., query: [(String, String?)] = []) -> String {
        path(args, query: query)
    }

    /// As `path(_:query:)` with variadic arguments.
    public func path(_ args: [String], query: [(String, String?)] = []) -> String {
        var next = args.makeIterator()
        var out = ""
        for segment in pattern {
            out += "/"
            out += segment == "{id}" ? APIPath.percentEncode(next.next() ?? "") : segment
        }
        let pairs = query.compactMap { k, v in v.map { "\(k)=\(APIPath.percentEncode($0))" } }
        return pairs.isEmpty ? out : out + "?" + pairs.joined(separator: "&")
    }
}

extension Endpoint {
    /// The agent's and the API's versions (`VersionInfo`).
    public static let version = Endpoint("GET", "/v1/version", .reader)
    /// How the agent sees the caller (`PeerInfo`).
    public static let whoami = Endpoint("GET", "/v1/whoami", .reader)
    /// Every service's state (`StatusReport`); `fresh=true` probes now instead of answering from the cache.
    public static let status = Endpoint("GET", "/v1/status", .reader, query: ["fresh"])
    /// The effective configuration and where each setting came from (`ConfigReport`).
    public static let config = Endpoint("GET", "/v1/config", .reader)
    /// Reads the config file again (`ReloadResult`), as SIGHUP does.
    public static let reloadConfig = Endpoint("POST", "/v1/config/reload", .admin)

    /// The audit trail (`AuditList`): `since` (RFC 3339, or a duration back from now: `2h`), `user`
    /// (a name, or `uid N`), `limit` (the newest N of what matches; 200 by default).
    public static let audit = Endpoint("GET", "/v1/audit", .reader, query: ["since", "user", "limit"])

    /// Jobs, newest first (`JobList`).
    public static let listJobs = Endpoint("GET", "/v1/jobs", .reader)
    /// The job kinds this agent runs, with their resources (`JobKindList`).
    public static let jobKinds = Endpoint("GET", "/v1/jobs/kinds", .reader)
    /// `{"kind": ..., "params": {...}}`: any kind, by name.
    public static let startJob = Endpoint("POST", "/v1/jobs", .admin, body: true)
    /// One job's record (`JobInfo`), its typed result once it ended.
    public static let showJob = Endpoint("GET", "/v1/jobs/{id}", .reader)
    /// Asks a running job to stop; it checkpoints where it can (`JobInfo`).
    public static let cancelJob = Endpoint("DELETE", "/v1/jobs/{id}", .admin)
    /// A job's events as NDJSON (`JobEvent` per line); `follow=true` streams until it ends.
    public static let jobEvents = Endpoint("GET", "/v1/jobs/{id}/events", .reader, query: ["follow"])

    /// The backup catalog (`BackupList`), damaged and orphaned folders named; `kind` filters.
    public static let listBackups = Endpoint("GET", "/v1/backups", .reader, query: ["kind"])
    /// One backup's manifest (`BackupManifest`).
    public static let showBackup = Endpoint("GET", "/v1/backups/{id}", .reader)
    /// Starts a backup job (`StartBackupRequest`; answers 202 with the job).
    public static let startBackup = Endpoint("POST", "/v1/backups", .admin, body: true)
    /// Starts a verify job over the named backups, or all (`VerifyRequest`).
    public static let verifyBackups = Endpoint("POST", "/v1/backups/verify", .admin, body: true)
    /// Applies retention (`PruneResult`); `dry_run=true` only says what would go, `orphans=true` includes folders without a manifest.
    public static let pruneBackups = Endpoint(
        "POST", "/v1/backups/prune", .admin, query: ["dry_run", "orphans", "kind"])
    /// Keeps a backup whatever the retention (`PinRequest`).
    public static let pinBackup = Endpoint("POST", "/v1/backups/{id}/pin", .admin, body: true)
    /// Lets retention apply to a backup again.
    public static let unpinBackup = Endpoint("DELETE", "/v1/backups/{id}/pin", .admin)
    /// Starts a restore job (`RestoreRequest`).
    public static let startRestore = Endpoint("POST", "/v1/restores", .admin, body: true)

    /// Metric history (`MetricsReport`, or Prometheus text with `format=prometheus`).
    public static let metrics = Endpoint(
        "GET", "/v1/metrics", .reader, query: ["format", "since", "max_points", "name"])
    /// Alarms and their states (`AlarmList`).
    public static let alarms = Endpoint("GET", "/v1/alarms", .reader)
    /// One alarm's state changes (`AlarmHistory`).
    public static let alarmHistory = Endpoint("GET", "/v1/alarms/{id}/history", .reader)
    /// Silences an alarm's notifications for a while (`SilenceAlarmRequest`; answers the `AlarmInfo`).
    public static let silenceAlarm = Endpoint("POST", "/v1/alarms/{id}/silence", .admin, body: true)
    /// Ends an alarm's silence now (`AlarmInfo`).
    public static let unsilenceAlarm = Endpoint("DELETE", "/v1/alarms/{id}/silence", .admin)
    /// Acknowledges an alarm in ALARM (`AcknowledgeAlarmRequest`; `AlarmInfo`).
    public static let acknowledgeAlarm = Endpoint("POST", "/v1/alarms/{id}/ack", .admin, body: true)
    /// Sets an alarm's state until its next evaluation, as AWS SetAlarmState (`SetAlarmStateRequest`).
    public static let setAlarmState = Endpoint("POST", "/v1/alarms/{id}/state", .admin, body: true)
    /// Sends a test alert to one receiver (a configured webhook, by name) now (`ReceiverTestResult`).
    public static let testReceiver = Endpoint("POST", "/v1/receivers/{id}/test", .admin)
    /// Starts a Redis expiry sweep (`StartExpiryRequest`).
    public static let startExpiry = Endpoint("POST", "/v1/redis/expiry", .admin, body: true)
    /// The last sweep's report (`ExpiryReport`).
    public static let lastExpiry = Endpoint("GET", "/v1/redis/expiry", .reader)
    /// The slowest statements from pg_stat_statements (`PostgresTop`): `by` total, mean or calls, `limit`.
    public static let postgresTop = Endpoint("GET", "/v1/postgres/top", .reader, query: ["by", "limit"])
    /// Redis's SLOWLOG, newest first (`RedisSlowlog`): `count` entries.
    public static let redisSlowlog = Endpoint("GET", "/v1/redis/slowlog", .reader, query: ["count"])
    /// Redis's LATENCY LATEST (`RedisLatency`).
    public static let redisLatency = Endpoint("GET", "/v1/redis/latency", .reader)
    /// Starts an audit of keys without a TTL (`StartKeyAuditRequest`).
    public static let startKeyAudit = Endpoint("POST", "/v1/redis/audit", .admin, body: true)

    /// Creates or checks the scenarios table (`TablesSetupRequest`).
    public static let setupTables = Endpoint("POST", "/v1/tables", .admin, body: true)
    /// The table as a CloudFormation template, for the named environment.
    public static let tablesTemplate = Endpoint("GET", "/v1/tables/template", .reader, query: ["environment"])
    /// Starts the MongoDB→DynamoDB migration (`StartScenarioMigrationRequest`).
    public static let migrateScenarios = Endpoint("POST", "/v1/migrations/scenarios", .admin, body: true)
    /// Starts a comparison of the dump with the table (`StartVerifyRequest`).
    public static let migrateVerify = Endpoint("POST", "/v1/migrations/verify", .admin, body: true)
    /// Starts the PostgreSQL→RDS migration (`StartPostgresMigrationRequest`).
    public static let migratePostgres = Endpoint("POST", "/v1/migrations/postgres", .admin, body: true)
    /// Starts the pre-migration checks (`PreflightRequest`).
    public static let preflight = Endpoint("POST", "/v1/preflight", .admin, body: true)

    /// The configured windows, next openings and last runs (`MaintenanceWindowList`).
    public static let maintenanceWindows = Endpoint("GET", "/v1/maintenance/windows", .reader)
    /// Runs a window now (`MaintenanceRunRequest`).
    public static let runMaintenanceWindow = Endpoint(
        "POST", "/v1/maintenance/windows/{id}/run", .admin, body: true)
    /// The fleet leases this agent sees (`LeaseList`).
    public static let maintenanceLeases = Endpoint("GET", "/v1/maintenance/leases", .reader)

    /// Every endpoint; the router serves exactly these.
    public static let all: [Endpoint] = [
        version, whoami, status, config, reloadConfig, audit, listJobs, jobKinds, startJob, showJob, cancelJob,
        jobEvents,
        listBackups, showBackup, startBackup, verifyBackups, pruneBackups, pinBackup, unpinBackup, startRestore,
        postgresTop, redisSlowlog, redisLatency, metrics, alarms, alarmHistory, silenceAlarm, unsilenceAlarm,
        acknowledgeAlarm, setAlarmState, testReceiver,
        startExpiry, lastExpiry, startKeyAudit, setupTables, tablesTemplate,
        migrateScenarios,
        migrateVerify, migratePostgres, preflight, maintenanceWindows, runMaintenanceWindow, maintenanceLeases,
    ]
}
