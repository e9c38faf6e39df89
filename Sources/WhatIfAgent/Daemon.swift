import CLinuxShims
import Logging
import NIOCore
import ServiceLifecycle
import UnixSignals
import WhatIfCore
import WhatIfMaintenance
import WhatIfProtocol
import WhatIfSystemd

#if canImport(Glibc)
    import Glibc
#endif

/// whatifd's life: start serving, tell systemd, reload on SIGHUP, drain and stop on SIGTERM.
public final class Daemon: Sendable {
    public let core: AgentCore
    let server: AdminServer
    /// `metrics.listen`'s listener, when configured.
    let metricsListener = Locked<MetricsListener?>(nil)
    /// The admin API's routes (tests drive them directly with chosen roles).
    package var router: Router { server.router }
    let logger: Logger
    /// Job kinds the capabilities provide.
    let kinds: [JobKind]
    /// A job has this long to checkpoint or finish after SIGTERM (systemd's stop timeout is longer).
    package static let shutdownGrace = 7.0
    /// The running group (nil before `startGroup` and after the stop).
    let group = Locked<(group: ServiceGroup, task: Task<Void, Never>)?>(nil)

    /// `extraKinds` come on top of the capabilities' own (tests add theirs).
    /// `clock` is the maintenance windows' clock (tests pass a `ManualClock`).
    package init(
        config: AgentConfig, environment: [String: String], logger: Logger, extraKinds: [JobKind] = [],
        clock: any MaintenanceClock = SystemMaintenanceClock()
    ) {
        self.logger = logger
        core = AgentCore(config: config, environment: environment, logger: logger, clock: clock)
        kinds = JobKinds.builtIn(core) + extraKinds
        server = AdminServer(core: core, router: Router(agent: core))
    }

    /// The daemon with the capabilities' job kinds on the system clock (the fuzz package's way in).
    public convenience init(config: AgentConfig, environment: [String: String], logger: Logger) {
        self.init(
            config: config, environment: environment, logger: logger, extraKinds: [], clock: SystemMaintenanceClock())
    }

    /// The logging backend whatifd uses: the journal (structured fields) when systemd connected stderr
    /// to it, stderr otherwise.
    package static func bootstrapLogging(level: Logger.Level) {
        let journal = Systemd.stderrIsJournal
        LoggingSystem.bootstrap { label in
            var h: any LogHandler =
                journal ? JournalLogHandler(label: label) : StreamLogHandler.standardError(label: label)
            h.logLevel = level
            return h
        }
    }

