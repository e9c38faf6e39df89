import WhatIfProtocol

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A complete (non-streamed) response.
public struct HTTPResponse: Sendable {
    /// The HTTP status.
    public var status: Int
    /// The response headers, names in lower case.
    public var headers: [(name: String, value: String)]
    /// The whole body.
    public var body: [UInt8]
}

/// The admin API, typed. Used by whatifctl; holds no state but the socket path and timeout.
public struct AgentClient: Sendable {
    /// The agent's socket when neither --socket nor $WHATIF_SOCKET names one.
    public static let defaultSocket = "/run/whatif/agent.sock"

    /// The agent's Unix socket.
    public var socketPath: String = AgentClient.defaultSocket
    /// Seconds to wait for each answer.
    public var timeout: Double = 30
    /// Runs before every call, which blocks its thread until the answer comes; may refuse it by
    /// throwing (a test harness refuses calls made on a Swift cooperative thread that the agent it
    /// talks to needs).
    public var beforeEachCall: (@Sendable () throws -> Void)?

    // memberwise-init: public

    /// Sends one request and reads the whole answer, whatever its status (`call` checks it).
    public func request(method: String, path: String, body: [UInt8]? = nil) throws -> HTTPResponse {
        try beforeEachCall?()
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

    /// Calls an endpoint of the protocol's table with a body.
    public func call<T: Decodable>(
        _ type: T.Type, _ endpoint: Endpoint, _ args: String..., query: [(String, String?)] = [],
        body: some Encodable
    ) throws -> T {
        try call(type, method: endpoint.method, path: endpoint.path(args, query: query), body: body)
    }

    /// Calls an endpoint of the protocol's table without a body.
    public func call<T: Decodable>(
        _ type: T.Type, _ endpoint: Endpoint, _ args: String..., query: [(String, String?)] = []
    ) throws -> T {
        try call(type, method: endpoint.method, path: endpoint.path(args, query: query), body: Optional<JSONValue>.none)
    }

    /// Starts a job of a declared kind: at its own endpoint with the parameters as the body, or by name.
    public func start<S: JobSpec>(_ spec: S.Type, _ params: S.Params) throws -> JobInfo {
        if S.endpoint == .startJob {
            return try call(
                JobInfo.self, .startJob, body: StartJobRequest(kind: S.name, params: try JSONValue.encoding(params)))
        }
        return try call(JobInfo.self, S.endpoint, body: params)
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

    /// The agent's version and admin API version (`GET /v1/version`).
    public func version() throws -> VersionInfo { try call(VersionInfo.self, .version) }

    /// Every configured service as the agent sees it (`GET /v1/status`); `fresh` skips the cached report.
    public func status(fresh: Bool = false) throws -> StatusReport {
        try call(StatusReport.self, .status, query: [("fresh", fresh ? "true" : nil)])
    }

    /// How the agent sees this caller: user, uid, role (`GET /v1/whoami`).
    public func whoami() throws -> PeerInfo { try call(PeerInfo.self, .whoami) }

    /// The audit trail, oldest first, with the check of its hash chain (`GET /v1/audit`): entries since
    /// a time or a duration back (`2h`), of one user (a name or `uid N`), the newest `limit`.
    public func audit(since: String? = nil, user: String? = nil, limit: Int? = nil) throws -> AuditList {
        try call(AuditList.self, .audit, query: [("since", since), ("user", user), ("limit", limit.map(String.init))])
    }

    /// Every job the agent remembers, newest first (`GET /v1/jobs`).
    public func jobs() throws -> [JobInfo] { try call(JobList.self, .listJobs).jobs }

    /// The job kinds the agent runs, with a line on each (`GET /v1/jobs/kinds`).
    public func jobKinds() throws -> [JobKindInfo] { try call(JobKindList.self, .jobKinds).kinds }

    /// One job's record (`GET /v1/jobs/{id}`); 404 as `.api` for an unknown id.
    public func job(_ id: String) throws -> JobInfo { try call(JobInfo.self, .showJob, id) }

    /// Starts a job of a kind named at run time.
    public func startJob(kind: String, params: JSONValue? = nil) throws -> JobInfo {
        try call(JobInfo.self, .startJob, body: StartJobRequest(kind: kind, params: params))
    }

    /// Asks a job to stop (it checkpoints); answers its record (`DELETE /v1/jobs/{id}`).
    public func cancelJob(_ id: String) throws -> JobInfo { try call(JobInfo.self, .cancelJob, id) }

    /// Asks the agent to re-read its config. A refused config comes back as a result with
    /// `reloaded == false` and the problems (HTTP 422), not as an error.
    public func reloadConfig() throws -> ReloadResult {
        let endpoint = Endpoint.reloadConfig
        let r = try request(method: endpoint.method, path: endpoint.path())
        if r.status == 200 || r.status == 422, let result = try? APICoding.decode(ReloadResult.self, from: r.body) {
            return result
        }
        try Self.check(r.status, r.body)
        throw ClientError.protocolError("\(endpoint): unexpected answer")
    }

    /// The running configuration with each setting's source, no secrets (`GET /v1/config`).
    public func config() throws -> ConfigReport { try call(ConfigReport.self, .config) }

    /// Streams a job's events (NDJSON) until the job ends, or until `onEvent` returns false.
    /// With `follow`, waits for new events without a timeout; the agent ends the stream when the job ends.
    public func events(of id: String, follow: Bool, onEvent: (JobEvent) throws -> Bool) throws {
        try beforeEachCall?()
        let conn = try UnixHTTPConnection(socketPath: socketPath, timeout: timeout)
        defer { conn.close() }
        var status = 0
        var errorBody: [UInt8] = []
        var line: [UInt8] = []
        let decoder = APICoding.decoder()
        struct Stop: Error {}
        do {
            try conn.send(
                method: Endpoint.jobEvents.method,
                path: Endpoint.jobEvents.path(id, query: [("follow", follow ? "true" : nil)]),
                timeout: timeout, bodyTimeout: follow ? 0 : nil
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
    /// The backup catalog, newest first, with damaged manifests and orphans (`GET /v1/backups`).
    public func backups(kind: BackupKind? = nil) throws -> BackupList {
        try call(BackupList.self, .listBackups, query: [("kind", kind?.rawValue)])
    }

    /// One backup: manifest, copies, pin and verifications (`GET /v1/backups/{id}`).
    public func backup(_ id: String) throws -> BackupEntry { try call(BackupEntry.self, .showBackup, id) }

    /// Starts a backup job of the given kinds (empty: every configured kind).
    public func startBackup(kinds: [BackupKind]) throws -> JobInfo {
        try start(JobSpecs.Backup.self, StartBackupRequest(kinds: kinds))
    }

    /// Starts a verification job (empty: every backup).
    public func startVerify(ids: [String]) throws -> JobInfo {
        try start(JobSpecs.BackupVerify.self, VerifyRequest(ids: ids))
    }

    /// Applies the retention policy (or says what it would delete, with `dryRun`).
    public func prune(dryRun: Bool, kind: BackupKind? = nil, orphans: Bool = false) throws -> PruneResult {
        try call(
            PruneResult.self, .pruneBackups,
            query: [("dry_run", dryRun ? "true" : nil), ("orphans", orphans ? "true" : nil), ("kind", kind?.rawValue)])
    }

    /// Keeps a backup whatever the retention policy says.
    public func pin(_ id: String, note: String?) throws -> BackupEntry {
        try call(BackupEntry.self, .pinBackup, id, body: PinRequest(note: note))
    }

    /// Lets the retention policy decide about a backup again.
    public func unpin(_ id: String) throws -> BackupEntry { try call(BackupEntry.self, .unpinBackup, id) }

    /// Starts a `restore` job (`POST /v1/restores`).
    public func startRestore(_ request: RestoreRequest) throws -> JobInfo { try start(JobSpecs.Restore.self, request) }
}

// MARK: Metrics and alarms

extension AgentClient {
    /// Series whose name (or namespace/name, or namespace) is `name`, all when nil, over `since` (3h, 1d).
    public func metrics(name: String?, since: String?, maxPoints: Int? = nil) throws -> MetricsReport {
        try call(
            MetricsReport.self, .metrics,
            query: [("max_points", maxPoints.map { "\($0)" }), ("name", name), ("since", since)])
    }

    /// The Prometheus text exposition.
    public func prometheusMetrics() throws -> String {
        let r = try request(
            method: Endpoint.metrics.method, path: Endpoint.metrics.path(query: [("format", "prometheus")]))
        try Self.check(r.status, r.body)
        return String(decoding: r.body, as: UTF8.self)
    }

    /// Every alarm with its state and the hooks' counters (`GET /v1/alarms`).
    public func alarms() throws -> AlarmList { try call(AlarmList.self, .alarms) }

    /// An alarm's state changes, newest first (`GET /v1/alarms/{name}/history`).
    public func alarmHistory(_ name: String) throws -> AlarmHistory { try call(AlarmHistory.self, .alarmHistory, name) }

    /// Keeps an alarm's changes from the hooks for a while (`POST /v1/alarms/{name}/silence`).
    public func silenceAlarm(_ name: String, for duration: String, comment: String?) throws -> AlarmInfo {
        try call(AlarmInfo.self, .silenceAlarm, name, body: SilenceAlarmRequest(for: duration, comment: comment))
    }

    /// Ends an alarm's silence now (`DELETE /v1/alarms/{name}/silence`).
    public func unsilenceAlarm(_ name: String) throws -> AlarmInfo { try call(AlarmInfo.self, .unsilenceAlarm, name) }

    /// Acknowledges an alarm in ALARM (`POST /v1/alarms/{name}/ack`).
    public func acknowledgeAlarm(_ name: String, comment: String?) throws -> AlarmInfo {
        try call(AlarmInfo.self, .acknowledgeAlarm, name, body: AcknowledgeAlarmRequest(comment: comment))
    }

    /// Sets an alarm's state until its next evaluation, as SetAlarmState (`POST /v1/alarms/{name}/state`).
    public func setAlarmState(_ name: String, state: String, reason: String) throws -> AlarmInfo {
        try call(
            AlarmInfo.self, .setAlarmState, name, body: SetAlarmStateRequest(stateValue: state, stateReason: reason))
    }

    /// The slowest statements (`GET /v1/postgres/top`).
    public func postgresTop(by: String?, limit: Int?) throws -> PostgresTop {
        try call(PostgresTop.self, .postgresTop, query: [("by", by), ("limit", limit.map(String.init))])
    }

    /// Redis's slow commands (`GET /v1/redis/slowlog`).
    public func redisSlowlog(count: Int?) throws -> RedisSlowlog {
        try call(RedisSlowlog.self, .redisSlowlog, query: [("count", count.map(String.init))])
    }

    /// Redis's latency events (`GET /v1/redis/latency`).
    public func redisLatency() throws -> RedisLatency { try call(RedisLatency.self, .redisLatency) }

    /// Sends a test alert to one receiver now (`POST /v1/receivers/{name}/test`).
    public func testReceiver(_ name: String) throws -> ReceiverTestResult {
        try call(ReceiverTestResult.self, .testReceiver, name)
    }
}

// MARK: Redis expiry

extension AgentClient {
    /// Starts a `redis.expiry` sweep: a dry run unless `enforce` (`POST /v1/redis/expiry`).
    public func startExpirySweep(enforce: Bool, keysPerSecond: Double? = nil) throws -> JobInfo {
        try start(JobSpecs.RedisExpiry.self, StartExpiryRequest(enforce: enforce, keysPerSecond: keysPerSecond))
    }

    /// Starts a key audit (keys without a TTL by prefix and type; no policy needed).
    public func startKeyAudit(_ request: StartKeyAuditRequest) throws -> JobInfo {
        try start(JobSpecs.RedisAudit.self, request)
    }

    /// The last finished sweep's report.
    public func lastExpiryReport() throws -> ExpiryReport { try call(ExpiryReport.self, .lastExpiry) }
}

// MARK: Tables and migrations.

extension AgentClient {
    /// Starts a `tables.setup` job: create, compare or complete the scenarios table.
    public func startTablesSetup(_ req: TablesSetupRequest) throws -> JobInfo {
        try start(JobSpecs.TablesSetup.self, req)
    }

    /// The CloudFormation template (JSON) for an environment.
    public func tablesTemplate(environment: String) throws -> JSONValue {
        try call(JSONValue.self, .tablesTemplate, query: [("environment", environment)])
    }

    /// Starts a `migrate.scenarios` job (MongoDB dump into DynamoDB).
    public func startScenarioMigration(_ req: StartScenarioMigrationRequest) throws -> JobInfo {
        try start(JobSpecs.MigrateScenarios.self, req)
    }

    /// Starts a `migrate.postgres` job (pg_dump into the RDS target, verified).
    public func startPostgresMigration(_ req: StartPostgresMigrationRequest) throws -> JobInfo {
        try start(JobSpecs.MigratePostgres.self, req)
    }

    /// The maintenance windows with their next occurrence and last run.
    public func maintenanceWindows() throws -> MaintenanceWindowList {
        try call(MaintenanceWindowList.self, .maintenanceWindows)
    }

    /// Starts a window's jobs now (a `maintenance.window` job).
    public func runMaintenanceWindow(_ name: String, _ req: MaintenanceRunRequest = .init()) throws -> JobInfo {
        try call(JobInfo.self, .runMaintenanceWindow, name, body: req)
    }

    /// Who holds each window's fleet lease.
    public func maintenanceLeases() throws -> LeaseList { try call(LeaseList.self, .maintenanceLeases) }

    /// Starts the pre-migration checklist (`preflight` job).
    public func startPreflight(_ req: PreflightRequest) throws -> JobInfo { try start(JobSpecs.Preflight.self, req) }

    /// Starts a `migrate.verify` job: source documents against the table.
    public func startMigrationVerify(_ req: StartVerifyRequest) throws -> JobInfo {
        try start(JobSpecs.MigrateVerify.self, req)
    }
}
