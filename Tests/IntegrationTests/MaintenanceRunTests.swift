import Foundation
import Testing
import WhatIfAgentTesting
import WhatIfClient
import WhatIfCore
import WhatIfMaintenance
import WhatIfMonitoring
import WhatIfProtocol
import WhatIfTesting

/// Seconds since 1970 of a UTC time written as ISO 8601.
private func at(_ iso: String) -> Double {
    let f = ISO8601DateFormatter()
    f.timeZone = TimeZone(identifier: "UTC")
    return f.date(from: iso)!.timeIntervalSince1970
}

/// An RDS-format weekly window that opened `before` seconds ago and lasts `minutes`.
func weeklyWindowOpenNow(before: Double = 600, minutes: Int = 120) -> String {
    // 1970-01-01 was a Thursday: minute 0 of the epoch is minute 4 * 1440 of its week.
    let start = (Int((Date().timeIntervalSince1970 - before) / 60) + 4 * 1440) % (7 * 1440)
    return WindowSchedule.weekly(startMinute: start, minutes: minutes).description
}

/// A hook in `dir` that appends a line of `fields` (WHATIF_* variables) to `dir/seen` for each event of
/// type `event`.
func recordingHook(_ dir: TempDir, event: String, _ fields: String) throws {
    _ = try dir.write(
        "record",
        "#!/bin/sh\n[ \"$WHATIF_EVENT\" = \(event) ] && echo \"\(fields)\" >> \(dir.file("seen"))\nexit 0\n",
        mode: 0o755)
}

/// The finished `maintenance.window` jobs an agent ran, newest first.
func windowJobs(_ client: AgentClient) throws -> [JobInfo] {
    try client.jobs().filter { $0.kind == "maintenance.window" && $0.state.isFinal }
}

func windowResult(_ job: JobInfo) throws -> WindowRunResult {
    guard let r = job.result else { throw TestFailure("window job \(job.id) has no result: \(job)") }
    return try APICoding.decode(WindowRunResult.self, from: APICoding.encode(r))
}

/// Windows on a clock the test moves (no waiting for Sunday): the scheduler opens a window at its start,
/// refuses a job its past runs say will overrun, reports the outcome to the hooks, and catches up (or
/// reports) a window missed while the agent was down.
@Suite(.serialized) struct MaintenanceRunTests {
    let fx: BackupFixture
    init() throws { fx = BackupFixture(stack: try Stack.shared()) }

    /// A pgbench database for `body`, made and dropped off Swift's cooperative threads: the agents in this process need those
    /// (two on a two-core machine), and a blocking psql/pgbench on one stalls every agent's timers.
    func withDatabase(_ body: (String) async throws -> Void) async throws {
        let fx = self.fx
        let db = try await offPool { try fx.makeDatabase() }
        do {
            try await body(db)
        } catch {
            _ = try? await offPool { try fx.drop(db) }
            throw error
        }
        try await offPool { try fx.drop(db) }
    }

    func config(db: String, location: String, hooks: String, catchUp: String = "report") -> TestConfig {
        var c = fx.config(db: db, table: nil, backups: "  location: \(location)\n")
        c.hooks = "  directory: \(hooks)\n"
        c.maintenance = """
              catch_up: \(catchUp)
              windows:
                - name: weekly
                  when: sun:05:00-sun:06:00
                  jobs: [backup:postgres, vacuum, prune]
                  silence_alarms: ["*"]

            """
        return c
    }

    /// A past `backup` of PostgreSQL that took two hours, in the job history the agent loads.
    static func seedSlowBackup(_ stateDir: String) throws {
        try FileManager.default.createDirectory(atPath: "\(stateDir)/jobs", withIntermediateDirectories: true)
        let ended = Date().addingTimeInterval(-86400)
        let info = JobInfo(
            id: "20261101000000-backup-0001", kind: "backup", resource: "postgres:x", state: .succeeded,
            createdAt: ended.addingTimeInterval(-7200), startedAt: ended.addingTimeInterval(-7200), endedAt: ended,
            requestedBy: "test", params: .object(["kinds": .array([.string("postgres")])]))
        try Files.writeAtomically("\(stateDir)/jobs/\(info.id).json", try APICoding.encode(info), mode: 0o640)
    }

