import Foundation
import Logging
import Testing
import WhatIfCore
import WhatIfHTTP
import WhatIfTesting

@testable import WhatIfMonitoring

struct HookTests {
    static let logger = Logger(label: "test")

    static func event(_ state: AlarmState = .alarm) -> HookEvent {
        HookEvent(
            type: "alarm", time: Date(timeIntervalSince1970: 1_764_000_000), host: "h1", environment: "development",
            alarm: .init(
                name: "cpu-high", description: "CPU", state: state, previousState: .ok, reason: "Threshold Crossed",
                namespace: "AWS/RDS", metricName: "CPUUtilization", dimensions: ["DBInstanceIdentifier": "db1"],
                threshold: 80, comparisonOperator: "GreaterThanThreshold", isRepeat: false,
                since: Date(timeIntervalSince1970: 1_764_000_000)))
    }

    static func dispatcher(_ dir: TempDir, timeout: Double = 5, webhooks: [HookSettings.Webhook] = [])
        -> HookDispatcher
    {
        HookDispatcher(
            settings: HookSettings(
                directory: dir.file("hooks.d"), timeout: timeout, webhooks: webhooks, retryBase: 0.05),
            http: HTTPClient(), logger: logger, baseEnvironment: ["PATH": "/usr/bin:/bin"], stateDirectory: dir.path)
    }

    static func script(_ dir: TempDir, _ name: String, _ body: String, mode: Int = 0o755) throws {
        try FileManager.default.createDirectory(atPath: dir.file("hooks.d"), withIntermediateDirectories: true)
        _ = try dir.write("hooks.d/\(name)", "#!/bin/sh\n" + body, mode: mode)
    }

    /// The event arrives on stdin as JSON with WHATIF_* variables; exit codes count; run-parts naming
    /// and the executable bit decide what runs.
    @Test func executablesGetTheEventAndTheirExitCodesCount() throws {
        let dir = TempDir("whatif-hooks")
        try Self.script(
            dir, "10-ok", "cat > \(dir.file("stdin.json")); env | grep ^WHATIF_ | sort > \(dir.file("env"))\n")
        try Self.script(dir, "20-fails", "echo boom >&2; exit 3\n")
        try Self.script(dir, "skip.sh", "touch \(dir.file("dotted-ran"))\n")
        try Self.script(dir, "30-not-executable", "touch \(dir.file("plain-ran"))\n", mode: 0o644)
        let d = Self.dispatcher(dir)
        d.send(Self.event())
        d.shutdown()
        #expect(d.stats.delivered == 1)
        #expect(d.stats.failed == 1)
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        let got = try decoder.decode(HookEvent.self, from: Data(try Files.read(dir.file("stdin.json"))))
        #expect(got == Self.event())
        let env = String(decoding: try Files.read(dir.file("env")), as: UTF8.self)
        #expect(env.contains("WHATIF_ALARM_NAME=cpu-high\n"))
        #expect(env.contains("WHATIF_ALARM_STATE=ALARM\n"))
        #expect(env.contains("WHATIF_EVENT=alarm\n"))
        #expect(!Files.exists(dir.file("dotted-ran")))
        #expect(!Files.exists(dir.file("plain-ran")))
    }

    /// A hanging hook is killed at the timeout and counted; sending never waits for it.
    @Test func hangingHookIsKilledAndNeverBlocksTheSender() throws {
        let dir = TempDir("whatif-hooks")
        try Self.script(dir, "hang", "trap '' TERM; sleep 60\n")
        let d = Self.dispatcher(dir, timeout: 0.5)
        for _ in 0..<3 { d.send(Self.event()) }
        // Had send waited for a hook, that hook would have timed out (and been counted) before it returned.
        #expect(d.stats.failed == 0 && d.stats.delivered == 0, "send waited for the hook")
        d.shutdown()
        #expect(d.stats.failed == 3)
        #expect(d.stats.delivered == 0)
    }

    /// Stopping the agent waits only so long for hooks still running.
    @Test func shutdownGraceBoundsTheWait() throws {
        let dir = TempDir("whatif-hooks")
        try Self.script(dir, "slow", "sleep 8\n")
        let d = Self.dispatcher(dir, timeout: 10)
        d.send(Self.event())
        sleepThread(seconds: 0.2)
        let watch = Stopwatch()
        d.shutdown(grace: 0.3)
        #expect(watch.elapsedSeconds < 5, "shutdown waited for the hook (8 s), not the grace (0.3 s)")
    }

