import Foundation
import Testing
import WhatIfAgentTesting
import WhatIfClient
import WhatIfProtocol
import WhatIfTesting

@Suite struct LifecycleTests {
    @Test func sdNotifyReadyStatusWatchdogStopping() throws {
        let dir = TempDir()
        let listener = try DatagramListener(dir.file("notify.sock"))
        let agent = try AgentProcess(
            TestConfig(), environment: ["NOTIFY_SOCKET": listener.path, "WATCHDOG_USEC": "400000"])
        let early = listener.receive(timeout: 1.5)
        #expect(early.contains { $0.contains("READY=1") && $0.contains("STATUS=serving on \(agent.socket)") })
        // WatchdogSec=0.4 s: pings come every 0.2 s.
        #expect(early.filter { $0.contains("WATCHDOG=1") }.count >= 3)
        #expect(early.contains { $0.contains("STATUS=") && $0.contains("0 jobs running") })
        let stopAt = Date()
        agent.process.signal(SIGTERM)
        let code = agent.process.wait(timeout: 10)
        #expect(code == 0 && Date().timeIntervalSince(stopAt) < 10)
        #expect(listener.receive(timeout: 0.3).contains { $0.contains("STOPPING=1") })
        // The socket it bound is gone.
        #expect(!FileManager.default.fileExists(atPath: agent.socket))
    }

    @Test func sighupReloadsAGoodConfigAndRefusesABadOne() throws {
        var config = TestConfig()
        config.status = "  timeout: 3s\n  max_age: 1s\n"
        let agent = try AgentProcess(config)
        #expect(try agent.client.config().settings["status"]?["max_age"]?.stringValue == "1s")
        // A good change is taken.
        config.status = "  timeout: 3s\n  max_age: 7s\n"
        try config.render(socket: agent.socket, stateDir: agent.dir.file("state")).write(
            toFile: agent.configPath, atomically: true, encoding: .utf8)
        agent.process.signal(SIGHUP)
        #expect(
            eventually(timeout: 5) { (try? agent.client.config().settings["status"]?["max_age"]?.stringValue) == "7s" })
        // A bad one is refused with a log line; the old config keeps running.
        try "environment: development\nstatus:\n  max_age: forever\nbogus: 1\n".write(
            toFile: agent.configPath, atomically: true, encoding: .utf8)
        agent.process.signal(SIGHUP)
        // One line per problem, in the order the loader found them: wait for each (the log is read from
        // a pipe, line by line), not for the first.
        let expected = [
            "\(agent.configPath):4: unknown key 'bogus'", "\(agent.configPath):3: status.max_age must be a duration",
            "the old one keeps running",
        ]
        #expect(eventually(timeout: 5) { expected.allSatisfy(agent.process.log.contains) }, "\(agent.process.log)")
        #expect(try agent.client.config().settings["status"]?["max_age"]?.stringValue == "7s")
        #expect(agent.process.isRunning)
        // `whatifctl config reload` reports the refusal and exits 78.
        let r = try agent.ctl(["config", "reload"])
        #expect(r.status == 78 && r.stderr.contains("unknown key 'bogus'"))
    }

    @Test func socketActivation() throws {
        let dir = TempDir()
        let activated = dir.file("activated.sock")
        let config = try dir.write(
            "agent.yaml", TestConfig().render(socket: dir.file("unused.sock"), stateDir: dir.file("state")))
        let p = try BackgroundProcess(
            ["/usr/bin/systemd-socket-activate", "-l", activated, TestPaths.binary("whatifd"), "--config", config],
            logPath: dir.file("log"))
        #expect(eventually(timeout: 10) { FileManager.default.fileExists(atPath: activated) })
        let r = try Run.command([TestPaths.binary("whatifctl"), "status", "--json", "--socket", activated])
        #expect(r.status == 0 && r.stdout.contains(#""services""#), "\(r.output) \(p.log)")
        // The log line follows the bind, and a loaded machine may answer the request before it is written.
        #expect(eventually(timeout: 10) { p.log.contains("socket systemd passed") }, "\(p.log)")
        // It did not bind the configured path itself.
        #expect(!FileManager.default.fileExists(atPath: dir.file("unused.sock")))
        p.signal(SIGTERM)
        #expect(p.wait(timeout: 10) == 0)
    }

    @Test func anotherAgentOnTheSameSocketIsRefused() throws {
        let first = try AgentProcess(TestConfig())
        let second = try BackgroundProcess(
            [TestPaths.binary("whatifd"), "--config", first.configPath], logPath: first.dir.file("second.log"))
        #expect(second.wait(timeout: 10) == 1)
        #expect(second.log.contains("another whatifd is already serving"))
        #expect((try? first.client.version()) != nil)
    }
}