    func waitForWindowJob(_ a: InProcessAgent, count: Int) async throws -> JobInfo {
        for _ in 0..<600 {
            let done = try await a.call { try windowJobs($0) }
            if done.count >= count { return done[0] }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw TestFailure("no finished maintenance.window job")
    }

    @Test func scheduledWindowRefusesAnOverrunAndReportsToTheHooks() async throws {
        try await withDatabase { db in
            let location = TempDir("whatif-mw-backups")
            let hooks = TempDir("whatif-mw-hooks")
            try recordingHook(
                hooks, event: "maintenance", "$WHATIF_WINDOW_NAME $WHATIF_WINDOW_OUTCOME $WHATIF_WINDOW_TRIGGER")
            let clock = ManualClock(at("2026-11-29T04:59:00Z"))  // a Sunday, a minute before the window
            let a = try await InProcessAgent(
                config(db: db, location: location.path, hooks: hooks.path), clock: clock,
                prepare: Self.seedSlowBackup)
            defer { Task { await a.stop() } }
            // The scheduler goes to sleep until 05:00; nothing runs before.
            for _ in 0..<200 where clock.sleeping == 0 { try await Task.sleep(for: .milliseconds(10)) }
            #expect(clock.nextWake == at("2026-11-29T05:00:00Z"))
            #expect(try await a.call { try windowJobs($0) }.isEmpty)
            clock.advance(to: at("2026-11-29T05:00:30Z"))
            let job = try await waitForWindowJob(a, count: 1)
            let r = try windowResult(job)
            #expect(job.state == .failed, "a window with a skipped job is not a success")
            #expect(r.trigger == "scheduled" && r.outcome == "partial")
            #expect(r.occurrence == Date(timeIntervalSince1970: at("2026-11-29T05:00:00Z")))
            #expect(r.steps.map(\.job) == ["backup:postgres", "vacuum", "prune"])
            #expect(r.steps.map(\.state) == ["skipped", "succeeded", "skipped"], "\(r.steps)")
            #expect(r.steps[0].estimateSeconds == 7200)
            #expect(r.steps[0].reason?.contains("took up to 2h, 59m30s left") == true, "\(r.steps[0])")
            #expect(r.steps[1].jobId != nil && r.steps[1].estimateSeconds == nil)
            #expect(r.steps[2].reason?.contains("nothing is pruned") == true)
            #expect(try await a.call { try $0.backups().backups }.isEmpty, "the refused backup did not run")
            // The hook runs on its own thread after the window ends; a loaded CI machine can take a while.
            #expect(await eventually(timeout: 30) { (try? Files.read(hooks.file("seen"))) != nil })
            #expect(String(decoding: try Files.read(hooks.file("seen")), as: UTF8.self) == "weekly partial scheduled\n")
            // The same occurrence is not opened twice.
            clock.advance(by: 60)
            try await Task.sleep(for: .milliseconds(300))
            #expect(try await a.call { try windowJobs($0) }.count == 1)

            // Run by hand, past the estimate: everything runs, in order.
            let manual = try await a.call { try $0.runMaintenanceWindow("weekly", .init(ignoreEstimates: true)) }
            let second = try await waitForWindowJob(a, count: 2)
            #expect(second.id == manual.id && second.state == .succeeded, "\(second)")
            let m = try windowResult(second)
            #expect(m.trigger == "manual" && m.outcome == "succeeded")
            #expect(m.steps.map(\.state) == ["succeeded", "succeeded", "succeeded"])
            #expect(try await a.call { try $0.backups().backups }.count == 1)
            let list = try await a.call { try $0.maintenanceWindows() }
            #expect(list.windows[0].lastRun?.outcome == "succeeded" && list.windows[0].lastRun?.trigger == "manual")
            // An unknown window is a 404 (whatifctl exits 66), a running one a conflict.
            await #expect(throws: ClientError.self) { try await a.call { try $0.runMaintenanceWindow("nope") } }
        }
    }

    /// While a window runs (its backup held mid-dump), alarm changes are annotated with it; the alarm it
    /// silences is kept from the hooks and sent when the window closes, the other is sent at once.
    @Test func alarmsDuringAWindowAreAnnotatedAndSilenced() async throws {
        try await withDatabase { db in
            let location = TempDir("whatif-mw-backups")
            let hooks = TempDir("whatif-mw-hooks")
            try recordingHook(
                hooks, event: "alarm",
                "$WHATIF_ALARM_NAME $WHATIF_ALARM_STATE [$WHATIF_MAINTENANCE_WINDOW] $WHATIF_ALARM_REASON")
            let wrapper = try PgDumpWrapper(holdAfter: 1024)
            var c = fx.config(
                db: db, table: nil,
                backups: "  location: \(location.path)\n  postgres:\n    bin_dir: \(wrapper.bin)\n")
            c.hooks = "  directory: \(hooks.path)\n"
            // Collected and evaluated by the agent's loop only hourly: this test evaluates by hand.
            c.metrics = "  interval: 1h\n  evaluation_interval: 1h\n"
            func alarm(_ name: String) -> String {
                """
                  - AlarmName: \(name)
                    Namespace: Test/Window
                    MetricName: Load
                    Statistic: Maximum
                    Period: 60
                    EvaluationPeriods: 1
                    Threshold: 10
                    ComparisonOperator: GreaterThanThreshold

                """
            }
            c.alarms = alarm("load-silenced") + alarm("load-told")
            c.maintenance = """
                  windows:
                    - name: weekly
                      when: sun:05:00-sun:06:00
                      jobs: [backup:postgres]
                      silence_alarms: [load-silenced]

                """
            let clock = ManualClock(at("2026-11-29T05:00:10Z"))
            let a = try await InProcessAgent(c, clock: clock)
            defer { Task { await a.stop() } }
            let monitoring = try #require(a.daemon.core.monitoring)
            #expect(try await offPool { wrapper.waitUntilHolding() }, "the window's backup did not start")
            #expect(monitoring.openMaintenanceWindows == ["weekly": ["load-silenced"]])
            // Load 50 in the last complete minute: both alarms go to ALARM inside the window.
            let now = Date().timeIntervalSince1970
            let key = MetricKey(namespace: "Test/Window", name: "Load", dimensions: [], unit: "None")
            monitoring.store.append([Sample(key: key, value: 50, time: (now / 60).rounded(.down) * 60 - 30)], now: now)
            monitoring.evaluateAlarms(now: now)
            let silenced = try #require(monitoring.history("load-silenced")?.first)
            #expect(silenced.to == "ALARM" && silenced.maintenanceWindow == "weekly" && silenced.silenced == true)
            let told = try #require(monitoring.history("load-told")?.first)
            #expect(told.to == "ALARM" && told.maintenanceWindow == "weekly" && told.silenced == nil)
            let seenPath = hooks.file("seen")
            let seen: @Sendable () -> String = { String(decoding: (try? Files.read(seenPath)) ?? [], as: UTF8.self) }
            #expect(await eventually(timeout: 10) { seen().contains("load-told ALARM [weekly]") })
            #expect(!seen().contains("load-silenced"), "silenced while the window is open: \(seen())")
            // The window closes: the silenced alarm, still in ALARM, reaches the hooks now.
            wrapper.releaseDump()
            #expect(
                await eventually(timeout: 60) {
                    seen().contains("load-silenced ALARM [weekly] after maintenance window weekly:")
                }, "\(seen())")
            #expect(monitoring.openMaintenanceWindows.isEmpty)
            let socket = a.socket
            let history = try await offPool {
                try Run.command(
                    [TestPaths.binary("whatifctl"), "alarms", "history", "load-silenced", "--socket", socket])
            }
            #expect(
                history.stdout.contains("WINDOW") && history.stdout.contains("weekly (silenced)"), "\(history.output)")
            let job = try await waitForWindowJob(a, count: 1)
            #expect(try windowResult(job).outcome == "succeeded")
        }
    }

    /// Down over Sunday's window: with catch_up: report the agent records and reports it missed on
    /// start; with catch_up: run it runs it at once, planned for a whole window's length from now.
    @Test func missedWindowIsReportedOrCaughtUp() async throws {
        try await withDatabase { db in
            let location = TempDir("whatif-mw-backups")
            let hooks = TempDir("whatif-mw-hooks")
            try recordingHook(
                hooks, event: "maintenance", "$WHATIF_WINDOW_NAME $WHATIF_WINDOW_OUTCOME $WHATIF_WINDOW_TRIGGER")
            // The agent last handled the window a week before; it starts again on Monday.
            func lastWeek(_ stateDir: String) throws {
                try FileManager.default.createDirectory(
                    atPath: "\(stateDir)/maintenance", withIntermediateDirectories: true)
                try Files.writeAtomically(
                    "\(stateDir)/maintenance/weekly.json",
                    Array("{\"handled\": \(Int(at("2026-11-22T05:00:00Z")))}".utf8), mode: 0o640)
            }
            let monday = at("2026-11-30T09:00:00Z")
            let report = try await InProcessAgent(
                config(db: db, location: location.path, hooks: hooks.path, catchUp: "report"),
                clock: ManualClock(monday),
                prepare: lastWeek)
            #expect(
                try await eventuallyAsync(timeout: 10) {
                    try await report.call { try $0.maintenanceWindows() }.windows[0].lastRun?.outcome == "missed"
                })
            let last = try await report.call { try $0.maintenanceWindows() }.windows[0].lastRun
            #expect(last?.occurrence == Date(timeIntervalSince1970: at("2026-11-29T05:00:00Z")))
            #expect(try await report.call { try windowJobs($0) }.isEmpty, "reported, not run")
            // The hook runs on its own thread after the window ends; a loaded CI machine can take a while.
            #expect(await eventually(timeout: 30) { (try? Files.read(hooks.file("seen"))) != nil })
            #expect(String(decoding: try Files.read(hooks.file("seen")), as: UTF8.self) == "weekly missed catch-up\n")
            await report.stop()

            let run = try await InProcessAgent(
                config(db: db, location: location.path, hooks: hooks.path, catchUp: "run"), clock: ManualClock(monday),
                prepare: lastWeek)
            defer { Task { await run.stop() } }
            let job = try await waitForWindowJob(run, count: 1)
            let r = try windowResult(job)
            #expect(r.trigger == "catch-up" && r.outcome == "succeeded", "\(r)")
            #expect(r.occurrence == Date(timeIntervalSince1970: at("2026-11-29T05:00:00Z")))
            #expect(r.endsAt == Date(timeIntervalSince1970: monday + 3600))
            #expect(r.steps.map(\.state) == ["succeeded", "succeeded", "succeeded"])
        }
    }
}