    /// Lets the agent hold as many connections as it may accept.
    static func raiseFileLimit() {
        var l = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &l) == 0, l.rlim_cur < l.rlim_max {
            l.rlim_cur = l.rlim_max
            _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &l)
        }
    }

    /// Registers the job kinds, restores the job history, prepares the capabilities' background
    /// services and starts serving on `adoptedFD` or the configured socket path. The background
    /// services run, and everything is stopped, by the group (`startGroup`, `run`).
    public func start(adoptedFD: Int32? = nil) async throws {
        Self.raiseFileLimit()
        whatif_malloc_tune()
        signal(SIGPIPE, SIG_IGN)
        for k in kinds { await core.jobs.register(k) }
        let audit = core.audit
        _ = try? await Threads.run { audit.open() }
        await core.jobs.setAudit { audit.record($0) }
        try await core.jobs.restore()
        core.backups().removeLeftovers()
        MigrationJobs.removeLeftovers(core)
        await core.startHooks()
        try await core.startMonitoring()
        core.startExpirySchedule()
        try await server.start(adoptedFD: adoptedFD)
        if let address = core.config.monitoring.listenAddress {
            let core = self.core
            let listener = MetricsListener(address: address, group: server.group, logger: logger) {
                core.monitoring?.prometheusText()
            }
            try await listener.start()
            metricsListener.set(listener)
        }
        core.startMaintenanceSchedule()
    }

    /// whatifd as one `ServiceGroup`, its members in the order `start` brought them up; the group's
    /// graceful shutdown stops them in reverse, each once the one after it has returned: the socket
    /// stops taking connections, jobs checkpoint (or are recorded interrupted after the grace), the
    /// maintenance scheduler, the expiry schedule, monitoring and the hooks stop (the hooks deliver
    /// what is queued), open connections close, the blocking pool ends. `signals` start that
    /// (SIGTERM and SIGINT for whatifd; none in tests, which call `stop`).
    func makeGroup(boundPath: String?, signals: [UnixSignal]) -> ServiceGroup {
        let core = self.core
        let server = self.server
        let logger = self.logger
        var members: [any Service & CustomStringConvertible] = [
            StartedPart("blocking pool") { await core.pool.shutdown() },
            StartedPart("admin connections") { await server.shutdown() },
        ]
        members += core.services.all
        members += [
            StartedPart("jobs") { await core.jobs.shutdown(grace: Self.shutdownGrace) },
            StartedPart("metrics listener") { [metricsListener] in await metricsListener.value?.stop() },
            StartedPart("admin socket") {
                let running = await core.jobs.runningCount
                logger.notice("stopping", metadata: ["jobs_running": "\(running)"])
                Systemd.stopping(
                    status: running > 0 ? "stopping: waiting for \(running) job(s) to checkpoint" : "stopping")
                await server.stopAccepting()
                if let boundPath { unlink(boundPath) }
            },
        ]
        return ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: members.map { .init(service: $0, serviceName: $0.description) },
                gracefulShutdownSignals: signals, logger: logger))
    }

    /// Starts the agent and runs its group in the background until `stop` or one of `signals`.
    package func startGroup(adoptedFD: Int32? = nil, boundPath: String?, signals: [UnixSignal] = []) async throws {
        try await start(adoptedFD: adoptedFD)
        let g = makeGroup(boundPath: boundPath, signals: signals)
        let logger = self.logger
        let task = Task {
            do { try await g.run() } catch { logger.error("the service group ended", metadata: ["error": "\(error)"]) }
        }
        group.set((g, task))
    }

    /// Runs until SIGTERM or SIGINT (the group's graceful shutdown); SIGHUP reloads the config.
    /// Throws when the agent cannot start.
    package func run() async throws {
        let adopted = Systemd.listenFileDescriptors()
        if adopted.count > 1 {
            logger.warning(
                "systemd passed more than one socket; using the first", metadata: ["count": "\(adopted.count)"])
        }
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        let config = core.config
        try await startGroup(
            adoptedFD: adopted.first, boundPath: adopted.isEmpty ? config.socket.path : nil,
            signals: [.sigterm, .sigint])
        let socketDescription = adopted.isEmpty ? config.socket.path : "the socket systemd passed"
        Systemd.ready(status: "serving on \(socketDescription)")
        logger.notice(
            "whatifd \(WhatIfVersion.string) ready",
            metadata: [
                "environment": "\(config.environment.rawValue)", "config": "\(config.path)", "pid": "\(getpid())",
            ])
        let watchdog = Task { await self.watchdog(socket: socketDescription) }
        let core = self.core
        let reloads = Task {
            for await _ in hangups {
                Systemd.notify("RELOADING=1\nSTATUS=reloading \(config.path)")
                let r = await core.reload()
                Systemd.notify(
                    "READY=1\nSTATUS="
                        + (r.reloaded
                            ? "config reloaded; serving on \(socketDescription)"
                            : "new config refused (see the log); the old one keeps running"))
            }
        }
        await group.value?.task.value
        reloads.cancel()
        watchdog.cancel()
        group.set(nil)
        logger.notice("stopped")
    }

    /// Stops an agent started with `startGroup` through its group's graceful shutdown (see
    /// `makeGroup`); returns once everything has stopped.
    package func stop() async {
        guard let (g, task) = group.value else { return }
        await g.triggerGracefulShutdown()
        await task.value
        group.set(nil)
        logger.notice("stopped")
    }

    /// Pings systemd's watchdog at half its interval, but only while the event loop answers:
    /// a wedged agent stops pinging and systemd restarts it.
    func watchdog(socket: String) async {
        let interval = Systemd.watchdogInterval
        var lastStatus = ""
        let period = interval.map { $0 / 2 } ?? 15
        while !Task.isCancelled {
            if interval != nil {
                let loop = server.group.next()
                let alive = try? await withTimeout(seconds: max(0.5, period)) { try await loop.submit { true }.get() }
                if alive == true {
                    Systemd.watchdogPing()
                } else {
                    logger.error("event loop did not answer; not pinging the watchdog")
                }
            }
            let jobs = await core.jobs.runningCount
            let status = "serving on \(socket); \(jobs) job\(jobs == 1 ? "" : "s") running"
            if status != lastStatus {
                Systemd.status(status)
                lastStatus = status
            }
            try? await Task.sleep(for: .milliseconds(Int(period * 1000)))
        }
    }
}

/// Runs `body`, giving up after `seconds`.
func withTimeout<T: Sendable>(seconds: Double, _ body: @escaping @Sendable () async throws -> T) async throws -> T? {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: .milliseconds(Int(seconds * 1000)))
            return nil
        }
        let first = try await group.next() ?? nil
        group.cancelAll()
        return first
    }
}
