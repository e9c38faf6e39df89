import ArgumentParser
import Logging
import WhatIfAgent
import WhatIfProtocol

#if canImport(Glibc)
    import Glibc
#endif

@main
struct WhatIfD: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "whatifd",
        abstract: "The What If Generator data-tier agent: status, backups, alarms, Redis expiry, migrations.",
        discussion: """
            Runs in the foreground (systemd starts it as whatifd.service). Serves the admin API on a Unix
            socket; whatifctl(1) is its client. SIGHUP re-reads the config (an invalid one is refused and the
            old one keeps running); SIGTERM stops it after running jobs checkpoint or finish.

            Exit statuses: 0 stopped cleanly; 1 failed at run time; 64 bad usage; 78 bad configuration.
            See whatifd(8) and whatif-agent.yaml(5).
            """,
        version: WhatIfVersion.string)

    @Option(name: .shortAndLong, help: ArgumentHelp("The configuration file.", valueName: "path"))
    var config: String = ConfigLoader.defaultPath

    @Flag(help: "Check the configuration, report every problem as file:line, and exit (78 if any).")
    var checkConfig = false

    func run() async throws {
        let environment = Environment.current
        let loaded = ConfigLoader.load(path: config, environment: environment)
        if checkConfig {
            switch loaded {
            case .success(let c):
                print(
                    "\(config): OK (environment \(c.environment.rawValue), region \(c.region), socket \(c.socket.path))"
                )
                return
            case .failure(let e):
                for p in e.problems { printError(p.description) }
                printError("\(e.problems.count) problem\(e.problems.count == 1 ? "" : "s") in \(config)")
                throw ExitCode(ExitStatus.config.rawValue)
            }
        }
        let cfg: AgentConfig
        switch loaded {
        case .success(let c): cfg = c
        case .failure(let e):
            for p in e.problems { printError(p.description) }
            printError("whatifd: not started: fix the configuration (whatifd --check-config lists the problems)")
            throw ExitCode(ExitStatus.config.rawValue)
        }
        Daemon.bootstrapLogging(level: cfg.logLevel)
        let logger = Logger(label: "whatifd")
        let daemon = Daemon(config: cfg, environment: environment, logger: logger, kinds: JobKinds.all)
        do {
            try await daemon.run()
        } catch {
            logger.critical("whatifd could not start: \(error)")
            throw ExitCode(ExitStatus.failure.rawValue)
        }
    }
}

func printError(_ s: String) {
    var line = s + "\n"
    line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
}

enum Environment {
    static var current: [String: String] {
        var out: [String: String] = [:]
        var p = environ
        while let entry = p.pointee {
            let s = String(cString: entry)
            if let eq = s.firstIndex(of: "=") { out[String(s[..<eq])] = String(s[s.index(after: eq)...]) }
            p += 1
        }
        return out
    }
}