/// `whatifctl maintenance run` as an operator (or the systemd timer's service) runs it: the table of
/// jobs, and the exit status the unit's result depends on.
@Suite struct MaintenanceRunCommandTests {
    @Test func runThroughWhatifctlAndItsExitStatus() throws {
        let fx = BackupFixture(stack: try Stack.shared())
        let db = try fx.makeDatabase()
        defer { fx.dropDatabase(db) }
        let location = TempDir("whatif-mw-backups")
        var c = fx.config(db: db, table: nil, backups: "  location: \(location.path)\n")
        c.maintenance = """
              windows:
                - name: tidy
                  when: sun:05:00-sun:06:00
                  trigger: timer
                  jobs: [vacuum]
                - name: broken
                  when: sun:07:00-sun:08:00
                  trigger: timer
                  jobs: [vacuum, schema-check]

            """
        let a = try AgentProcess(c)
        let ok = try a.ctl(["maintenance", "run", "tidy"])
        #expect(ok.status == 0, "\(ok.output)")
        #expect(ok.stdout.contains("window tidy: succeeded"), "\(ok.output)")
        let row = ok.stdout.split(separator: "\n").first { $0.hasPrefix("vacuum ") }.map {
            $0.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        }
        #expect(row?[1] == "succeeded", "\(ok.output)")
        // DynamoDB is not configured here, so the schema check cannot start: the window is partial, exit 1.
        let bad = try a.ctl(["maintenance", "run", "broken"])
        #expect(bad.status == 1, "\(bad.output)")
        #expect(bad.stdout.contains("window broken: partial"), "\(bad.output)")
        #expect(bad.stdout.contains("schema-check") && bad.stdout.contains("DynamoDB"), "\(bad.output)")
        let unknown = try a.ctl(["maintenance", "run", "nope"])
        #expect(unknown.status == 66, "\(unknown.output)")
        #expect(unknown.stderr.contains("windows: tidy, broken"), "\(unknown.output)")
        let list = try a.ctl(["maintenance", "list"])
        #expect(list.stdout.contains("tidy (timer)") && list.stdout.contains("succeeded"), "\(list.output)")
        #expect(list.stdout.contains("partial"), "\(list.output)")
        // A trigger: timer window is never opened by the agent itself.
        #expect(try a.client.jobs().filter { $0.kind == "maintenance.window" }.count == 2)
    }
}

