import ArgumentParser
import WhatIfClient
import WhatIfProtocol

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
#if canImport(Glibc)
    import Glibc
#endif

@main
struct WhatIfCtl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "whatifctl",
        abstract: "Talk to whatifd, the What If Generator data-tier agent.",
        discussion: """
            Exit statuses: 0 success; 1 the operation failed (a job failed, a service is down); 64 bad usage;
            65 the agent refused the request; 66 not found; 69 whatifd is not running; 70 agent error;
            75 busy (a job holds the resource); 77 permission denied; 78 configuration (the agent's config
            lacks what the request needs); 124 whatifd did not answer within --timeout. See whatifctl(1).

            The global options --socket, --json and --timeout go before or after the subcommand:
            `whatifctl --socket /run/whatif/agent.sock status` is `whatifctl status --socket ...`.
            """,
        version: WhatIfVersion.string,
        subcommands: [
            Status.self, Backup.self, Backups.self, Restore.self, Jobs.self, Metrics.self, Alarms.self, Redis.self,
            Postgres.self, Tables.self, Migrate.self, Preflight.self, Maintenance.self,
            Config.self, Audit.self, Report.self,
            Version.self, WhoAmI.self,
        ])

    /// The global options given before the subcommand move behind it, where every subcommand takes them;
    /// a `--watch` without a number gets the default interval.
    static func main() {
        main(WatchOptions.normalizing(hoistingGlobalOptions(Array(CommandLine.arguments.dropFirst()))))
    }

    /// `--socket S --json status` -> `status --socket S --json`: global options (with their values) that
    /// come before the first word that is not an option are moved to the end (before a `--`).
    static func hoistingGlobalOptions(_ args: [String]) -> [String] {
        let withValue: Set = ["--socket", "--timeout", "--color"]
        let flags: Set = ["--json"]
        var hoisted: [String] = []
        var i = 0
        while i < args.count {
            let a = args[i]
            let name = a.split(separator: "=", maxSplits: 1).first.map(String.init) ?? a
            if flags.contains(a) {
                hoisted.append(a)
                i += 1
            } else if withValue.contains(name) && a.contains("=") {
                hoisted.append(a)
                i += 1
            } else if withValue.contains(a), i + 1 < args.count {
                hoisted += [a, args[i + 1]]
                i += 2
            } else {
                break
            }
        }
        guard !hoisted.isEmpty, i < args.count else { return args }
        var rest = Array(args[i...])
        let end = rest.firstIndex(of: "--") ?? rest.count
        rest.insert(contentsOf: hoisted, at: end)
        return rest
    }
}

struct GlobalOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp("The agent's socket (default: $WHATIF_SOCKET or /run/whatif/agent.sock).", valueName: "path")
    )
    var socket: String?

    @Flag(name: .long, help: "Print JSON instead of tables.")
    var json = false

    @Option(name: .long, help: ArgumentHelp("Seconds to wait for the agent's answer.", valueName: "seconds"))
    var timeout: Double = 30

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Colour states in tables: auto (on a terminal, unless NO_COLOR is set or TERM is dumb), always, never.",
            valueName: "when"))
    var color: ColorMode = .auto

    mutating func validate() throws {
        Out.colorize = color.enabled(stdoutIsTTY: Out.stdoutIsTTY)
    }

    var client: AgentClient { AgentClient(socketPath: Self.socketPath(socket), timeout: timeout) }

    /// The socket to use: the one given, else $WHATIF_SOCKET, else the default.
    static func socketPath(_ given: String?) -> String {
        given ?? getenv("WHATIF_SOCKET").map { String(cString: $0) } ?? AgentClient.defaultSocket
    }
}

enum ColorMode: String, ExpressibleByArgument, CaseIterable {
    case auto, always, never

    /// The flag wins over NO_COLOR (no-color.org); auto colours only a terminal that is not dumb.
    func enabled(stdoutIsTTY: Bool) -> Bool {
        switch self {
        case .always: return true
        case .never: return false
        case .auto:
            let noColor = getenv("NO_COLOR").map { String(cString: $0) }.map { !$0.isEmpty } ?? false
            let dumb = getenv("TERM").map { String(cString: $0) } == "dumb"
            return stdoutIsTTY && !noColor && !dumb
        }
    }
}

