import WhatIfProtocol

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A complete (non-streamed) response.
public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
}

/// The admin API, typed. Used by whatifctl; holds no state but the socket path and timeout.
public struct AgentClient: Sendable {
    public static let defaultSocket = "/run/whatif/agent.sock"

    public var socketPath: String
    /// Seconds to wait for each answer.
    public var timeout: Double

    public init(socketPath: String = AgentClient.defaultSocket, timeout: Double = 30) {
        self.socketPath = socketPath
        self.timeout = timeout
    }

    public func request(method: String, path: String, body: [UInt8]? = nil) throws -> HTTPResponse {
        let conn = try UnixHTTPConnection(socketPath: socketPath, timeout: timeout)
        defer { conn.close() }
        var status = 0
        var headers: [(String, String)] = []
        var data: [UInt8] = []
        try conn.send(method: method, path: path, body: body, timeout: timeout) { event in
            switch event {
            case .head(let h):
                status = h.status
                headers = h.headers
            case .body(let b):
                data += b
            case .end:
                break
            }
        }
        return HTTPResponse(status: status, headers: headers, body: data)
    }

    /// Sends a request and decodes a 2xx answer as `T`, or throws `.api` with the agent's error.
    public func call<T: Decodable>(_ type: T.Type, method: String, path: String, body: (some Encodable)? = nil)
        throws -> T
    {
        let bytes: [UInt8]?
        if let body {
            bytes = try APICoding.encode(body)
        } else {
            bytes = nil
        }
        let response = try request(method: method, path: path, body: bytes)
        try Self.check(response.status, response.body)
        do {
            return try APICoding.decode(T.self, from: response.body)
        } catch {
            throw ClientError.protocolError("\(method) \(path): \(error)")
        }
    }

    static func check(_ status: Int, _ body: [UInt8]) throws {
        guard (200..<300).contains(status) else {
            if let e = try? APICoding.decode(APIErrorBody.self, from: body) {
                throw ClientError.api(status: status, error: e.error)
            }
            let text = String(decoding: body.prefix(300), as: UTF8.self)
            throw ClientError.api(
                status: status,
                error: APIError(.internalError, "HTTP \(status)" + (text.isEmpty ? "" : ": \(text)")))
        }
    }

    public func version() throws -> VersionInfo {
        try call(VersionInfo.self, method: "GET", path: APIPath.version, body: Optional<JSONValue>.none)
    }

    public func status(fresh: Bool = false) throws -> StatusReport {
        try call(
            StatusReport.self, method: "GET", path: APIPath.status + (fresh ? "?fresh=true" : ""),
            body: Optional<JSONValue>.none)
    }

    public func whoami() throws -> PeerInfo {
        try call(PeerInfo.self, method: "GET", path: APIPath.whoami, body: Optional<JSONValue>.none)
    }

    public func jobs() throws -> [JobInfo] {
        try call(JobList.self, method: "GET", path: APIPath.jobs, body: Optional<JSONValue>.none).jobs
    }

    public func jobKinds() throws -> [JobKindInfo] {
        try call(JobKindList.self, method: "GET", path: APIPath.jobKinds, body: Optional<JSONValue>.none).kinds
    }

    public func job(_ id: String) throws -> JobInfo {
        try call(JobInfo.self, method: "GET", path: APIPath.job(id), body: Optional<JSONValue>.none)
    }

    public func startJob(kind: String, params: JSONValue? = nil) throws -> JobInfo {
        try call(JobInfo.self, method: "POST", path: APIPath.jobs, body: StartJobRequest(kind: kind, params: params))
    }

    public func cancelJob(_ id: String) throws -> JobInfo {
        try call(JobInfo.self, method: "DELETE", path: APIPath.job(id), body: Optional<JSONValue>.none)
    }