    /// A receiver that fails twice then succeeds gets the alert on the third try, with the token read
    /// from its file, in Alertmanager's webhook format.
    @Test func webhookRetriesUntilTheReceiverAnswers() throws {
        let dir = TempDir("whatif-hooks")
        let token = try dir.write("token", "s3cret\n")
        let calls = Locked(0)
        let server = try TinyHTTPServer { _ in
            let n = calls.withLock { c -> Int in
                c += 1
                return c
            }
            return n <= 2 ? .text(500, "not yet") : .text(200, "ok")
        }
        defer { server.stop() }
        let d = Self.dispatcher(
            dir,
            webhooks: [
                .init(
                    url: server.url + "/hook", headerFiles: ["Authorization-Token": token], maxAttempts: 5, timeout: 5)
            ])
        d.send(Self.event())
        d.shutdown()
        #expect(calls.value == 3)
        #expect(d.stats.delivered == 1)
        #expect(d.stats.failed == 0)
        let req = server.requests.value.last!
        #expect(req.header("authorization-token") == "s3cret")
        #expect(req.header("content-type") == "application/json")
        let json = try JSONSerialization.jsonObject(with: Data(req.body)) as! [String: Any]
        #expect(json["version"] as? String == "4")
        #expect(json["status"] as? String == "firing")
        let alerts = json["alerts"] as! [[String: Any]]
        let labels = alerts[0]["labels"] as! [String: String]
        #expect(labels["alertname"] == "cpu-high")
        #expect(labels["DBInstanceIdentifier"] == "db1")
        #expect(alerts[0]["endsAt"] as? String == "0001-01-01T00:00:00Z")
        #expect((alerts[0]["fingerprint"] as? String)?.count == 16)
        // Alertmanager's webhook payload (version 4): an integer count, the group key of the alert name.
        let raw = String(decoding: req.body, as: UTF8.self)
        #expect(raw.contains(#""truncatedAlerts":0,"#) || raw.contains(#""truncatedAlerts":0}"#), "\(raw)")
        #expect(json["groupKey"] as? String == #"{}:{alertname="cpu-high"}"#)
        #expect((json["groupLabels"] as? [String: String]) == ["alertname": "cpu-high"])
        #expect(json["commonLabels"] as? [String: String] == labels)
    }

    @Test func undeliverableWebhookIsCountedAndResolvedAlertsEnd() throws {
        let dir = TempDir("whatif-hooks")
        let server = try TinyHTTPServer { _ in .text(503, "down") }
        defer { server.stop() }
        let d = Self.dispatcher(dir, webhooks: [.init(url: server.url, maxAttempts: 2, timeout: 5)])
        d.send(Self.event(.ok))
        d.shutdown()
        #expect(server.requests.value.count == 2)
        #expect(d.stats.failed == 1)
        let json = try JSONSerialization.jsonObject(with: Data(server.requests.value[0].body)) as! [String: Any]
        #expect(json["status"] as? String == "resolved")
        let alert = (json["alerts"] as! [[String: Any]])[0]
        #expect(alert["endsAt"] as? String != "0001-01-01T00:00:00Z")
    }
}

/// The monitoring loop with a scripted collector and a fake clock: hooks hear state changes only, a
/// reminder comes at the repeat interval, and states and history survive a restart.
struct MonitoringServiceTests {
    final class Scripted: Collector, @unchecked Sendable {
        let name = "scripted"
        let value = Locked<Double?>(nil)
        func collect(now: Double) throws -> [Sample] {
            guard let v = value.value else { throw Failure("service down", hint: "start it") }
            return [
                Sample(
                    key: MetricKey(namespace: "Test", name: "Load", dimensions: [], unit: "None"), value: v, time: now)
            ]
        }
    }

    static func alarm() -> AlarmDefinition {
        AlarmDefinition(
            name: "load-high", namespace: "Test", metricName: "Load", dimensions: [], statistic: .maximum, period: 60,
            evaluationPeriods: 2, threshold: 10, comparison: .greaterThanThreshold)
    }