/// async-friendly `eventually`.
func eventuallyAsync(timeout: Double, _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    repeat {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(100))
    } while Date() < deadline
    return false
}

/// The restore drill restores the newest backups into scratch copies, checks them against their manifests,
/// drops them, and records pass/fail and time to restore; a corrupted backup fails it and alerts.
@Suite(.serialized) struct RestoreDrillTests {
    let fx: BackupFixture
    init() throws { fx = BackupFixture(stack: try Stack.shared()) }

    static func latest(_ r: MetricsReport, _ name: String, kind: String) -> Double? {
        r.series.first { $0.name == name && $0.dimensions == ["Kind": kind] }?.last?.v
    }

    @Test func drillPassesThenFindsACorruptedBackup() throws {
        let db = try fx.makeDatabase()
        defer { fx.dropDatabase(db) }
        let table = try fx.seedTable(150)
        let location = TempDir("whatif-drill-backups")
        let hooks = TempDir("whatif-drill-hooks")
        try recordingHook(hooks, event: "job", "$WHATIF_JOB_KIND $WHATIF_JOB_STATE")
        var c = fx.config(db: db, table: table, backups: "  location: \(location.path)\n")
        c.hooks = "  directory: \(hooks.path)\n"
        c.aws = c.aws.map { $0.replacingOccurrences(of: "max_attempts: 3", with: "max_attempts: 3\n  timeout: 60s") }
        let a = try AgentProcess(c)
        let backup = try a.ctl(["backup"])
        #expect(backup.status == 0, "\(backup.output)")

        let pass = try a.ctl(["maintenance", "drill"])
        #expect(pass.status == 0, "\(pass.output)")
        #expect(pass.stdout.contains("postgres: PASS") && pass.stdout.contains("dynamodb: PASS"), "\(pass.output)")
        #expect(
            pass.stdout.contains(/dynamodb: PASS backup \S+ into \S+-restore-drill: 150 of 150 restored in \d+\.\d s/),
            "\(pass.output)")
        let job = try a.client.jobs().first { $0.kind == "restore.drill" }!
        let result = try APICoding.decode(DrillResult.self, from: APICoding.encode(job.result!))
        #expect(result.parts.count == 2)
        for p in result.parts {
            #expect(p.ok && p.dropped && p.restored == p.expected && (p.secondsToRestore ?? -1) >= 0, "\(p)")
        }
        #expect(result.parts.first { $0.kind == .dynamodb }?.restored == 150)
        // The scratch copies are gone.
        #expect(
            try fx.psql("postgres", "SELECT count(*) FROM pg_database WHERE datname = 'whatif_restore_drill'") == "0")
        #expect(throws: (any Error).self) { try fx.ddb(["count", fx.envFile, "\(table)-restore-drill"]) }
        var metrics = try a.client.metrics(name: "RestoreDrillSuccess", since: "1h")
        #expect(Self.latest(metrics, "RestoreDrillSuccess", kind: "postgres") == 1)
        #expect(Self.latest(metrics, "RestoreDrillSuccess", kind: "dynamodb") == 1)

        // One byte of the PostgreSQL dump flipped: the drill fails on its checksum, alerts, and still drops.
        let pg = try a.client.backups(kind: .postgres).backups[0]
        let dump = "\(location.path)/postgres/\(pg.id)/postgres.dump"
        var bytes = try Files.read(dump, limit: 1 << 30)
        bytes[bytes.count / 2] ^= 0xFF
        try Files.writeAtomically(dump, bytes, mode: 0o640)
        let fail = try a.ctl(["maintenance", "drill"])
        #expect(fail.status == 1, "\(fail.output)")
        #expect(fail.stdout.contains("postgres: FAIL") && fail.stdout.contains("dynamodb: PASS"), "\(fail.output)")
        let failed = try a.client.jobs().first { $0.kind == "restore.drill" }!
        #expect(failed.state == .failed)
        #expect(failed.error?.message.contains("does not verify") == true, "\(String(describing: failed.error))")
        #expect(
            try fx.psql("postgres", "SELECT count(*) FROM pg_database WHERE datname = 'whatif_restore_drill'") == "0")
        metrics = try a.client.metrics(name: "RestoreDrillSuccess", since: "1h")
        #expect(Self.latest(metrics, "RestoreDrillSuccess", kind: "postgres") == 0)
        #expect(Self.latest(metrics, "RestoreDrillSuccess", kind: "dynamodb") == 1)
        #expect(
            eventually(timeout: 10) {
                String(decoding: (try? Files.read(hooks.file("seen"))) ?? [], as: UTF8.self).contains(
                    "restore.drill failed")
            })
    }
}