    /// Asks the agent to re-read its config. A refused config comes back as a result with
    /// `reloaded == false` and the problems (HTTP 422), not as an error.
    public func reloadConfig() throws -> ReloadResult {
        let r = try request(method: "POST", path: APIPath.configReload)
        if r.status == 200 || r.status == 422, let result = try? APICoding.decode(ReloadResult.self, from: r.body) {
            return result
        }
        try Self.check(r.status, r.body)
        throw ClientError.protocolError("POST \(APIPath.configReload): unexpected answer")
    }

    public func config() throws -> JSONValue {
        try call(JSONValue.self, method: "GET", path: APIPath.config, body: Optional<JSONValue>.none)
    }

    /// Streams a job's events (NDJSON) until the job ends, or until `onEvent` returns false.
    /// With `follow`, waits for new events without a timeout; the agent ends the stream when the job ends.
    public func events(of id: String, follow: Bool, onEvent: (JobEvent) throws -> Bool) throws {
        let conn = try UnixHTTPConnection(socketPath: socketPath, timeout: timeout)
        defer { conn.close() }
        var status = 0
        var errorBody: [UInt8] = []
        var line: [UInt8] = []
        let decoder = APICoding.decoder()
        struct Stop: Error {}
        do {
            try conn.send(
                method: "GET", path: APIPath.jobEvents(id, follow: follow), timeout: follow ? 0 : timeout
            ) { event in
                switch event {
                case .head(let h):
                    status = h.status
                case .body(let bytes):
                    guard (200..<300).contains(status) else {
                        errorBody += bytes
                        return
                    }
                    for b in bytes {
                        if b == 10 {
                            if !line.isEmpty {
                                let e: JobEvent
                                do { e = try decoder.decode(JobEvent.self, from: Data(line)) } catch {
                                    throw ClientError.protocolError("bad event line: \(error)")
                                }
                                line.removeAll(keepingCapacity: true)
                                if try !onEvent(e) { throw Stop() }
                            }
                        } else {
                            line.append(b)
                        }
                    }
                case .end:
                    break
                }
            }
        } catch is Stop {
            return
        }
        try Self.check(status, errorBody)
    }
}

// MARK: Backups

extension AgentClient {
    private static let none = Optional<JSONValue>.none

    public func backups(kind: BackupKind? = nil) throws -> BackupList {
        try call(
            BackupList.self, method: "GET", path: APIPath.backups + (kind.map { "?kind=\($0.rawValue)" } ?? ""),
            body: Self.none)
    }

    public func backup(_ id: String) throws -> BackupEntry {
        try call(BackupEntry.self, method: "GET", path: APIPath.backup(id), body: Self.none)
    }

    /// Starts a backup job of the given kinds (empty: every configured kind).
    public func startBackup(kinds: [BackupKind]) throws -> JobInfo {
        try call(JobInfo.self, method: "POST", path: APIPath.backups, body: StartBackupRequest(kinds: kinds))
    }

    /// Starts a verification job (empty: every backup).
    public func startVerify(ids: [String]) throws -> JobInfo {
        try call(JobInfo.self, method: "POST", path: APIPath.backupsVerify, body: VerifyRequest(ids: ids))
    }

    public func prune(dryRun: Bool, kind: BackupKind? = nil, orphans: Bool = false) throws -> PruneResult {
        var query: [String] = []
        if dryRun { query.append("dry_run=true") }
        if orphans { query.append("orphans=true") }
        if let kind { query.append("kind=\(kind.rawValue)") }
        return try call(
            PruneResult.self, method: "POST",
            path: APIPath.backupsPrune + (query.isEmpty ? "" : "?" + query.joined(separator: "&")), body: Self.none)
    }

    public func pin(_ id: String, note: String?) throws -> BackupEntry {
        try call(BackupEntry.self, method: "POST", path: APIPath.backupPin(id), body: PinRequest(note: note))
    }

    public func unpin(_ id: String) throws -> BackupEntry {
        try call(BackupEntry.self, method: "DELETE", path: APIPath.backupPin(id), body: Self.none)
    }

    public func startRestore(_ request: RestoreRequest) throws -> JobInfo {
        try call(JobInfo.self, method: "POST", path: APIPath.restores, body: request)
    }
}

// MARK: Metrics and alarms

