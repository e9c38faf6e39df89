import WhatIfAWS
import WhatIfCore
import WhatIfMaintenance
import WhatIfProtocol
import WhatIfUnits

extension ConfigLoader {
    static let maintenanceKeys = ["windows", "catch_up", "fleet"]
    static let windowKeys = ["name", "when", "duration", "jobs", "silence_alarms", "trigger"]
    static let fleetKeys = ["table", "lease", "heartbeat", "owner"]
    /// The jobs a window can run (issue 8): backups of each kind, prune, verify, the restore drill, the
    /// Redis expiry sweep (dry run or enforce), VACUUM (ANALYZE) and the table schema check.
    static let windowJobs =
        ["backup"] + BackupKind.allCases.map { "backup:\($0.rawValue)" } + [
            "prune", "verify", "restore-drill", "redis-expiry", "redis-expiry:enforce", "vacuum", "schema-check",
        ]

    /// `alarms` are the configured alarm names: a window may silence only those (or `*`).
    static func readMaintenance(_ s: YAMLSection?, alarms: Set<String>, sink: ProblemSink) -> MaintenanceConfig? {
        guard let s else { return nil }
        var windows: [MaintenanceConfig.Window] = []
        var names = Set<String>()
        for (i, node) in (s.sequence("windows") ?? []).enumerated() {
            let path = "maintenance.windows[\(i)]"
            guard let w = YAMLSection(node, path: path, line: node.line, known: windowKeys, sink: sink) else {
                continue
            }
            guard let name = w.string("name"),
                !name.isEmpty, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") })
            else {
                sink.add(line: w.line, "\(path) has no name (or not one of a-z 0-9 - _)", "add `name: weekly`")
                continue
            }
            guard names.insert(name).inserted else {
                sink.add(line: w.line("name"), "window \(name) is defined twice", "give each window its own name")
                continue
            }
            guard let when = w.string("when") else {
                sink.add(
                    line: w.line, "\(path) has no when",
                    "add `when: sun:05:00-sun:06:00` (UTC), or a cron expression with `duration: 1h`")
                continue
            }
            let schedule: WindowSchedule
            do { schedule = try WindowSchedule.parse(when, duration: w.duration("duration", max: 7 * 86400)) } catch {
                sink.add(line: w.line("when"), "\(path).when: \(error.message)", error.hint)
                continue
            }
            var jobs: [String] = []
            for (j, job) in (w.sequence("jobs") ?? []).enumerated() {
                guard case .scalar(let text, _, _) = job, windowJobs.contains(text) else {
                    sink.add(
                        line: job.line, "\(path).jobs[\(j)] is not a window job",
                        "use one of \(windowJobs.joined(separator: ", "))")
                    continue
                }
                jobs.append(text)
            }
            if jobs.isEmpty && !w.has("jobs") {
                sink.add(line: w.line, "window \(name) runs no jobs", "add `jobs: [backup, prune, verify]`")
            }
            var silence: [String] = []
            for node in w.sequence("silence_alarms") ?? [] {
                guard case .scalar(let text, _, _) = node else { continue }
                if text != "*" && !alarms.contains(text) {
                    sink.add(
                        line: node.line, "window \(name) silences '\(text)', which is not an alarm",
                        alarms.isEmpty
                            ? "define it under alarms:, or drop it"
                            : "alarms: \(alarms.sorted().joined(separator: ", ")), or *")
                    continue
                }
                silence.append(text)
            }
            let trigger =
                w.choice("trigger", MaintenanceConfig.Trigger.allCases.map(\.rawValue)).flatMap(
                    MaintenanceConfig.Trigger.init) ?? .agent
            windows.append(
                .init(
                    name: name, when: when, schedule: schedule, jobs: jobs, silenceAlarms: silence, trigger: trigger))
        }
        let catchUp =
            s.choice("catch_up", MaintenanceConfig.CatchUp.allCases.map(\.rawValue)).flatMap(
                MaintenanceConfig.CatchUp.init) ?? .report
        var fleet: MaintenanceConfig.Fleet?
        if s.has("fleet"), let f = s.section("fleet", known: fleetKeys) {
            let table = f.string("table") ?? "whatif-agent-leases"
            if !DynamoDB.isValidName(table) {
                sink.add(
                    line: f.line("table"), "maintenance.fleet.table '\(table)' is not a DynamoDB table name",
                    "use \(DynamoDB.nameRule)")
            }
            let lease = f.duration("lease", max: 3600) ?? 60
            let heartbeat = f.duration("heartbeat", max: 3600) ?? lease / 3
            if heartbeat * 2 > lease {
                sink.add(
                    line: f.line("heartbeat"),
                    "maintenance.fleet.heartbeat (\(Units.duration(heartbeat))) must be at most half the lease (\(Units.duration(lease)))",
                    "a holder that heartbeats less often loses its lease to another agent; use heartbeat: \(Units.duration(lease / 3))"
                )
            }
            fleet = .init(table: table, leaseSeconds: lease, heartbeatSeconds: heartbeat, owner: f.string("owner"))
        }
        return MaintenanceConfig(windows: windows, catchUp: catchUp, fleet: fleet)
    }
}