/// Three agents, one moto: each window's backup runs on exactly one of them (the fleet lease), and when
/// the holder dies mid-window another takes the window over once the lease expires.
@Suite(.serialized) struct FleetTests {
    let fx: BackupFixture
    init() throws { fx = BackupFixture(stack: try Stack.shared()) }

    func config(table: String, leases: String, window: String, trigger: String, owner: String, endpoint: String?)
        -> (TestConfig, TempDir)
    {
        let location = TempDir("whatif-fleet-backups")
        var c = fx.config(db: nil, table: table, backups: "  location: \(location.path)\n")
        if let endpoint, let aws = c.aws {
            c.aws = aws.replacingOccurrences(of: fx.stack.motoEndpoint, with: endpoint)
        }
        c.maintenance = """
              fleet:
                table: \(leases)
                lease: 20s
                heartbeat: 50ms
                owner: \(owner)
              windows:
                - name: \(window)
                  when: \(weeklyWindowOpenNow())
                  trigger: \(trigger)
                  jobs: [backup:dynamodb]

            """
        return (c, location)
    }

    static func completeBackups(_ location: TempDir) -> Int {
        let ids = (try? FileManager.default.contentsOfDirectory(atPath: "\(location.path)/dynamodb")) ?? []
        return ids.filter { FileManager.default.fileExists(atPath: "\(location.path)/dynamodb/\($0)/manifest.json") }
            .count
    }

