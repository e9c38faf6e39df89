import ArgumentParser
import WhatIfClient
import WhatIfProtocol
import WhatIfUnits

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

struct Jobs: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jobs",
        abstract: "List, inspect, follow, start and cancel the agent's jobs.",
        subcommands: [List.self, Show.self, Logs.self, Follow.self, Cancel.self, Start.self, Kinds.self],
        defaultSubcommand: List.self)

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list",
            abstract: "List jobs, newest first: state, progress, age, and why a job failed.",
            discussion: "--wide adds the resource, the start time and who started it, and the whole error.")
        @OptionGroup var global: GlobalOptions
        @Option(help: "Only jobs in this state (running, succeeded, failed, cancelled, interrupted, queued).")
        var state: JobState?
        @Option(help: "Only jobs of this kind (backup, redis.expiry, ...; `whatifctl jobs kinds`).") var kind: String?
        @Option(help: "At most this many jobs (0: all).") var limit = 20
        @Flag(help: "More columns: resource, start time, who started it, the whole error.") var wide = false
        @OptionGroup var watch: WatchOptions

        func validate() throws {
            guard limit >= 0 else { throw ValidationError("--limit takes 0 (all) or more") }
            try watch.validate(json: global.json)
        }

        func run() throws { try watch.repeating { try show() } }

        func show() throws {
            var jobs = try perform { try global.client.jobs() }
            jobs = jobs.filter { j in (state.map { j.state == $0 } ?? true) && (kind.map { j.kind == $0 } ?? true) }
            let total = jobs.count
            if limit > 0 { jobs = Array(jobs.prefix(limit)) }
            if global.json { return try Out.json(JobList(jobs: jobs)) }
            if jobs.isEmpty {
                Out.err("whatifctl: no jobs\(state == nil && kind == nil ? "" : " match")")
                return
            }
            let now = Date()
            let error = { (j: JobInfo) -> String in
                guard let e = j.error, j.state != .succeeded else { return "" }
                return e.message
            }
            // One row per job with every column; the narrow layout is a selection of them.
            let header = ["ID", "KIND", "STATE", "PROGRESS", "AGE", "TOOK", "RESOURCE", "STARTED", "BY", "ERROR"]
            let rows = jobs.map { j in
                [
                    j.id, j.kind, j.state.rawValue, JobText.progress(j.progress),
                    Units.age(of: now.timeIntervalSince(j.createdAt)), JobText.took(j), j.resource,
                    Timestamp.format(j.createdAt), j.requestedBy ?? "-", error(j),
                ]
            }
            if wide {
                Out.table(header, rows)
            } else {
                let narrow = [0, 1, 2, 3, 4, 9]
                Out.table(narrow.map { header[$0] }, rows.map { r in narrow.map { r[$0] } }, maxWidth: 100)
            }
            if total > jobs.count {
                Out.err("whatifctl: \(total - jobs.count) older jobs not shown (--limit 0 shows all)")
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "show",
            abstract: "Show one job: what it was asked, how it ended, its result and its last log lines.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The job's id.", completion: Complete.jobIDs) var id: String
        func run() throws {
            let j = try perform { try global.client.job(id) }
            if global.json { return try Out.json(j) }
            JobText.describe(j)
            var lines: [JobEvent] = []
            try? global.client.events(of: id, follow: false) { e in
                if e.type == .log { lines.append(e) }
                return true
            }
            if !lines.isEmpty {
                Out.line("  log       (last \(min(10, lines.count)) of \(lines.count); `whatifctl jobs logs \(id)`)")
                for e in lines.suffix(10) { Out.line("            " + JobText.logLine(e)) }
            }
        }
    }

    struct Logs: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "logs",
            abstract: "Print a job's log (every line, debug too), oldest first.",
            discussion: "With --follow, goes on printing until the job ends (Ctrl-C stops; the job goes on).")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The job's id.", completion: Complete.jobIDs) var id: String
        @Flag(name: [.short, .long], help: "Keep printing new lines until the job ends.") var follow = false
        func run() throws {
            try perform {
                try global.client.events(of: id, follow: follow) { e in
                    if e.type == .log {
                        if global.json {
                            if let line = try? APICoding.encode(e) { Out.line(String(decoding: line, as: UTF8.self)) }
                        } else {
                            Out.line(JobText.logLine(e))
                        }
                        fflush(nil)
                    }
                    return true
                }
            }
        }
    }

    struct Follow: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "follow",
            abstract: "Follow a job's progress until it ends (Ctrl-C stops following; the job goes on).",
            discussion: "Exits 0 when the job succeeds, 1 when it fails, is cancelled or is interrupted.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The job's id.", completion: Complete.jobIDs) var id: String
        @Flag(help: "Print the job's events as NDJSON as they come; --json prints only the final record.")
        var events = false
        func run() throws {
            let final = try JobText.follow(id, client: global.client, events: events)
            if global.json, !events, let final { try Out.json(final) }
            if final?.state != .succeeded { throw ExitCode(ExitStatus.failure.rawValue) }
        }
    }

    struct Cancel: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "cancel",
            abstract: "Ask a job to stop; it checkpoints and ends as cancelled.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The job's id.", completion: Complete.jobIDs) var id: String
        func run() throws {
            let j = try perform { try global.client.cancelJob(id) }
            if global.json { return try Out.json(j) }
            Out.line(
                j.state.isFinal ? "job \(j.id) already \(j.state.rawValue)" : "cancellation of job \(j.id) requested")
        }
    }

    struct Start: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "start",
            abstract: "Start a job of any kind (the capability commands do this for you).",
            discussion: "Shows progress until the job ends, unless --detach.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The job kind (`whatifctl jobs kinds` lists them).", completion: Complete.jobKinds)
        var kind: String
        @Option(name: .long, help: ArgumentHelp("Parameters as a JSON object.", valueName: "json")) var params: String?
        @OptionGroup var jobOptions: JobOptions
        func run() throws {
            var p: JSONValue?
            if let params {
                guard let v = try? APICoding.decode(JSONValue.self, from: Array(params.utf8)), case .object = v else {
                    throw ValidationError("--params must be a JSON object, such as '{\"segments\": 4}'")
                }
                p = v
            }
            let j = try perform { try global.client.startJob(kind: kind, params: p) }
            let final = try JobText.run(j, global: global, options: jobOptions)
            if let final, final.state != .succeeded { throw ExitCode(ExitStatus.failure.rawValue) }
        }
    }

    struct Kinds: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "kinds", abstract: "List the job kinds this agent runs.")
        @OptionGroup var global: GlobalOptions
        func run() throws {
            let kinds = try perform { try global.client.jobKinds() }
            if global.json { return try Out.json(JobKindList(kinds: kinds)) }
            if kinds.isEmpty { return Out.line("this agent runs no job kinds") }
            Out.table(["KIND", "WHAT IT DOES"], kinds.map { [$0.kind, $0.summary] })
        }
    }
}

