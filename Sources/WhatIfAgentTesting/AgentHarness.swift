import Foundation
import Logging
import WhatIfAgent
import WhatIfClient
import WhatIfCore
import WhatIfMaintenance
import WhatIfProtocol
import WhatIfTesting

/// Writes an agent config for tests: the shared stack's services, a private socket and state folder.
package struct TestConfig: Sendable {
    package var environment = "development"
    /// nil: the agent's default (0666, roles from SO_PEERCRED).
    package var socketMode: String?
    package var extraSocket = ""
    package var postgres: String?
    package var redis: String?
    package var dynamodb: String?
    package var aws: String?
    package var status = "  timeout: 3s\n  max_age: 1s\n"
    /// The `backups:` section's body (indented two spaces), if any.
    package var backups: String?
    /// The `metrics:` and `hooks:` sections' bodies, and the `alarms:` list (indented two spaces).
    package var metrics: String?
    package var hooks: String?
    package var alarms: String?
    /// The `expiry:` section's body.
    package var expiry: String?
    /// The `migration:` section's body.
    package var migration: String?
    /// The `maintenance:` section's body.
    package var maintenance: String?
    /// The `elasticache:` section's body.
    package var elasticache: String?
    /// The `rds:` section's body.
    package var rds: String?
    /// `log.level` (info when nil).
    package var logLevel: String?

    package init() {}

    /// Points every service at `stack`.
    package static func forStack(_ stack: StackInfo, table: String = "what-if-generator-scenarios-development")
        -> TestConfig
    {
        var c = TestConfig()
        c.postgres = """
              host: 127.0.0.1
              port: \(stack.pgPort)
              database: what_if_users
              user: postgres
              password_file: \(stack.pgPasswordFile)
              sslmode: prefer

            """
        c.redis = "  url: redis://127.0.0.1:\(stack.redisPort)/0\n"
        c.dynamodb = "  table: \(table)\n"
        c.aws = """
              endpoint: \(stack.motoEndpoint)
              credentials_file: \(stack.awsCredentialsFile)
              profile: \(stack.awsProfile)
              max_attempts: 3

            """
        return c
    }

    package func render(socket: String, stateDir: String) -> String {
        var y = "environment: \(environment)\nregion: us-east-1\nstate_dir: \(stateDir)\n"
        y += "socket:\n  path: \(socket)\n" + (socketMode.map { "  mode: \"\($0)\"\n" } ?? "") + extraSocket
        y += "status:\n\(status)"
        y += "postgres:\n" + (postgres ?? "  enabled: false\n")
        y += "redis:\n" + (redis ?? "  enabled: false\n")
        y += "dynamodb:\n" + (dynamodb ?? "  enabled: false\n")
        if let aws { y += "aws:\n" + aws }
        if let backups { y += "backups:\n" + backups }
        if let metrics { y += "metrics:\n" + metrics }
        if let hooks { y += "hooks:\n" + hooks }
        if let alarms { y += "alarms:\n" + alarms }
        if let expiry { y += "expiry:\n" + expiry }
        if let migration { y += "migration:\n" + migration }
        if let maintenance { y += "maintenance:\n" + maintenance }
        if let elasticache { y += "elasticache:\n" + elasticache }
        if let rds { y += "rds:\n" + rds }
        if let logLevel { y += "log:\n  level: \(logLevel)\n" }
        return y
    }
}

/// An agent running inside the test process, serving a real Unix socket, with test job kinds.
package final class InProcessAgent: @unchecked Sendable {
    package let dir: TempDir
    package let daemon: Daemon
    package let socket: String
    package let configPath: String

    /// `clock` drives the maintenance windows; `prepare` runs on the state folder before the agent starts
    /// (tests seed job history or window state there).
    package init(
        _ config: TestConfig, kinds: [JobKind] = TestJobKinds.all,
        clock: any MaintenanceClock = SystemMaintenanceClock(), prepare: (String) throws -> Void = { _ in }
    ) async throws {
        dir = TempDir("whatif-agent")
        socket = dir.file("agent.sock")
        configPath = try dir.write("agent.yaml", config.render(socket: socket, stateDir: dir.file("state")))
        let loaded: AgentConfig
        switch ConfigLoader.load(path: configPath, environment: [:]) {
        case .success(let c): loaded = c
        case .failure(let e): throw TestFailure("test config: \(e)")
        }
        var logger = Logger(label: "whatifd-test")
        logger.logLevel = .warning
        try prepare(dir.file("state"))
        daemon = Daemon(config: loaded, environment: [:], logger: logger, extraKinds: kinds, clock: clock)
        try await daemon.startGroup(boundPath: socket)
    }

    /// A client of this agent; calling it on a Swift task throws (the agent answers on those threads:
    /// use `call`, `offPool` or the async `eventually`).
    package var client: AgentClient {
        var c = AgentClient(socketPath: socket, timeout: 30)
        c.beforeEachCall = { try CooperativePool.refuseBlocking("a call to an in-process agent") }
        return c
    }

    /// Calls the agent through its socket from a thread of its own (see `offPool`).
    package func call<T: Sendable>(_ body: @escaping @Sendable (AgentClient) throws -> T) async throws -> T {
        let c = client
        return try await offPool { try body(c) }
    }

    package func stop() async { await daemon.stop() }
}

/// A whatifd process started from the built binary.
package final class AgentProcess: @unchecked Sendable {
    package let dir: TempDir
    package let socket: String
    package let configPath: String
    package let process: BackgroundProcess

    package init(
        _ config: TestConfig, environment: [String: String] = [:], arguments: [String] = [], waitReady: Bool = true,
        stateDir: String? = nil
    ) throws {
        try CooperativePool.refuseBlockingInStrictMode("starting whatifd (AgentProcess)")
        dir = TempDir("whatif-agentd")
        chmod(dir.path, 0o755)
        socket = dir.file("agent.sock")
        /// `stateDir` lets a second agent take over the state of one that was killed.
        configPath = try dir.write("agent.yaml", config.render(socket: socket, stateDir: stateDir ?? dir.file("state")))
        var env = ProcessInfo.processInfo.environment
        env["NOTIFY_SOCKET"] = nil
        env["WATCHDOG_USEC"] = nil
        env["JOURNAL_STREAM"] = nil
        env["LISTEN_FDS"] = nil
        for (k, v) in environment { env[k] = v }
        process = try BackgroundProcess(
            [TestPaths.binary("whatifd"), "--config", configPath] + arguments, environment: env,
            logPath: dir.file("whatifd.log"))
        if waitReady {
            let socket = self.socket
            let up = eventually(timeout: 20) { (try? AgentClient(socketPath: socket, timeout: 2).version()) != nil }
            guard up else { throw TestFailure("whatifd did not come up: \(process.log)") }
        }
    }

    package var client: AgentClient { AgentClient(socketPath: socket, timeout: 30) }

    /// Runs whatifctl against this agent.
    package func ctl(_ args: [String], as user: String? = nil) throws -> CommandResult {
        let argv = [TestPaths.binary("whatifctl")] + args
        let env = ["WHATIF_SOCKET": socket, "PATH": "/usr/bin:/bin"]
        if let user {
            return try Run.command(
                ["/usr/sbin/runuser", "-u", user, "--", "/usr/bin/env", "WHATIF_SOCKET=\(socket)"] + argv)
        }
        return try Run.command(argv, environment: env)
    }

    deinit {
        if process.isRunning {
            process.signal(SIGTERM)
            if process.wait(timeout: 15) == nil { process.signal(SIGKILL) }
        }
    }
}
