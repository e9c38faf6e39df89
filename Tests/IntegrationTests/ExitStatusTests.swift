import Foundation
import Testing
import WhatIfAgentTesting
import WhatIfClient
import WhatIfCore
import WhatIfProtocol
import WhatIfTesting

/// One exit-status table, enforced: the statuses whatifctl(1) documents are the ones WhatIfProtocol.ExitStatus has,
/// and every subcommand (read from whatifctl's own command tree, so a new one cannot be missed) is
/// walked through bad usage, agent down, agent silent, an outsider, a reader, and its not-found,
/// invalid, config-problem, busy and success paths.
@Suite(.serialized) struct ExitStatusTests {
    let stack: StackInfo
    init() throws { stack = try Stack.shared() }

    static let missingBackup = "postgres-20200101T000000Z-abcd"

    /// Every subcommand: the arguments of a well-formed call, and what a reader gets for it (77 for
    /// what only admins may do; otherwise the status of that call).
    static let commands: [String: (args: [String], reader: Int32)] = [
        "status": ([], 0),
        "backup": ([], 77),
        "backups": ([], 0),
        "backups list": ([], 0),
        "backups show": ([missingBackup], 66),
        "backups verify": (["--all"], 77),
        "backups prune": (["--dry-run"], 77),
        "backups pin": ([missingBackup], 77),
        "backups unpin": ([missingBackup], 77),
        "restore postgres": ([missingBackup, "--target-db", "exit_status_x"], 77),
        "restore dynamodb": ([missingBackup, "--target-table", "exit-status-x"], 77),
        "restore rds": (["--to-time", "latest", "--target-instance", "exit-status-x"], 77),
        "jobs": ([], 0),
        "jobs list": ([], 0),
        "jobs show": (["20200101000000-backup-abcd"], 66),
        "jobs follow": (["20200101000000-backup-abcd"], 66),
        "jobs logs": (["20200101000000-backup-abcd"], 66),
        "jobs cancel": (["20200101000000-backup-abcd"], 77),
        "jobs start": (["backup.prune", "--params", #"{"dryRun": true}"#], 77),
        "jobs kinds": ([], 0),
        "metrics": ([], 0),
        "alarms": ([], 0),
        "alarms list": ([], 0),
        "alarms history": (["no-such-alarm"], 66),
        "alarms test": (["no-such-receiver"], 77),
        "alarms silence": (["no-such-alarm", "--for", "1h"], 77),
        "alarms unsilence": (["no-such-alarm"], 77),
        "alarms ack": (["no-such-alarm"], 77),
        "alarms set-state": (["no-such-alarm", "--state", "ALARM", "--reason", "test"], 77),
        "redis expiry": ([], 77),
        "redis slowlog": ([], 0),
        "redis latency": ([], 0),
        "postgres top": ([], 78),
        "tables setup": (["development"], 77),
        "tables template": ([], 0),
        "migrate scenarios": (["--from", "/nonexistent/dump"], 77),
        "migrate verify": (["--from", "/nonexistent/dump"], 77),
        "migrate postgres": (["--dry-run"], 77),
        "preflight": ([], 77),
        "maintenance": ([], 0),
        "maintenance list": ([], 0),
        "maintenance next": ([], 0),
        "maintenance run": (["no-such-window"], 77),
        "maintenance drill": ([], 77),
        "maintenance leases": ([], 0),
        "config": ([], 0),
        "config show": ([], 0),
        "config reload": ([], 77),
        "audit": ([], 0),
        "report": (["--html", "-"], 0),
        "version": ([], 0),
        "whoami": ([], 0),
    ]

    /// The commands of whatifctl's command tree that run something (`--experimental-dump-help`): its leaves and
    /// the groups with a default subcommand (`whatifctl backups` lists backups).
    static func leafCommands() throws -> [String] {
        let r = try Run.command([TestPaths.binary("whatifctl"), "--experimental-dump-help"])
        guard r.status == 0,
            case .object(let root)? = try? APICoding.decode(JSONValue.self, from: Array(r.stdout.utf8)),
            case .object(let top)? = root["command"]
        else { throw TestFailure("cannot read whatifctl's command tree: \(r.output)") }
        var out: [String] = []
        func walk(_ c: [String: JSONValue], _ path: [String]) {
            guard case .string(let name)? = c["commandName"], name != "help" else { return }
            let here = path + [name]
            var subs: [[String: JSONValue]] = []
            if case .array(let s)? = c["subcommands"] {
                subs = s.compactMap { if case .object(let o) = $0 { o } else { nil } }
            }
            if subs.isEmpty || c["defaultSubcommand"] != nil { out.append(here.dropFirst().joined(separator: " ")) }
            for s in subs { walk(s, here) }
        }
        walk(top, [])
        return out.filter { !$0.isEmpty }.sorted()
    }

    func call(_ socket: String, _ command: String, _ extra: [String] = [], timeout: Double? = nil) throws
        -> CommandResult
    {
        let args = Self.commands[command]?.args ?? []
        return try Run.command(
            [TestPaths.binary("whatifctl")] + command.split(separator: " ").map(String.init) + args + extra
                + ["--socket", socket] + (timeout.map { ["--timeout", String($0)] } ?? []),
            environment: ["PATH": "/usr/bin:/bin"])
    }

    @Test func theManPageTableIsExitStatus() throws {
        let man = try String(contentsOfFile: "\(TestPaths.repository)/man/whatifctl.1.scd", encoding: .utf8)
        let section =
            try #require(man.components(separatedBy: "# EXIT STATUS").dropFirst().first)
            .components(separatedBy: "\n# ").first ?? ""
        let documented = Set(
            section.split(separator: "\n").compactMap { line -> Int32? in
                guard line.hasPrefix("*"), let end = line.dropFirst().firstIndex(of: "*") else { return nil }
                return Int32(line[line.index(after: line.startIndex)..<end])
            })
        let codes = WhatIfProtocol.ExitStatus.allCases
        #expect(documented == Set(codes.map(\.rawValue)), "whatifctl(1) documents \(documented.sorted())")
        let help = try Run.command([TestPaths.binary("whatifctl"), "--help"]).stdout.split(
            whereSeparator: \.isWhitespace
        )
        .joined(separator: " ")
        for c in codes where c != .ok {
            #expect(help.contains(" \(c.rawValue) "), "whatifctl --help does not list \(c.rawValue)")
        }
    }

    @Test func everySubcommandIsInTheTable() throws {
        let leaves = try Self.leafCommands()
        #expect(leaves.count > 30, "\(leaves)")
        #expect(Set(leaves) == Set(Self.commands.keys), "the command tree and this table differ")
    }

    /// Usage, agent down and agent silent, for every subcommand; no result ever goes to stdout then.
    @Test func usageDownAndSilentForEverySubcommand() throws {
        let dir = TempDir("whatif-exit")
        let silent = SilentListener(unixPath: dir.file("silent.sock"))
        defer { withExtendedLifetime(silent) {} }
        for command in try Self.leafCommands() {
            let usage = try call(dir.file("none.sock"), command, ["--no-such-option"])
            #expect(
                usage.status == WhatIfProtocol.ExitStatus.usage.rawValue, "\(command) --no-such-option: \(usage.output)"
            )
            if ["status", "alarms list", "jobs list", "metrics"].contains(command) {
                // Watching redraws a table: not with --json, and not every 0 seconds.
                for extra in [["--watch", "--json"], ["--watch", "0"], ["--watch=-1"]] {
                    let r = try call(dir.file("none.sock"), command, extra)
                    #expect(r.status == 64 && r.stderr.contains("--watch"), "\(command) \(extra): \(r.output)")
                }
            }

            let down = try call(dir.file("none.sock"), command)
            if command == "metrics" {
                let r = try call(dir.file("none.sock"), command, ["--since", "5x"])
                #expect(r.status == 64 && r.stderr.contains("--since") && r.stdout.isEmpty, "\(r.output)")
            }
            if command == "version" {
                // whatifctl's own version, and a line saying the agent did not answer.
                #expect(down.status == 0 && down.stdout.contains("whatifctl"), "\(down.output)")
            } else {
                #expect(
                    down.status == WhatIfProtocol.ExitStatus.unavailable.rawValue,
                    "\(command), agent down: \(down.output)")
                #expect(down.stderr.contains("not running") && down.stdout.isEmpty, "\(command): \(down.output)")
            }

            let quiet = try call(dir.file("silent.sock"), command, timeout: 0.3)
            if command != "version" {
                #expect(
                    quiet.status == WhatIfProtocol.ExitStatus.timeout.rawValue,
                    "\(command), agent silent: \(quiet.output)")
                #expect(
                    quiet.stderr.contains("did not answer") && !quiet.stderr.contains("not running")
                        && quiet.stdout.isEmpty, "\(command): \(quiet.output)")
            }
        }
    }

    /// Global options go before the subcommand as well as after it (and --help says so).
    @Test func globalOptionsBeforeTheSubcommand() throws {
        let dir = TempDir("whatif-exit")
        let silent = SilentListener(unixPath: dir.file("silent.sock"))
        defer { withExtendedLifetime(silent) {} }
        let bin = TestPaths.binary("whatifctl")
        let down = try Run.command([bin, "--socket", dir.file("none.sock"), "backups", "list"])
        #expect(down.status == 69 && down.stderr.contains(dir.file("none.sock")), "\(down.output)")
        let quiet = try Run.command([
            bin, "--timeout", "0.3", "--socket=\(dir.file("silent.sock"))", "--json", "status",
        ])
        #expect(quiet.status == 124, "\(quiet.output)")
        let help = try Run.command([bin, "--help"]).stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        #expect(help.contains("go before or after the subcommand"), "\(help)")
    }

    /// An outsider is refused everything (77); a reader gets what readers may do and 77 for the rest.
    @Test func outsidersAndReadersForEverySubcommand() throws {
        guard isRoot else { return }
        try TestUsers.ensure()
        var config = TestConfig.forStack(stack)
        // No DynamoDB: the development table exists only where scripts/run made it, and `status` as a
        // reader must not depend on that (a fresh clone has no table).
        config.dynamodb = nil
        config.extraSocket = "  reader_group: \(TestUsers.readerGroup)\n  admin_group: \(TestUsers.adminGroup)\n"
        let a = try AgentProcess(config)
        for command in try Self.leafCommands() where command != "version" {
            let words = command.split(separator: " ").map(String.init)
            let args = words + (Self.commands[command]?.args ?? [])
            let outsider = try ctl(as: "nobody", socket: a.socket, args)
            #expect(
                outsider.status == WhatIfProtocol.ExitStatus.noPermission.rawValue,
                "\(command) as nobody: \(outsider.output)")
            let reader = try ctl(as: TestUsers.reader, socket: a.socket, args)
            let expected = Self.commands[command]?.reader ?? -1
            #expect(reader.status == expected, "\(command) as a reader: \(reader.status), \(reader.output)")
            if reader.status == WhatIfProtocol.ExitStatus.noPermission.rawValue {
                #expect(reader.stderr.contains(TestUsers.adminGroup), "\(command): \(reader.output)")
            }
        }
    }

    /// Not found, invalid, config problem, busy, failure and success, each on the commands it applies to.
    @Test func namedPathsOfEachStatus() throws {
        var config = TestConfig.forStack(stack)
        config.dynamodb = nil
        let a = try AgentProcess(config)
        let s = a.socket
        func expectStatus(
            _ status: WhatIfProtocol.ExitStatus, _ command: String, _ extra: [String] = [], replacing: Bool = false
        )
            throws
        {
            let words = command.split(separator: " ").map(String.init)
            let args = replacing ? words + extra : words + (Self.commands[command]?.args ?? []) + extra
            let r = try Run.command(
                [TestPaths.binary("whatifctl")] + args + ["--socket", s], environment: ["PATH": "/usr/bin:/bin"])
            #expect(r.status == status.rawValue, "\(args.joined(separator: " ")): \(r.status) \(r.output)")
            if status != .ok && status != .failure {
                #expect(r.stdout.isEmpty, "\(args.joined(separator: " ")) printed a result: \(r.output)")
                #expect(r.stderr.hasPrefix("whatifctl: ") || r.stderr.hasPrefix("Error: "), "\(r.output)")
            }
        }
        // 66: a name that names nothing, well-formed or not.
        for (command, name) in [
            ("backups show", Self.missingBackup), ("backups show", "nope"), ("backups pin", Self.missingBackup),
            ("backups unpin", "nope"), ("jobs show", "20200101000000-backup-abcd"), ("jobs cancel", "nope"),
            ("jobs follow", "nope"), ("alarms history", "nope"), ("maintenance run", "nope"),
            ("maintenance next", "nope"), ("metrics", "NoSuchMetric"),
        ] {
            try expectStatus(.notFound, command, [name], replacing: true)
            try expectStatus(.notFound, command, [name, "--json"], replacing: true)
        }
        try expectStatus(
            .notFound, "restore postgres", [Self.missingBackup, "--target-db", "exit_status_x"], replacing: true)
        // 64: a destructive action without --yes and without a terminal to ask on is refused, nothing sent.
        for args in [
            ["restore", "postgres", Self.missingBackup, "--target-db", "what_if_users", "--force"],
            ["restore", "dynamodb", Self.missingBackup, "--target-table", "t", "--force"],
            ["tables", "setup", "--force"],
        ] {
            let r = try Run.command([TestPaths.binary("whatifctl")] + args + ["--socket", s], input: "")
            #expect(r.status == 64 && r.stderr.contains("--yes") && r.stdout.isEmpty, "\(args): \(r.output)")
        }
        // 65: a request the agent refuses as invalid.
        try expectStatus(
            .badRequest, "jobs start", ["backup.prune", "--params", #"{"dryRunn": true}"#], replacing: true)
        try expectStatus(.badRequest, "jobs start", ["no.such.kind"], replacing: true)
        try expectStatus(.badRequest, "metrics", ["--since", "5d"], replacing: true)
        // 78: what the configuration does not have (no dynamodb, no expiry policy, no migration target).
        try expectStatus(.config, "backup", ["dynamodb"], replacing: true)
        try expectStatus(.config, "redis expiry")
        try expectStatus(.config, "migrate postgres")
        try expectStatus(.config, "tables setup")
        // 0: lists that are empty are answers, in both formats.
        for command in ["maintenance list", "maintenance next", "maintenance leases", "jobs list", "backups list"] {
            try expectStatus(.ok, command)
            let json = try Run.command(
                [TestPaths.binary("whatifctl")] + command.split(separator: " ").map(String.init) + [
                    "--json", "--socket", s,
                ])
            #expect(json.status == 0 && !json.stdout.isEmpty, "\(command) --json: \(json.output)")
            #expect((try? APICoding.decode(JSONValue.self, from: Array(json.stdout.utf8))) != nil, "\(json.output)")
        }
        for command in ["status", "metrics", "alarms list", "jobs kinds", "config show", "whoami", "version"] {
            try expectStatus(.ok, command)
        }
        try expectStatus(.ok, "config reload")
        // 1: the operation ran and failed (here: a service is down).
        var down = TestConfig.forStack(stack)
        down.dynamodb = nil
        down.redis = "  url: redis://127.0.0.1:\(freePort())/0\n  timeout: 1s\n"
        let d = try AgentProcess(down)
        let status = try Run.command([TestPaths.binary("whatifctl"), "status", "--socket", d.socket])
        #expect(
            status.status == WhatIfProtocol.ExitStatus.failure.rawValue && status.stdout.contains("redis"),
            "\(status.output)")

        // 75: a job already holds the resource; the message names it.
        let db = 11
        let seeded = try Run.shell(
            "for i in $(seq 3000); do echo SET exit-status:$i x; done | redis-cli -p \(stack.redisPort) -n \(db) >/dev/null"
        )
        #expect(seeded.status == 0, "\(seeded.output)")
        defer { _ = try? Run.shell("redis-cli -p \(stack.redisPort) -n \(db) FLUSHDB >/dev/null") }
        var busy = TestConfig.forStack(stack)
        busy.dynamodb = nil
        busy.redis = "  url: redis://127.0.0.1:\(stack.redisPort)/\(db)\n"
        busy.expiry = "  rules:\n    - match: \"exit-status:*\"\n      default_ttl: 1h\n      action: report\n"
        let b = try AgentProcess(busy)
        let slow = try b.client.startExpirySweep(enforce: false, keysPerSecond: 50)
        defer { _ = try? b.client.cancelJob(slow.id) }
        let refused = try Run.command([TestPaths.binary("whatifctl"), "redis", "expiry", "--socket", b.socket])
        #expect(
            refused.status == WhatIfProtocol.ExitStatus.busy.rawValue && refused.stderr.contains(slow.id),
            "\(refused.output)")
        #expect(refused.stdout.isEmpty, "\(refused.output)")
    }
}