enum JobText {
    /// `2026-12-05T23:51:28.595Z info: message`
    static func logLine(_ e: JobEvent) -> String {
        "\(Timestamp.format(e.time)) \(e.level ?? "info"): \(e.message ?? "")"
    }

    /// How long a job ran (so far, while it runs).
    static func took(_ j: JobInfo) -> String {
        guard let s = j.startedAt else { return "-" }
        return Units.duration((j.endedAt ?? Date()).timeIntervalSince(s))
    }

    static func progress(_ p: JobProgress?) -> String {
        guard let p else { return "-" }
        if let f = p.fraction { return "\(Int(f * 100))%" }
        return Out.amount(p.done, unit: p.unit)
    }

    static func describe(_ j: JobInfo) {
        Out.line("job \(j.id)")
        Out.line("  kind      \(j.kind)")
        Out.line("  resource  \(j.resource)")
        Out.line("  state     \(j.state.rawValue)")
        Out.line("  created   \(Timestamp.format(j.createdAt))\(j.requestedBy.map { " by \($0)" } ?? "")")
        if let s = j.startedAt, let e = j.endedAt { Out.line("  ran       \(Units.duration(e.timeIntervalSince(s)))") }
        if let p = j.progress { Out.line("  progress  \(bar(p, width: 30))") }
        if let e = j.error { Out.line("  error     \(e.message)\(e.hint.map { "; \($0)" } ?? "")") }
        if let r = j.result {
            Out.line("  result")
            for line in readable(r, indent: 4) { Out.line(line) }
        }
    }

    /// A result as indented `key: value` lines (YAML-like), long lists cut after 10 items.
    static func readable(_ v: JSONValue, indent: Int) -> [String] {
        let pad = String(repeating: " ", count: indent)
        func scalar(_ v: JSONValue) -> String? {
            switch v {
            case .null: "-"
            case .bool(let b): b ? "yes" : "no"
            case .number(let n): n == n.rounded() && abs(n) < 1e15 ? String(Int64(n)) : String(n)
            case .string(let s): s
            case .array(let a) where a.isEmpty: "none"
            case .object(let o) where o.isEmpty: "none"
            default: nil
            }
        }
        switch v {
        case .object(let o):
            return o.sorted { $0.key < $1.key }.flatMap { k, v -> [String] in
                if let s = scalar(v) { return ["\(pad)\(k): \(s)"] }
                return ["\(pad)\(k):"] + readable(v, indent: indent + 2)
            }
        case .array(let a):
            var out = a.prefix(10).flatMap { item -> [String] in
                if let s = scalar(item) { return ["\(pad)- \(s)"] }
                var lines = readable(item, indent: indent + 2)
                if !lines.isEmpty { lines[0] = pad + "- " + lines[0].dropFirst(indent + 2) }
                return lines
            }
            if a.count > 10 { out.append("\(pad)… \(a.count - 10) more (`--json` shows every one)") }
            return out
        default:
            return [pad + (scalar(v) ?? "")]
        }
    }