extension AgentClient {
    /// Series whose name (or namespace/name, or namespace) is `name`, all when nil, over `since` (3h, 1d).
    public func metrics(name: String?, since: String?, maxPoints: Int? = nil) throws -> MetricsReport {
        var query: [String] = []
        if let maxPoints { query.append("max_points=\(maxPoints)") }
        if let name { query.append("name=\(APIPath.percentEncode(name))") }
        if let since { query.append("since=\(APIPath.percentEncode(since))") }
        return try call(
            MetricsReport.self, method: "GET",
            path: APIPath.metrics + (query.isEmpty ? "" : "?" + query.joined(separator: "&")),
            body: Optional<JSONValue>.none)
    }

    /// The Prometheus text exposition.
    public func prometheusMetrics() throws -> String {
        let r = try request(method: "GET", path: APIPath.metrics + "?format=prometheus")
        try Self.check(r.status, r.body)
        return String(decoding: r.body, as: UTF8.self)
    }

    public func alarms() throws -> AlarmList {
        try call(AlarmList.self, method: "GET", path: APIPath.alarms, body: Optional<JSONValue>.none)
    }

    public func alarmHistory(_ name: String) throws -> AlarmHistory {
        try call(AlarmHistory.self, method: "GET", path: APIPath.alarmHistory(name), body: Optional<JSONValue>.none)
    }
}

// MARK: Redis expiry

extension AgentClient {
    public func startExpirySweep(enforce: Bool, keysPerSecond: Double? = nil) throws -> JobInfo {
        try call(
            JobInfo.self, method: "POST", path: APIPath.redisExpiry,
            body: StartExpiryRequest(enforce: enforce, keysPerSecond: keysPerSecond))
    }

    /// The last finished sweep's report.
    public func lastExpiryReport() throws -> ExpiryReport {
        try call(ExpiryReport.self, method: "GET", path: APIPath.redisExpiry, body: Optional<JSONValue>.none)
    }
}

// MARK: Tables and migrations.

extension AgentClient {
    public func startTablesSetup(_ req: TablesSetupRequest) throws -> JobInfo {
        try call(JobInfo.self, method: "POST", path: APIPath.tables, body: req)
    }

    /// The CloudFormation template (JSON) for an environment.
    public func tablesTemplate(environment: String) throws -> JSONValue {
        try call(
            JSONValue.self, method: "GET",
            path: APIPath.tablesTemplate + "?environment=" + APIPath.percentEncode(environment),
            body: Optional<JSONValue>.none)
    }

    public func startScenarioMigration(_ req: StartScenarioMigrationRequest) throws -> JobInfo {
        try call(JobInfo.self, method: "POST", path: APIPath.migrateScenarios, body: req)
    }

    public func startPostgresMigration(_ req: StartPostgresMigrationRequest) throws -> JobInfo {
        try call(JobInfo.self, method: "POST", path: APIPath.migratePostgres, body: req)
    }

    public func maintenanceWindows() throws -> MaintenanceWindowList {
        try call(
            MaintenanceWindowList.self, method: "GET", path: APIPath.maintenanceWindows, body: Optional<JSONValue>.none)
    }

    /// Starts a window's jobs now (a `maintenance.window` job).
    public func runMaintenanceWindow(_ name: String, _ req: MaintenanceRunRequest = .init()) throws -> JobInfo {
        try call(JobInfo.self, method: "POST", path: APIPath.maintenanceRun(name), body: req)
    }

    public func maintenanceLeases() throws -> LeaseList {
        try call(LeaseList.self, method: "GET", path: APIPath.maintenanceLeases, body: Optional<JSONValue>.none)
    }

    public func startPreflight(_ req: PreflightRequest) throws -> JobInfo {
        try call(JobInfo.self, method: "POST", path: APIPath.preflight, body: req)
    }

    public func startMigrationVerify(_ req: StartVerifyRequest) throws -> JobInfo {
        try call(JobInfo.self, method: "POST", path: APIPath.migrateVerify, body: req)
    }
}
