import WhatIfCore
import WhatIfMaintenance

/// `maintenance:` in agent.yaml: windows (RDS weekly format or cron) and the jobs each runs, in order.
public struct MaintenanceConfig: Sendable, Equatable {
    public enum CatchUp: String, Sendable, Equatable, CaseIterable { case run, report }

    public struct Window: Sendable, Equatable {
        public var name: String
        public var when: String
        public var schedule: WindowSchedule
        public var jobs: [String]
        public var silenceAlarms: [String]
    }

    public var windows: [Window]
    public var catchUp: CatchUp
}

extension ConfigLoader {
    static let maintenanceKeys = ["windows", "catch_up"]
    static let windowKeys = ["name", "when", "duration", "jobs", "silence_alarms"]
    /// The jobs a window can run (issue 8): backups of each kind, prune, verify, the restore drill, the
    /// Redis expiry sweep (dry run or enforce), VACUUM (ANALYZE) and the table schema check.
    static let windowJobs = [
        "backup", "backup:postgres", "backup:dynamodb", "prune", "verify", "restore-drill", "redis-expiry",
        "redis-expiry:enforce", "vacuum", "schema-check",
    ]

    static func readMaintenance(_ s: YAMLSection?, sink: ProblemSink) -> MaintenanceConfig? {
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
                if case .scalar(let text, _, _) = node { silence.append(text) }
            }
            windows.append(.init(name: name, when: when, schedule: schedule, jobs: jobs, silenceAlarms: silence))
        }
        let catchUp =
            s.choice("catch_up", MaintenanceConfig.CatchUp.allCases.map(\.rawValue)).flatMap(
                MaintenanceConfig.CatchUp.init) ?? .report
        return MaintenanceConfig(windows: windows, catchUp: catchUp)
    }
}