    /// `45% (1.2 MiB of 2.7 MiB), 1.2 MiB/s, ETA 12s, dumping`: progress as a line of a log.
    static func plain(_ p: JobProgress) -> String {
        var parts: [String] = []
        if let f = p.fraction {
            parts.append(
                "\(Int(f * 100))% (\(Out.amount(p.done, unit: p.unit)) of \(Out.amount(p.total ?? 0, unit: p.unit)))")
        } else {
            parts.append(Out.amount(p.done, unit: p.unit))
        }
        if let r = p.rate { parts.append(p.unit == "bytes" ? Units.bytes(Int64(r)) + "/s" : "\(Int(r)) \(p.unit)/s") }
        if let eta = p.etaSeconds { parts.append("ETA \(Units.duration(eta))") }
        if let phase = p.phase { parts.append(phase) }
        return parts.joined(separator: ", ")
    }

    /// `[=========>          ]  45%  1.2 MiB/s  ETA 12s  dumping`
    static func bar(_ p: JobProgress, width: Int) -> String {
        var s = ""
        if let f = p.fraction {
            let filled = Int(f * Double(width))
            s +=
                "[" + String(repeating: "=", count: filled) + (filled < width ? ">" : "")
                + String(repeating: " ", count: max(0, width - filled - 1)) + "] \(Int(f * 100))%"
            s += "  " + Out.amount(p.done, unit: p.unit) + " of " + Out.amount(p.total ?? 0, unit: p.unit)
        } else {
            s += Out.amount(p.done, unit: p.unit)
        }
        if let r = p.rate { s += "  " + (p.unit == "bytes" ? Units.bytes(Int64(r)) + "/s" : "\(Int(r)) \(p.unit)/s") }
        if let eta = p.etaSeconds { s += "  ETA \(Units.duration(eta))" }
        if let phase = p.phase { s += "  \(phase)" }
        return s
    }

    /// Runs a started job the way the options say: --detach prints it (its id, or its record with
    /// --json) and returns nil; otherwise follows it to its end (--events: NDJSON on stdout) and, with
    /// --json, prints its final record. Returns the final record.
    static func run(_ job: JobInfo, global: GlobalOptions, options: JobOptions) throws -> JobInfo? {
        if options.detach {
            if global.json { try Out.json(job) } else { Out.line(job.id) }
            return nil
        }
        if !options.events { Out.err("job \(job.id) started (\(job.kind) of \(job.resource))") }
        let final = try follow(job.id, client: global.client, events: options.events)
        if global.json, !options.events, let final { try Out.json(final) }
        return final
    }

    /// Streams a job's events until it ends: in words on stderr, or with `events` each event as an NDJSON
    /// line on stdout.
    @discardableResult
    static func follow(_ id: String, client: AgentClient, events json: Bool) throws -> JobInfo? {
        var last: JobInfo?
        let tty = Out.stderrIsTTY
        var barShown = false
        var lastPlain: ContinuousClock.Instant?
        var lastPlainText = ""
        func clearBar() {
            if barShown {
                Out.errRaw("\r\u{1B}[2K")
                barShown = false
            }
        }
        try perform {
            try client.events(of: id, follow: true) { e in
                if json {
                    if let line = try? APICoding.encode(e) { print(String(decoding: line, as: UTF8.self)) }
                    fflush(nil)
                }
                switch e.type {
                case .state:
                    last = e.job
                    if !json, let j = e.job, j.state.isFinal {
                        clearBar()
                        // The last progress, once: as the bar on a terminal, else as a line (unless that
                        // line was the last one printed).
                        if let p = j.progress {
                            if tty {
                                Out.err(bar(p, width: 30))
                            } else if lastPlainText != plain(p) {
                                Out.err("progress: " + plain(p))
                            }
                        }
                        Out.err(
                            "job \(j.id) \(j.state.rawValue)"
                                + (j.error.map { ": \($0.message)\($0.hint.map { "; \($0)" } ?? "")" } ?? ""))
                    }
                case .log:
                    // Debug lines (pg_dump --verbose, say) stay in the job's log: `whatifctl jobs logs ID`.
                    if !json, e.level != "debug" {
                        clearBar()
                        Out.err(logLine(e))
                    }
                case .progress:
                    if !json, let p = e.progress {
                        if tty {
                            Out.errRaw("\r\u{1B}[2K" + bar(p, width: 30))
                            barShown = true
                        } else if lastPlain.map({ ContinuousClock.now - $0 >= .seconds(5) }) ?? true {
                            // Not a terminal (a log, a pipe): a plain line at most every 5 seconds.
                            lastPlainText = plain(p)
                            Out.err("progress: " + lastPlainText)
                            lastPlain = ContinuousClock.now
                        }
                    }
                }
                return true
            }
        }
        clearBar()
        if last?.state.isFinal != true {
            // The stream ended without a final state (agent stopping): ask once more.
            last = (try? client.job(id)) ?? last
        }
        return last
    }
}

extension Out {
    static func errRaw(_ s: String) {
        var t = s
        t.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
    }
}

#if canImport(Glibc)
    import Glibc
#endif