    @Test func stateChangesReachTheHooksOnceAndPersist() throws {
        let dir = TempDir("whatif-mon")
        try FileManager.default.createDirectory(atPath: dir.file("hooks.d"), withIntermediateDirectories: true)
        _ = try dir.write(
            "hooks.d/record", "#!/bin/sh\necho \"$WHATIF_ALARM_STATE $WHATIF_ALARM_REPEAT\" >> \(dir.file("seen"))\n",
            mode: 0o755)
        let settings = MonitoringSettings(interval: 60, retention: 86400, evaluationInterval: 60)
        let t0 = 1_764_000_000.0
        let s = try MonitoringService(
            settings: settings, stateDirectory: dir.path, logger: Logger(label: "t"), host: "h",
            environment: "development",
            now: t0)
        let c = Scripted()
        let hooks = HookDispatcher(
            settings: HookSettings(directory: dir.file("hooks.d"), timeout: 5, repeatInterval: 600), http: HTTPClient(),
            logger: Logger(label: "t"), baseEnvironment: [:], stateDirectory: dir.path)
        s.configure(settings: settings, collectors: [c], alarms: [Self.alarm()], hooks: hooks, cloudwatch: nil)
        var t = t0
        func step(_ v: Double?) {
            c.value.set(v)
            s.cycle(now: t)
            t += 60
        }
        step(20)
        step(20)
        step(20)
        #expect(s.alarmInfos()[0].stateValue == "ALARM")
        for _ in 0..<5 { step(20) }  // still ALARM: no new change; one reminder after 600 s
        for _ in 0..<6 { step(20) }
        step(1)
        step(1)
        #expect(s.alarmInfos()[0].stateValue == "OK")
        step(nil)  // the service goes down: reported, the loop goes on
        #expect(s.collectorStatuses.first { $0.name == "scripted" }?.up == false)
        s.stop()
        let seen = String(decoding: try Files.read(dir.file("seen")), as: UTF8.self)
        #expect(seen == "ALARM 0\nALARM 1\nOK 0\n", "\(seen)")
        #expect(s.history("load-high")?.map(\.to) == ["OK", "ALARM"])

        let again = try MonitoringService(
            settings: settings, stateDirectory: dir.path, logger: Logger(label: "t"), host: "h",
            environment: "development",
            now: t)
        again.configure(settings: settings, collectors: [], alarms: [Self.alarm()], hooks: nil, cloudwatch: nil)
        #expect(again.alarmInfos()[0].stateValue == "OK")
        #expect(again.history("load-high")?.count == 2)
        #expect(
            again.store.points(MetricKey(namespace: "Test", name: "Load", dimensions: [], unit: "None"), since: 0).count
                == 16)
        // A cycle with no collectors (everything disabled) only records the agent's own counters.
        again.cycle(now: t + 60)
        // A changed definition starts over.
        var changed = Self.alarm()
        changed.threshold = 5
        again.configure(settings: settings, collectors: [], alarms: [changed], hooks: nil, cloudwatch: nil)
        #expect(again.alarmInfos()[0].stateValue == "INSUFFICIENT_DATA")
        #expect(again.alarmInfos()[0].stateReason == "Unchecked: Alarm updated")
        // A removed alarm is forgotten.
        again.configure(settings: settings, collectors: [], alarms: [], hooks: nil, cloudwatch: nil)
        #expect(again.history("load-high") == nil)
        again.stop()
        let saved = String(decoding: try Files.read(dir.file("metrics/alarms.json")), as: UTF8.self)
        #expect(!saved.contains("load-high"))
    }
}

/// Gaps in collection become missing datapoints in the evaluation range; only complete periods count.
struct RangeTests {
    @Test func gapsAreMissingPeriods() throws {
        let s = try MonitoringService(
            settings: MonitoringSettings(), stateDirectory: nil, logger: Logger(label: "t"), host: "h",
            environment: "development", now: 0)
        let key = MetricKey(namespace: "T", name: "M", dimensions: [], unit: "None")
        let t0 = 1_764_000_000.0  // a multiple of 60
        // Periods 0, 1 and 3 have data (two samples in period 1), 2 and 4 none; 5 is still open.
        for (offset, v) in [(5.0, 1.0), (65, 2), (95, 8), (185, 4), (305, 100)] {
            s.store.append([Sample(key: key, value: v, time: t0 + offset)], now: t0 + offset)
        }
        let alarm = AlarmDefinition(
            name: "a", namespace: "T", metricName: "M", dimensions: [], statistic: .average, period: 60,
            evaluationPeriods: 3, threshold: 3, comparison: .greaterThanThreshold)
        let range = s.range(for: alarm, now: t0 + 310)
        #expect(range.map(\.start) == [t0, t0 + 60, t0 + 120, t0 + 180, t0 + 240])
        #expect(range.map(\.value) == [1, 5, nil, 4, nil])
        // 3 real points (1, 5, 4): two breach, M = N = 3 needs three: OK.
        #expect(AlarmEvaluator.evaluate(alarm, range: range).state == .ok)
        var two = alarm
        two.datapointsToAlarm = 2
        #expect(AlarmEvaluator.evaluate(two, range: range).state == .alarm)
        s.stop()
    }
}

