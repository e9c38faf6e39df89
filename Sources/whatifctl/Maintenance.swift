import ArgumentParser
import WhatIfClient
import WhatIfProtocol
import WhatIfUnits

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

struct Maintenance: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "maintenance",
        abstract: "Maintenance windows: when they open, what they run; run one now; restore drills; fleet leases.",
        subcommands: [List.self, Next.self, Run.self, Drill.self, Leases.self], defaultSubcommand: List.self)

    static func utc(_ d: Date) -> String { Timestamp.format(d) }

    /// No windows is an answer, not an error: said on stderr, exit 0.
    static func noWindows() {
        Out.err("whatifctl: no maintenance windows are configured; add maintenance.windows to the agent's config")
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list",
            abstract: "Every window (UTC) with its jobs and its next (or current) occurrence.")
        @OptionGroup var global: GlobalOptions

        func run() throws {
            let l = try perform { try global.client.maintenanceWindows() }
            if l.windows.isEmpty { Maintenance.noWindows() }
            if global.json {
                try Out.json(l)
                return
            }
            if l.windows.isEmpty { return }
            Out.table(
                ["WINDOW", "WHEN (UTC)", "NEXT", "JOBS", "LAST RUN"],
                l.windows.map {
                    [
                        $0.name + ($0.trigger == "timer" ? " (timer)" : ""), $0.when,
                        $0.openNow ? "open now" : utc($0.start), $0.jobs.joined(separator: ", "),
                        $0.lastRun.map { "\($0.outcome) \(utc($0.occurrence))" } ?? "-",
                    ]
                })
            Out.line("missed windows on start: \(l.catchUp)")
        }
    }

    struct Next: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "next", abstract: "The next window to open (or the named one).")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "A window's name.", completion: Complete.windowNames) var window: String?

        func run() throws {
            let l = try perform { try global.client.maintenanceWindows() }
            if l.windows.isEmpty && window == nil {
                Maintenance.noWindows()
                if global.json { Out.line("null") }
                return
            }
            let candidates = l.windows.filter { window == nil || $0.name == window }
            guard let w = candidates.min(by: { $0.start < $1.start }) else {
                Out.err("whatifctl: no window named \(window ?? "?"); `whatifctl maintenance list` shows them")
                throw ExitCode(ExitStatus.notFound.rawValue)
            }
            if global.json {
                try Out.json(w)
                return
            }
            Out.line(
                "\(w.name): \(w.openNow ? "open now, until" : "opens \(utc(w.start)), closes") \(utc(w.end)); runs \(w.jobs.joined(separator: ", "))"
            )
        }
    }
}

extension Maintenance {
    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "run",
            abstract: "Run a window's jobs now, in order, and show how each went.",
            discussion: """
                Starts a maintenance.window job and follows it; Ctrl-C stops watching, the window goes on. Inside \
                the window's time the jobs must end by its close; outside it they get the window's length from now. \
                A job whose last runs say it cannot finish in time is skipped and reported (--ignore-estimates \
                starts it anyway). In a fleet, the agent holding the window's lease runs it and the others report \
                that. This is also what a systemd timer runs (whatif-maintenance@WINDOW.timer). Exits 0 when every \
                job succeeded (or another agent of the fleet ran the window), 1 when any failed or was skipped, \
                66 for an unknown window, 75 when the window is already running.
                """)
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The window's name (`whatifctl maintenance list`).", completion: Complete.windowNames)
        var window: String
        @Flag(help: "Start jobs even when their past runs say they will not finish in time.")
        var ignoreEstimates = false
        @OptionGroup var jobOptions: JobOptions

        func run() throws {
            let job = try perform {
                try global.client.runMaintenanceWindow(
                    window, MaintenanceRunRequest(ignoreEstimates: ignoreEstimates ? true : nil))
            }
            try followJob(job, JobSpecs.MaintenanceWindow.self, global: global, options: jobOptions) { r in
                Out.table(
                    ["JOB", "STATE", "TOOK", "ESTIMATE", "JOB ID", "NOTE"],
                    r.steps.map {
                        [
                            $0.job, $0.state, $0.seconds.map { Units.duration($0) } ?? "-",
                            $0.estimateSeconds.map { Units.duration($0) } ?? "-", $0.jobId ?? "-", $0.reason ?? "",
                        ]
                    })
                var line = "window \(r.window): \(r.outcome)"
                if let o = r.leaseOwner { line += " (fleet lease held by \(o), fence \(r.fence ?? 0))" }
                Out.line(line)
                if let n = r.note { Out.line(n) }
            }
        }
    }

    struct Drill: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "drill",
            abstract: "Restore the newest backups into a scratch database and table, check them, drop them.",
            discussion: """
                Each newest backup is checked file by file against its manifest's SHA-256, restored into \
                whatif_restore_drill (PostgreSQL) or TABLE-restore-drill (DynamoDB), its row or item counts \
                compared with the manifest, and the copy dropped. Pass or fail and the time to restore are \
                recorded as metrics (WhatIf/Maintenance RestoreDrillSuccess, RestoreDrillSeconds); a failure \
                goes to the alert hooks. Exits 1 when the drill fails.
                """)
        @OptionGroup var global: GlobalOptions
        @OptionGroup var jobOptions: JobOptions

        func run() throws {
            let job = try perform { try global.client.startJob(kind: "restore.drill") }
            try followJob(job, JobSpecs.RestoreDrill.self, global: global, options: jobOptions) { r in
                for p in r.parts {
                    Out.line(
                        "\(p.kind.rawValue): \(p.ok ? "PASS" : "FAIL") backup \(p.backupId ?? "-") into \(p.scratch): "
                            + (p.ok
                                ? "\(p.restored.map(String.init) ?? "-") of \(p.expected.map(String.init) ?? "-") restored in \(p.secondsToRestore.map { Units.fixed($0, 1) } ?? "-") s"
                                : p.error ?? "failed"))
                }
            }
        }
    }

    struct Leases: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "leases",
            abstract: "Who holds each window's fleet lease (maintenance.fleet).")
        @OptionGroup var global: GlobalOptions

        func run() throws {
            let l = try perform { try global.client.maintenanceLeases() }
            if global.json { return try Out.json(l) }
            guard let table = l.table else {
                Out.line("this agent is not part of a fleet (no maintenance.fleet in its config)")
                return
            }
            Out.line("lease table \(table); this agent is \(l.owner ?? "?")")
            if let e = l.error { Out.err("cannot read the leases: \(e)") }
            Self.table(l)
            if l.error != nil { throw ExitCode(ExitStatus.unavailable.rawValue) }
        }

        /// The leases as a table (here and in `whatifctl status`).
        static func table(_ l: LeaseList) {
            Out.table(
                ["LEASE", "HOLDER", "FENCE", "HEARTBEAT", "LAST DONE"],
                l.leases.map {
                    [
                        $0.name, $0.owner.isEmpty ? "(free)" : $0.owner + ($0.mine ? " (this agent)" : ""),
                        String($0.fence), utc($0.heartbeatAt), $0.completed.map { utc($0) } ?? "-",
                    ]
                })
        }
    }
}
