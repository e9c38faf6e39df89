import Logging
import WhatIfBackup
import WhatIfCore
import WhatIfHTTP
import WhatIfMaintenance
import WhatIfMonitoring
import WhatIfProtocol

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
#if canImport(Glibc)
    import Glibc
#endif

/// The agent's state, shared by the admin API, the jobs and the lifecycle: the current config and
/// its clients (swapped whole on reload), the job manager, the status service.
public final class AgentCore: Sendable {
    package let logger: Logger
    package let jobs: JobManager
    package let status: StatusService
    package let pool: BlockingPool
    package let authorizer: Authorizer
    package let startedAt = Date()
    /// Backups that running restores and verifications read (prune keeps them).
    package let backupLeases = BackupLeases()
    let environment: [String: String]
    /// The agent's own AWS calls, counted for the development DynamoDB metrics (kept across reloads).
    package let awsCalls = AWSCallCounters()
    /// Metrics, alarms and hooks (nil until `startMonitoring`, or when metrics are disabled).
    let monitoringBox = Locked<MonitoringService?>(nil)
    /// The alert hooks, whatever metrics' setting (see Capabilities/Hooks.swift).
    let hookService = HookService()
    /// The capabilities' background services: hooks, monitoring, the expiry schedule, the maintenance
    /// scheduler, in that order (members of whatifd's ServiceGroup, stopped in reverse).
    let services = BackgroundServices()
    /// The maintenance windows' clock (tests move it by hand) and what each window handled.
    package let maintenance: MaintenanceState
    /// Who did what: every mutating request and every job's start, cancellation and end.
    package let audit: AuditLog
    private let current: Locked<ServiceClients>
    private let http: HTTPClient

    package init(
        config: AgentConfig, environment: [String: String], logger: Logger, blockingThreads: Int = 4,
        clock: any MaintenanceClock = SystemMaintenanceClock()
    ) {
        self.logger = logger
        maintenance = MaintenanceState(stateDirectory: config.stateDirectory, logger: logger, clock: clock)
        self.environment = environment
        http = HTTPClient()
        pool = BlockingPool(threads: blockingThreads)
        let auditPool = pool
        audit = AuditLog(
            stateDirectory: config.stateDirectory, rotateBytes: config.auditRotateBytes, logger: logger,
            execute: { auditPool.execute($0) })
        authorizer = Authorizer(settings: config.socket)
        let calls = awsCalls
        let clients = ServiceClients(
            config: config, environment: environment, logger: logger, http: http, observer: { calls.record($0) })
        current = Locked(clients)
        let box = current
        let blocking = pool
        jobs = JobManager(
            stateDirectory: config.stateDirectory, logger: logger, config: { box.value.config },
            execute: { blocking.execute($0) })
        let jobsRef = jobs
        let started = startedAt
        status = StatusService(
            pool: pool, clients: { box.value },
            agentInfo: {
                let c = box.value.config
                return AgentInfo(
                    version: WhatIfVersion.string, pid: getpid(), environment: c.environment.rawValue,
                    startedAt: started,
                    configPath: c.path, socketPath: c.socket.path, jobsRunning: await jobsRef.runningCount)
            })
    }

    package var clients: ServiceClients { current.value }
    public var config: AgentConfig { current.value.config }

    /// Re-reads the config file. An invalid file is refused and the running config stays. The audit
    /// trail records who asked (`by`: a user, or `SIGHUP`) and the outcome.
    public func reload(by: String = "SIGHUP", uid: UInt32? = nil, role: String? = nil) async -> ReloadResult {
        let result = await reloadConfig()
        audit.record(
            AuditEntry(
                event: "config.reloaded", uid: uid, user: by, role: role, outcome: result.reloaded ? "ok" : "refused",
                message: result.reloaded
                    ? (result.restartRequired.isEmpty
                        ? nil : "takes effect after a restart: \(result.restartRequired.joined(separator: ", "))")
                    : result.problems.joined(separator: "; ")))
        await audit.recorded()
        return result
    }

    private func reloadConfig() async -> ReloadResult {
        let path = config.path
        switch ConfigLoader.load(path: path, environment: environment) {
        case .failure(let e):
            for p in e.problems { logger.error("config reload refused", metadata: ["problem": "\(p)"]) }
            logger.error("the new config is invalid; the old one keeps running", metadata: ["config": "\(path)"])
            return ReloadResult(reloaded: false, problems: e.problems.map(\.description), restartRequired: [])
        case .success(let new):
            let old = config
            var restart: [String] = []
            if new.socket.path != old.socket.path { restart.append("socket.path") }
            if new.socket.mode != old.socket.mode { restart.append("socket.mode") }
            if new.socket.group != old.socket.group { restart.append("socket.group") }
            if new.stateDirectory != old.stateDirectory { restart.append("state_dir") }
            if new.monitoring.listenAddress != old.monitoring.listenAddress { restart.append("metrics.listen") }
            if new.auditRotateBytes != old.auditRotateBytes { restart.append("audit.rotate_size") }
            if new.monitoring.settings.retention != old.monitoring.settings.retention {
                restart.append("metrics.retention")
            }
            let calls = awsCalls
            current.set(
                ServiceClients(
                    config: new, environment: environment, logger: logger, http: http, observer: { calls.record($0) }))
            configureHooks()
            configureMonitoring()
            authorizer.update(new.socket)
            status.invalidate()
            logger.info(
                "config reloaded",
                metadata: ["config": "\(path)", "restart_required": "\(restart.joined(separator: ","))"])
            return ReloadResult(reloaded: true, problems: [], restartRequired: restart)
        }
    }
}