/// A monitoring service on a scripted collector whose hooks folder holds one script recording `line`
/// (shell words over the WHATIF_* variables) to `seen`.
func recordingService(_ dir: TempDir, line: String, repeatInterval: Double? = 4 * 3600) throws -> (
    MonitoringService, MonitoringServiceTests.Scripted, HookDispatcher, MonitoringSettings
) {
    try FileManager.default.createDirectory(atPath: dir.file("hooks.d"), withIntermediateDirectories: true)
    _ = try dir.write("hooks.d/record", "#!/bin/sh\necho \"\(line)\" >> \(dir.file("seen"))\n", mode: 0o755)
    let settings = MonitoringSettings(interval: 60, retention: 86400, evaluationInterval: 60)
    let s = try MonitoringService(
        settings: settings, stateDirectory: dir.path, logger: Logger(label: "t"), host: "h",
        environment: "development", now: 1_764_000_000)
    let hooks = HookDispatcher(
        settings: HookSettings(directory: dir.file("hooks.d"), timeout: 5, repeatInterval: repeatInterval),
        http: HTTPClient(), logger: Logger(label: "t"), baseEnvironment: [:], stateDirectory: dir.path)
    return (s, MonitoringServiceTests.Scripted(), hooks, settings)
}

/// Maintenance windows: alarms that change state while one is open are annotated with it; those it
/// silences are kept from the hooks, and what still differs when it closes is sent then.
struct MaintenanceSilenceTests {
    @Test func windowsAnnotateAndSilenceAlarms() throws {
        let dir = TempDir("whatif-silence")
        let (s, c, hooks, settings) = try recordingService(
            dir,
            line:
                "$WHATIF_EVENT $WHATIF_ALARM_NAME $WHATIF_ALARM_STATE [$WHATIF_MAINTENANCE_WINDOW] $WHATIF_WINDOW_NAME $WHATIF_WINDOW_OUTCOME"
        )
        let t0 = 1_764_000_000.0
        var loud = MonitoringServiceTests.alarm()
        loud.name = "load-loud"
        s.configure(
            settings: settings, collectors: [c], alarms: [MonitoringServiceTests.alarm(), loud], hooks: hooks,
            cloudwatch: nil)
        var t = t0
        func step(_ v: Double) {
            c.value.set(v)
            s.cycle(now: t)
            t += 60
        }
        step(1)
        step(1)
        step(1)  // both OK (INSUFFICIENT_DATA -> OK reaches the hooks, no window yet)
        s.beginMaintenance(window: "weekly", silence: ["load-high"])
        step(50)
        step(50)
        step(50)  // both ALARM: load-loud is told (annotated), load-high is silenced
        #expect(s.alarmInfos().allSatisfy { $0.stateValue == "ALARM" })
        let high = s.history("load-high")!
        #expect(high[0].to == "ALARM" && high[0].maintenanceWindow == "weekly" && high[0].silenced == true)
        #expect(s.history("load-loud")![0].maintenanceWindow == "weekly")
        #expect(s.history("load-loud")![0].silenced == nil)
        s.endMaintenance(window: "weekly", now: t)  // load-high is still in ALARM: the hooks hear it now
        // A window that silences an alarm which goes and comes back inside it sends nothing at its close.
        s.beginMaintenance(window: "nightly", silence: ["*"])
        step(1)
        step(1)
        step(1)
        step(50)
        step(50)
        step(50)
        s.endMaintenance(window: "nightly", now: t)
        s.windowEnded(
            HookEvent.Window(
                name: "nightly", outcome: "partial", trigger: "scheduled", occurrence: Date(timeIntervalSince1970: t0),
                steps: ["vacuum: skipped"]))
        s.stop()
        let seen = String(decoding: try Files.read(dir.file("seen")), as: UTF8.self).split(separator: "\n")
            .map { $0.trimmingCharacters(in: .whitespaces) }
        #expect(
            seen == [
                "alarm load-high OK []", "alarm load-loud OK []",
                "alarm load-loud ALARM [weekly]", "alarm load-high ALARM [weekly]",
                "maintenance   [] nightly partial",
            ]
                || seen == [
                    "alarm load-loud OK []", "alarm load-high OK []",
                    "alarm load-loud ALARM [weekly]", "alarm load-high ALARM [weekly]",
                    "maintenance   [] nightly partial",
                ], "\(seen)")
        #expect(
            s.history("load-high")!.prefix(2).allSatisfy { $0.maintenanceWindow == "nightly" && $0.silenced == true })
    }
}