/// The options of every command that starts a job.
struct JobOptions: ParsableArguments {
    @Flag(help: "Print the job (its id; with --json, its record) and return at once.")
    var detach = false

    @Flag(
        help: """
            Print the job's events as they come, one JSON object per line (NDJSON), instead of following \
            it in words; --json prints only the final record.
            """)
    var events = false
}

/// Every destructive action the same way: with --yes it goes ahead; on a terminal it asks (anything but
/// y/yes is no: exit 1, nothing done); without a terminal and without --yes it refuses with exit 64.
func confirmDestructive(_ what: String, yes: Bool) throws {
    if yes { return }
    guard isatty(0) == 1, isatty(2) == 1 else {
        Out.err("whatifctl: \(what); pass --yes to go ahead (there is no terminal to ask on)")
        throw ExitCode(ExitStatus.usage.rawValue)
    }
    Out.errRaw("\(what). Go ahead? [y/N] ")
    guard ["y", "yes"].contains((readLine() ?? "").filter { !$0.isWhitespace }.lowercased()) else {
        Out.err("whatifctl: nothing was done")
        throw ExitCode(ExitStatus.failure.rawValue)
    }
}

/// Runs a client call; on failure prints a plain message and exits with the matching status.
func perform<T>(_ body: () throws -> T) throws -> T {
    try perform(flags: [:], body)
}

/// As `perform`; the agent's words for a query parameter (`since=2w`) become the option the user typed
/// (`--since 2w`) in the message and hint, so an error speaks the command line's language.
func perform<T>(flags: [String: String], _ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let e as ClientError {
        var text = e.description
        for (parameter, flag) in flags { text = text.replacing("\(parameter)=", with: "\(flag) ") }
        Out.err("whatifctl: \(text)")
        throw ExitCode(e.exitStatus.rawValue)
    }
}

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show the agent and every configured service: reachability, round trip, version, state.",
        discussion:
            "Exits 0 when every service answers, 1 when one is down or timed out, 69 when whatifd is not running.")

    @OptionGroup var global: GlobalOptions
    @Flag(help: "Probe now instead of accepting a report up to status.max_age old.")
    var fresh = false
    @OptionGroup var watch: WatchOptions

    func validate() throws { try watch.validate(json: global.json) }

    func run() throws { try watch.repeating { try show() } }

    func show() throws {
        var report = try perform { try global.client.status(fresh: fresh) }
        // Who holds which fleet lease (best effort: an agent without a fleet, or an older one, has none).
        if let l = try? global.client.maintenanceLeases(), l.table != nil { report.leases = l }
        if global.json {
            try Out.json(report)
        } else {
            StatusView.print(report)
        }
        if !report.allReachable { throw ExitCode(ExitStatus.failure.rawValue) }
    }
}

struct Version: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "version", abstract: "Show whatifctl's version and the agent's.")
    @OptionGroup var global: GlobalOptions

    func run() throws {
        let agent: VersionInfo?
        var problem: String?
        do { agent = try global.client.version() } catch let e as ClientError {
            agent = nil
            problem = e.description
        }
        if global.json {
            struct Both: Encodable {
                var client: VersionInfo
                var agent: VersionInfo?
            }
            try Out.json(Both(client: VersionInfo(), agent: agent))
        } else {
            Out.line("whatifctl \(WhatIfVersion.string) (API \(WhatIfVersion.api))")
            if let agent {
                Out.line("whatifd   \(agent.version) (API \(agent.api))")
            } else {
                Out.line("whatifd   unknown: \(problem ?? "")")
            }
        }
    }
}

