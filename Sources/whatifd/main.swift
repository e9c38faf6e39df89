import CLinuxShims
import Dispatch
import Logging
import WhatIfAgent
import WhatIfCore
import WhatIfProtocol

#if canImport(Glibc)
    import Glibc
#endif

// whatifd's command line is four options, parsed by hand: swift-argument-parser builds its model by
// reflection at every start, which a resident daemon pays for in memory for its whole life.

let usage = """
    USAGE: whatifd [--config <path>] [--check-config]

    The What If Generator data-tier agent: status, backups, alarms, Redis expiry, migrations.

    Runs in the foreground (systemd starts it as whatifd.service). Serves the admin API on a Unix
    socket; whatifctl(1) is its client. SIGHUP re-reads the config (an invalid one is refused and the
    old one keeps running); SIGTERM stops it after running jobs checkpoint or finish.

    OPTIONS:
      -c, --config <path>     The configuration file. (default: \(ConfigLoader.defaultPath))
      --check-config          Check the configuration, report every problem as file:line, and exit
                              (78 if any).
      --version               Show the version.
      -h, --help              Show help information.

    EXIT STATUS: 0 stopped cleanly; 1 failed at run time; 64 bad usage; 78 bad configuration.
    See whatifd(8) and whatif-agent.yaml(5).

    """

func printError(_ s: String) {
    var line = s + "\n"
    line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
}

func environment() -> [String: String] {
    var out: [String: String] = [:]
    var p = environ
    while let entry = p.pointee {
        let s = String(cString: entry)
        if let eq = s.firstIndex(of: "=") { out[String(s[..<eq])] = String(s[s.index(after: eq)...]) }
        p += 1
    }
    return out
}

_ = whatif_install_crash_logger("whatifd: ")
var configPath = ConfigLoader.defaultPath
var checkConfig = false
var args = CommandLine.arguments.dropFirst()
while let arg = args.popFirst() {
    switch arg {
    case "-c", "--config":
        guard let v = args.popFirst() else {
            printError("whatifd: --config needs a path\n\n\(usage)")
            exit(ExitStatus.usage.rawValue)
        }
        configPath = v
    case let a where a.hasPrefix("--config="):
        configPath = String(a.dropFirst("--config=".count))
    case "--check-config":
        checkConfig = true
    case "--version":
        print(WhatIfVersion.string)
        exit(0)
    case "-h", "--help":
        print(usage, terminator: "")
        exit(0)
    default:
        printError("whatifd: unknown option '\(arg)'\n\n\(usage)")
        exit(ExitStatus.usage.rawValue)
    }
}

let env = environment()
let loaded = ConfigLoader.load(path: configPath, environment: env)
if checkConfig {
    switch loaded {
    case .success(let c):
        print("\(configPath): OK (environment \(c.environment.rawValue), region \(c.region), socket \(c.socket.path))")
        exit(0)
    case .failure(let e):
        for p in e.problems { printError(p.description) }
        printError("\(e.problems.count) problem\(e.problems.count == 1 ? "" : "s") in \(configPath)")
        exit(ExitStatus.config.rawValue)
    }
}
guard case .success(let config) = loaded else {
    if case .failure(let e) = loaded { for p in e.problems { printError(p.description) } }
    printError("whatifd: not started: fix the configuration (whatifd --check-config lists the problems)")
    exit(ExitStatus.config.rawValue)
}

Daemon.bootstrapLogging(level: config.logLevel)
let logger = Logger(label: "whatifd")
let daemon = Daemon(config: config, environment: env, logger: logger)
// The main thread waits for the daemon. (An async main would end in dispatch_main(), which
// pthread_exits the main thread: that forced unwind walks the whole unwind table, megabytes for nothing.)
let failure = Locked<String?>(nil)
let done = DispatchSemaphore(value: 0)
Task.detached {
    do { try await daemon.run() } catch { failure.set("\(error)") }
    done.signal()
}
done.wait()
if let f = failure.value {
    logger.critical("whatifd is exiting: \(f)", metadata: ["status": "\(ExitStatus.failure.rawValue)"])
    exit(ExitStatus.failure.rawValue)
}
logger.notice("whatifd is exiting", metadata: ["status": "0"])
exit(0)