    /// The heartbeat (50 ms) is shorter than the window's work, so the lease's version moves while the
    /// window runs: its release must name the newest one, or the occurrence is neither released nor
    /// marked completed and another agent runs it again once the lease expires.
    @Test func oneBackupPerWindowAndTakeoverAfterAKill() throws {
        let table = try fx.seedTable(40)
        let leases = BackupFixture.unique("leases-").replacingOccurrences(of: "_", with: "-")

        // Three agents start while the window is open: their schedulers all try; one runs it.
        var agents: [(AgentProcess, TempDir)] = []
        for name in ["a", "b", "c"] {
            let (c, loc) = config(
                table: table, leases: leases, window: "fleet1", trigger: "agent", owner: "agent-\(name)", endpoint: nil)
            agents.append((try AgentProcess(c), loc))
        }
        var results: [WindowRunResult] = []
        for (a, _) in agents {
            #expect(eventually(timeout: 60) { ((try? windowJobs(a.client)) ?? []).count == 1 }, "\(a.process.log)")
            results.append(try windowResult(try windowJobs(a.client)[0]))
        }
        let ran = results.filter { $0.outcome == "succeeded" }
        #expect(ran.count == 1, "\(results)")
        #expect(results.filter { $0.outcome == "skipped" && $0.steps.isEmpty }.count == 2, "\(results)")
        #expect(agents.map { Self.completeBackups($0.1) }.reduce(0, +) == 1, "one backup for the window")
        let leaseView = try decodeJSON(LeaseList.self, try agents[0].0.ctl(["maintenance", "leases", "--json"]))
        let l1 = leaseView.leases.first { $0.name == "window:fleet1" }
        #expect(l1?.owner == "" && l1?.fence == ran.first?.fence && l1?.completed == ran.first?.occurrence)
        let status = try agents[1].0.ctl(["status"])
        #expect(status.stdout.contains("fleet leases (table \(leases); this agent is agent-b)"), "\(status.output)")
        #expect(status.stdout.contains("window:fleet1"), "\(status.output)")
        agents.removeAll()

        // A holds the window's lease and its backup hangs (every Scan through its proxy stalls); B and C
        // wait. A is killed: once its lease has not moved for 20 s (long enough for heartbeats through a
        // moto busy with every other suite's scans), one of them takes over and the other finds the window
        // done.
        let proxy = try FaultProxy(upstream: fx.stack.motoEndpoint)
        proxy.add(.init(operation: "Scan", fault: .delay(seconds: 120), count: 100_000))
        let (ca, la) = config(
            table: table, leases: leases, window: "fleet2", trigger: "timer", owner: "agent-a", endpoint: proxy.url)
        let a = try AgentProcess(ca)
        var others: [(AgentProcess, TempDir)] = []
        for name in ["b", "c"] {
            let (c, loc) = config(
                table: table, leases: leases, window: "fleet2", trigger: "timer", owner: "agent-\(name)", endpoint: nil)
            others.append((try AgentProcess(c), loc))
        }
        let started = try a.ctl(["maintenance", "run", "fleet2", "--detach"])
        #expect(started.status == 0, "\(started.output)")
        func holder() -> LeaseInfo? {
            (try? decodeJSON(LeaseList.self, try others[0].0.ctl(["maintenance", "leases", "--json"])))?.leases.first {
                $0.name == "window:fleet2"
            }
        }
        #expect(eventually(timeout: 30) { holder()?.owner == "agent-a" })
        let fenceA = holder()?.fence ?? -1
        #expect(eventually(timeout: 30) { ((try? a.client.jobs()) ?? []).contains { $0.kind == "backup" } })
        for (o, _) in others {
            let r = try o.ctl(["maintenance", "run", "fleet2", "--detach"])
            #expect(r.status == 0, "\(r.output)")
        }
        Thread.sleep(forTimeInterval: 2)
        #expect(holder()?.owner == "agent-a", "no takeover while A heartbeats")
        a.process.signal(SIGKILL)
        _ = a.process.wait(timeout: 10)
        var finals: [WindowRunResult] = []
        for (o, _) in others {
            #expect(eventually(timeout: 90) { ((try? windowJobs(o.client)) ?? []).count == 1 }, "\(o.process.log)")
            finals.append(try windowResult(try windowJobs(o.client)[0]))
        }
        let taker = finals.filter { $0.outcome == "succeeded" }
        #expect(taker.count == 1, "\(finals)")
        #expect(taker.first?.fence == fenceA + 1, "the taker's fencing token is the next one")
        #expect(finals.filter { $0.outcome == "skipped" }.count == 1, "\(finals)")
        #expect(others.map { Self.completeBackups($0.1) }.reduce(0, +) == 1)
        #expect(Self.completeBackups(la) == 0, "the killed agent finished nothing")
    }
}