struct Audit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Show who did what: admin requests, job starts, cancellations and ends, config reloads.",
        discussion: """
            The agent records every request that can change something (answered or refused: the caller's \
            uid, user and role, the route, the body with secrets redacted, the status and the job it \
            started), every job's start, cancellation and end, and every reload, to the journal \
            (journalctl MESSAGE_ID=\(AuditEntry.messageID)) and to a hash-chained log under the state \
            directory. Readers may read it. Exits 1 when the chain is broken (a line removed, changed or \
            cut), naming where.
            """)
    @OptionGroup var global: GlobalOptions
    @Option(
        help: ArgumentHelp("Entries since a time (RFC 3339) or a duration back from now (2h, 7d).", valueName: "when"))
    var since: String?
    @Option(help: ArgumentHelp("Only this user (a name, or 'uid N').", valueName: "name")) var user: String?
    @Option(help: ArgumentHelp("The newest N entries that match (200).", valueName: "n")) var limit: Int?

    func validate() throws {
        if let l = limit, !(1...100_000).contains(l) { throw ValidationError("--limit takes 1 to 100000") }
    }

    func run() throws {
        let list = try perform { try global.client.audit(since: since, user: user, limit: limit) }
        for p in list.problems { Out.err("whatifctl: the audit trail is broken: \(p)") }
        if global.json {
            try Out.json(list)
        } else if list.entries.isEmpty {
            Out.line("no audit entries" + (since != nil || user != nil ? " match" : ""))
        } else {
            Out.table(
                ["TIME", "SEQ", "WHO", "EVENT", "WHAT", "OUTCOME"],
                list.entries.map { e in
                    var what = e.route ?? e.kind ?? ""
                    if e.route != nil, let k = e.kind { what += " \(k)" }
                    if let j = e.jobId { what += " job \(j)" }
                    let who = e.user ?? e.uid.map { "uid \($0)" } ?? "-"
                    return [
                        e.time, String(e.seq), e.role.map { "\(who) (\($0))" } ?? who, e.event,
                        what.isEmpty ? "-" : what,
                        e.outcome + (e.message.map { ": \($0)" } ?? ""),
                    ]
                })
            if list.matched > list.entries.count {
                Out.err("showing the newest \(list.entries.count) of \(list.matched); --limit or --since for others")
            }
        }
        if !list.verified { throw ExitCode(ExitStatus.failure.rawValue) }
    }
}

struct WhoAmI: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "whoami", abstract: "Show how the agent sees you: your user and your role (admin, reader).")
    @OptionGroup var global: GlobalOptions

    func run() throws {
        let me = try perform { try global.client.whoami() }
        if global.json {
            try Out.json(me)
        } else {
            Out.line("\(me.user ?? "uid \(me.uid)") (uid \(me.uid), pid \(me.pid)): \(me.role.rawValue)")
        }
    }
}

struct Config: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Show the running configuration (no secrets), or reload it.", subcommands: [Show.self, Reload.self],
        defaultSubcommand: Show.self)

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "show",
            abstract: "Print the running configuration as YAML, each setting with where it came from.",
            discussion: """
                Every effective setting, under the key it has in agent.yaml, defaults included; after each, \
                its source: file, env NAME (an environment variable such as RDS_POSTGRES_HOST), default, or \
                derived from KEY. Passwords and header values are <redacted>; files holding secrets are named. \
                --json prints {"path", "settings", "sources"}, sources keyed by dotted path (postgres.host).
                """)
        @OptionGroup var global: GlobalOptions
        func run() throws {
            let c = try perform { try global.client.config() }
            if global.json {
                try Out.json(c)
            } else {
                Out.raw(ConfigYAML.render(c))
            }
        }
    }

    struct Reload: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "reload",
            abstract: "Re-read the config file (like SIGHUP). An invalid file is refused; the old config keeps running."
        )
        @OptionGroup var global: GlobalOptions
        func run() throws {
            let r = try perform { try global.client.reloadConfig() }
            if !r.reloaded {
                if global.json {
                    try Out.json(r)
                } else {
                    Out.err("whatifctl: the new config was refused; the old one keeps running:")
                    for p in r.problems { Out.err("  \(p)") }
                }
                throw ExitCode(ExitStatus.config.rawValue)
            }
            if global.json {
                try Out.json(r)
            } else {
                Out.line("config reloaded")
                if !r.restartRequired.isEmpty {
                    Out.line("these changes take effect after a restart: \(r.restartRequired.joined(separator: ", "))")
                }
            }
        }
    }
}