/// whatifctl's jobs commands and exit statuses, against an agent with test job kinds.
/// `whatifctl config show`: YAML that reads back as the same settings --json prints, each setting with
/// its source, the agent's own environment variables named, no secret anywhere.
@Suite struct ConfigShowTests {
    @Test func yamlWithSourcesThatReadsBackAsTheJSON() throws {
        let stack = try Stack.shared()
        let a = try AgentProcess(
            TestConfig.forStack(stack), environment: ["RDS_POSTGRES_USER": "postgres", "AWS_REGION": "eu-west-1"])
        let yaml = try a.ctl(["config", "show"])
        #expect(yaml.status == 0 && yaml.stderr.isEmpty, "\(yaml.output)")
        #expect(yaml.stdout.hasPrefix("# \(a.configPath)"))
        let line = { (key: String) in
            yaml.stdout.split(separator: "\n").first { $0.hasPrefix(key) }.map(String.init) ?? ""
        }
        #expect(line("  user: postgres").hasSuffix("# env RDS_POSTGRES_USER"), "\(yaml.stdout)")
        #expect(line("  max_age:").hasSuffix("# default") || line("  max_age:").hasSuffix("# file"))
        #expect(line("  password_file:").hasSuffix("# file"))
        #expect(!yaml.stdout.contains(stack.pgPassword) && !yaml.stdout.contains(stack.awsKeys.secret))
        let json = try a.ctl(["config", "show", "--json"])
        #expect(json.status == 0)
        let report = try APICoding.decode(ConfigReport.self, from: Array(json.stdout.utf8))
        #expect(report.sources["postgres.user"] == "env RDS_POSTGRES_USER" && report.sources["environment"] == "file")
        // PyYAML reads the YAML as the same tree as the JSON settings.
        let dir = TempDir("whatif-config-show")
        let y = try dir.write("show.yaml", yaml.stdout)
        let settings = try dir.write(
            "settings.json", String(decoding: try APICoding.encode(report.settings), as: UTF8.self))
        let same = try Run.command([
            "python3", "-c",
            "import sys, json, yaml; a = yaml.safe_load(open(sys.argv[1])); b = json.load(open(sys.argv[2])); "
                + "print('same' if a == b else 'differs: %r' % [(k, a.get(k), b.get(k)) for k in b if a.get(k) != b.get(k)])",
            y, settings,
        ])
        #expect(same.stdout.hasPrefix("same"), "\(same.output)")
    }
}

@Suite struct WhatifctlJobTests {
    func ctl(_ a: InProcessAgent, _ args: [String]) async throws -> CommandResult {
        let socket = a.socket
        return try await offPool { try Run.command([TestPaths.binary("whatifctl")] + args + ["--socket", socket]) }
    }

