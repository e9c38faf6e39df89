/// One operation of the admin API: method, path pattern, the least role that may call it, whether it
/// reads a body and which query parameters it takes. The agent's router and whatifctl's client are both
/// built from `Endpoint.all`, so a path cannot be spelt two ways.
public struct Endpoint: Sendable, Hashable, CustomStringConvertible {
    public let method: String
    /// Path segments; `{id}` matches one segment.
    public let pattern: [String]
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
    public static let version = Endpoint("GET", "/v1/version", .reader)
    public static let whoami = Endpoint("GET", "/v1/whoami", .reader)
    public static let status = Endpoint("GET", "/v1/status", .reader, query: ["fresh"])
    public static let config = Endpoint("GET", "/v1/config", .reader)
    public static let reloadConfig = Endpoint("POST", "/v1/config/reload", .admin)

    public static let listJobs = Endpoint("GET", "/v1/jobs", .reader)
    public static let jobKinds = Endpoint("GET", "/v1/jobs/kinds", .reader)
    /// `{"kind": ..., "params": {...}}`: any kind, by name.
    public static let startJob = Endpoint("POST", "/v1/jobs", .admin, body: true)
    public static let showJob = Endpoint("GET", "/v1/jobs/{id}", .reader)
    public static let cancelJob = Endpoint("DELETE", "/v1/jobs/{id}", .admin)
    public static let jobEvents = Endpoint("GET", "/v1/jobs/{id}/events", .reader, query: ["follow"])

    public static let listBackups = Endpoint("GET", "/v1/backups", .reader, query: ["kind"])
    public static let showBackup = Endpoint("GET", "/v1/backups/{id}", .reader)
    public static let startBackup = Endpoint("POST", "/v1/backups", .admin, body: true)
    public static let verifyBackups = Endpoint("POST", "/v1/backups/verify", .admin, body: true)
    public static let pruneBackups = Endpoint(
        "POST", "/v1/backups/prune", .admin, query: ["dry_run", "orphans", "kind"])
    public static let pinBackup = Endpoint("POST", "/v1/backups/{id}/pin", .admin, body: true)
    public static let unpinBackup = Endpoint("DELETE", "/v1/backups/{id}/pin", .admin)
    public static let startRestore = Endpoint("POST", "/v1/restores", .admin, body: true)

    public static let metrics = Endpoint(
        "GET", "/v1/metrics", .reader, query: ["format", "since", "max_points", "name"])
    public static let alarms = Endpoint("GET", "/v1/alarms", .reader)
    public static let alarmHistory = Endpoint("GET", "/v1/alarms/{id}/history", .reader)
    public static let startExpiry = Endpoint("POST", "/v1/redis/expiry", .admin, body: true)
    public static let lastExpiry = Endpoint("GET", "/v1/redis/expiry", .reader)
    public static let startKeyAudit = Endpoint("POST", "/v1/redis/audit", .admin, body: true)

    public static let setupTables = Endpoint("POST", "/v1/tables", .admin, body: true)
    public static let tablesTemplate = Endpoint("GET", "/v1/tables/template", .reader, query: ["environment"])
    public static let migrateScenarios = Endpoint("POST", "/v1/migrations/scenarios", .admin, body: true)
    public static let migrateVerify = Endpoint("POST", "/v1/migrations/verify", .admin, body: true)
    public static let migratePostgres = Endpoint("POST", "/v1/migrations/postgres", .admin, body: true)
    public static let preflight = Endpoint("POST", "/v1/preflight", .admin, body: true)

    public static let maintenanceWindows = Endpoint("GET", "/v1/maintenance/windows", .reader)
    public static let runMaintenanceWindow = Endpoint(
        "POST", "/v1/maintenance/windows/{id}/run", .admin, body: true)
    public static let maintenanceLeases = Endpoint("GET", "/v1/maintenance/leases", .reader)

    /// Every endpoint; the router serves exactly these.
    public static let all: [Endpoint] = [
        version, whoami, status, config, reloadConfig, listJobs, jobKinds, startJob, showJob, cancelJob, jobEvents,
        listBackups, showBackup, startBackup, verifyBackups, pruneBackups, pinBackup, unpinBackup, startRestore,
        metrics, alarms, alarmHistory, startExpiry, lastExpiry, startKeyAudit, setupTables, tablesTemplate,
        migrateScenarios,
        migrateVerify, migratePostgres, preflight, maintenanceWindows, runMaintenanceWindow, maintenanceLeases,
    ]
}