/// An operator's silence, acknowledgement and SetAlarmState: what the hooks hear, what the history and
/// the alarm's info say, and that they persist.
struct OperatorAlarmTests {
    @Test func silenceAckAndSetStateAsOperatorsExpect() throws {
        let dir = TempDir("whatif-operator")
        let (s, c, hooks, settings) = try recordingService(
            dir, line: "$WHATIF_ALARM_STATE $WHATIF_ALARM_REPEAT $WHATIF_ALARM_REASON", repeatInterval: 120)
        let t0 = 1_764_000_000.0
        s.configure(
            settings: settings, collectors: [c], alarms: [MonitoringServiceTests.alarm()], hooks: hooks,
            cloudwatch: nil)
        var t = t0
        func step(_ v: Double) {
            c.value.set(v)
            s.cycle(now: t)
            t += 60
        }
        step(1)
        step(1)
        step(1)  // OK: told
        // Acknowledging needs ALARM; an unknown alarm is named as such.
        #expect(throws: MonitoringService.AlarmChange.notInAlarm("OK")) {
            try s.acknowledge("load-high", by: "bob", comment: nil, now: t)
        }
        #expect(throws: MonitoringService.AlarmChange.noSuchAlarm) {
            try s.silence("nope", for: 60, by: "a", comment: nil)
        }
        // Silenced for 10 minutes: the change to ALARM is recorded, not told.
        let silenced = try s.silence("load-high", for: 600, by: "alice", comment: "deploying", now: t)
        #expect(silenced.silence?.by == "alice" && silenced.silence?.comment == "deploying")
        step(50)
        step(50)
        step(50)
        #expect(s.alarmInfos()[0].stateValue == "ALARM")
        #expect(s.history("load-high")?.first?.silenced == true)
        // The silence runs out: the missed ALARM is told once; then a reminder every 120 s until acked.
        for _ in 0..<12 { step(50) }
        let acked = try s.acknowledge("load-high", by: "bob", comment: "on it", now: t)
        #expect(acked.acknowledged?.by == "bob" && acked.silence == nil)
        for _ in 0..<6 { step(50) }
        // SetAlarmState: told at once, with who set it; the next evaluation sets what the data say.
        let set = try s.setState("load-high", .ok, reason: "testing the pager", by: "carol", now: t)
        #expect(
            set.stateValue == "OK" && set.stateReason == "set by carol: testing the pager" && set.acknowledged == nil)
        step(50)
        #expect(s.alarmInfos()[0].stateValue == "ALARM")
        s.stop()
        let seen = String(decoding: try Files.read(dir.file("seen")), as: UTF8.self).split(separator: "\n")
        #expect(
            seen.map { $0.split(separator: " ").prefix(2).joined(separator: " ") }
                == ["OK 0", "ALARM 0", "ALARM 1", "ALARM 1", "OK 0", "ALARM 0"], "\(seen)")
        #expect(seen[1].contains("after a silence") && seen[4].contains("set by carol: testing the pager"), "\(seen)")
        // Persisted: a new service reads the notes back.
        let again = try MonitoringService(
            settings: settings, stateDirectory: dir.path, logger: Logger(label: "t"), host: "h",
            environment: "development", now: t)
        again.configure(
            settings: settings, collectors: [], alarms: [MonitoringServiceTests.alarm()], hooks: nil, cloudwatch: nil)
        #expect(again.history("load-high")?.contains { $0.reason == "set by carol: testing the pager" } == true)
        again.stop()
    }
}