    @Test func startFollowListShowCancel() async throws {
        let a = try await InProcessAgent(TestConfig())
        defer { Task { await a.stop() } }
        let run = try await ctl(a, ["jobs", "start", "test.count", "--params", #"{"to": 40, "stepMs": 2}"#])
        #expect(run.status == 0 && run.stderr.contains("succeeded"), "\(run.output)")
        // stderr is not a terminal here: progress comes as plain lines (no bar, no escape codes).
        #expect(run.stderr.contains("progress: ") && run.stderr.contains(" steps"), "\(run.output)")
        #expect(!run.stderr.contains("\u{1B}["), "\(run.output)")
        let list = try await ctl(a, ["jobs", "list"])
        #expect(
            list.stdout.hasPrefix("ID") && list.stdout.contains("test.count") && list.stdout.contains("succeeded")
                && list.stdout.contains("100%"))
        let id = try #require(
            list.stdout.split(separator: "\n").dropFirst().first?.split(separator: " ").first.map(String.init))
        let show = try await ctl(a, ["jobs", "show", id])
        #expect(show.stdout.contains("state     succeeded") && show.stdout.contains("counted: 40"), "\(show.stdout)")
        // Detached start, NDJSON follow, cancel.
        let detached = try await ctl(
            a, ["jobs", "start", "test.count", "--params", #"{"to": 100000, "stepMs": 5}"#, "--detach"])
        let jid = detached.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(detached.status == 0 && !jid.isEmpty)
        let busy = try await ctl(a, ["jobs", "start", "test.count"])
        #expect(busy.status == 75 && busy.stderr.contains(jid))
        let followTask = Task { try await ctl(a, ["jobs", "follow", jid, "--events"]) }
        try await Task.sleep(for: .milliseconds(300))
        let cancel = try await ctl(a, ["jobs", "cancel", jid])
        #expect(cancel.status == 0 && cancel.stdout.contains("cancellation"))
        let followed = try await followTask.value
        #expect(followed.status == 1)
        let lines = followed.stdout.split(separator: "\n")
        #expect(lines.count >= 2)
        let events = lines.compactMap { try? APICoding.decode(JobEvent.self, from: Array($0.utf8)) }
        #expect(events.count == lines.count)
        #expect(events.last?.job?.state == .cancelled)
        // --json: the final record alone.
        let record = try await ctl(a, ["jobs", "follow", jid, "--json"])
        #expect(record.status == 1)
        let final = try APICoding.decode(JobInfo.self, from: Array(record.stdout.utf8))
        #expect(final.state == .cancelled && final.error?.code == .cancelled)
    }

    /// A finished job read back: `follow` replays its log before its verdict, `--events` in seq order,
    /// `logs` prints every line, `show` summarises its result and log; `list` filters, limits and fits
    /// 100 columns.
    @Test func aFinishedJobReadBack() async throws {
        let a = try await InProcessAgent(TestConfig())
        defer { Task { await a.stop() } }
        let run = try await ctl(
            a, ["jobs", "start", "test.count", "--params", #"{"to": 100, "stepMs": 1}"#, "--detach"])
        let id = run.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(await eventually(timeout: 30) { (try? a.client.job(id))?.state == .succeeded })

        let follow = try await ctl(a, ["jobs", "follow", id])
        #expect(follow.status == 0, "\(follow.output)")
        let reached = try #require(follow.stderr.range(of: "reached 100"), "\(follow.output)")
        let verdict = try #require(follow.stderr.range(of: "job \(id) succeeded"), "\(follow.output)")
        #expect(reached.upperBound <= verdict.lowerBound, "the verdict came before the log: \(follow.stderr)")

        let events = try await ctl(a, ["jobs", "follow", id, "--events"])
        let seqs = try events.stdout.split(separator: "\n").map {
            try APICoding.decode(JobEvent.self, from: Array($0.utf8))
        }
        #expect(seqs.first?.type == .state && seqs.last?.job?.state == .succeeded)
        #expect(zip(seqs, seqs.dropFirst()).allSatisfy { $0.seq < $1.seq }, "\(seqs.map(\.seq))")

        let logs = try await ctl(a, ["jobs", "logs", id])
        #expect(logs.status == 0)
        let lines = logs.stdout.split(separator: "\n").filter { $0.contains("reached") }
        #expect(
            lines.map { String($0.split(separator: " ").last ?? "") } == ["25", "50", "75", "100"], "\(logs.stdout)")

        let show = try await ctl(a, ["jobs", "show", id])
        #expect(show.stdout.contains("state     succeeded") && show.stdout.contains("counted: 100"), "\(show.stdout)")
        #expect(show.stdout.contains("`whatifctl jobs logs \(id)`") && show.stdout.contains("reached 100"))
        #expect(!show.stdout.contains("{"), "a summary, not raw JSON: \(show.stdout)")

        for _ in 0..<2 { _ = try await ctl(a, ["jobs", "start", "test.fail"]) }
        let failed = try await ctl(a, ["jobs", "list", "--state", "failed"])
        let rows = failed.stdout.split(separator: "\n")
        #expect(rows.first?.hasPrefix("ID") == true && rows.first?.contains("AGE") == true)
        #expect(rows.first?.contains("ERROR") == true)
        #expect(rows.count == 3 && rows.dropFirst().allSatisfy { $0.contains("test.fail") && $0.contains("failed") })
        #expect(rows.dropFirst().allSatisfy { $0.contains("the test job failed") }, "\(failed.stdout)")
        #expect(rows.allSatisfy { $0.count <= 100 }, "\(failed.stdout)")
        let counted = try await ctl(a, ["jobs", "list", "--kind", "test.count", "--json"])
        let list = try APICoding.decode(JobList.self, from: Array(counted.stdout.utf8))
        #expect(list.jobs.map(\.id) == [id])
        // Colour: never on a pipe by default; --color always colours the state words and keeps the columns.
        let plain = try await ctl(a, ["jobs", "list"])
        #expect(!plain.stdout.contains("\u{1B}["))
        let colored = try await ctl(a, ["jobs", "list", "--color", "always"])
        #expect(colored.stdout.contains("\u{1B}[32msucceeded\u{1B}[0m") && colored.stdout.contains("\u{1B}[31mfailed"))
        let stripped = colored.stdout.replacingOccurrences(of: "\u{1B}[32m", with: "")
            .replacingOccurrences(of: "\u{1B}[31m", with: "").replacingOccurrences(of: "\u{1B}[0m", with: "")
        // The columns stay aligned: every state starts where the header's STATE does.
        let table = stripped.components(separatedBy: "\n").filter { !$0.isEmpty }
        let column = try #require(table.first?.range(of: "STATE")?.lowerBound.utf16Offset(in: table[0]))
        for row in table.dropFirst() {
            let state = row.dropFirst(column).prefix { $0 != " " }
            #expect(["succeeded", "failed"].contains(String(state)), "\(row)")
        }
        #expect(!(try await ctl(a, ["--color", "never", "jobs", "list"])).stdout.contains("\u{1B}["))
        let limited = try await ctl(a, ["jobs", "list", "--limit", "1"])
        #expect(limited.stdout.split(separator: "\n").count == 2 && limited.stderr.contains("2 older jobs not shown"))
    }

    @Test func failureAndBadRequestStatuses() async throws {
        let a = try await InProcessAgent(TestConfig())
        defer { Task { await a.stop() } }
        let failed = try await ctl(a, ["jobs", "start", "test.fail"])
        #expect(failed.status == 1 && failed.stderr.contains("failed: the test job failed as asked; nothing to fix"))
        let bad = try await ctl(a, ["jobs", "start", "no.such.kind"])
        #expect(bad.status == 65 && bad.stderr.contains("unknown job kind"))
        let params = try await ctl(a, ["jobs", "start", "test.count", "--params", "[1]"])
        #expect(params.status == 64)
        let missing = try await ctl(a, ["jobs", "show", "nope"])
        #expect(missing.status == 66)
        let kinds = try await ctl(a, ["jobs", "kinds"])
        #expect(kinds.stdout.contains("test.count") && kinds.stdout.contains("count slowly"))
    }
}
