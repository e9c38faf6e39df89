import ArgumentParser
import WhatIfClient
import WhatIfProtocol

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

struct Jobs: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List, inspect, follow, start and cancel the agent's jobs.",
        subcommands: [List.self, Show.self, Follow.self, Cancel.self, Start.self, Kinds.self],
        defaultSubcommand: List.self)

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List jobs, newest first.")
        @OptionGroup var global: GlobalOptions
        func run() throws {
            let jobs = try perform { try global.client.jobs() }
            if global.json { return try Out.json(JobList(jobs: jobs)) }
            if jobs.isEmpty { return Out.line("no jobs") }
            Out.table(
                ["ID", "KIND", "RESOURCE", "STATE", "PROGRESS", "STARTED", "BY"],
                jobs.map { j in
                    [
                        j.id, j.kind, j.resource, j.state.rawValue, JobText.progress(j.progress),
                        Timestamp.format(j.createdAt), j.requestedBy ?? "-",
                    ]
                })
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one job.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The job's id.") var id: String
        func run() throws {
            let j = try perform { try global.client.job(id) }
            if global.json { return try Out.json(j) }
            JobText.describe(j)
        }
    }

    struct Follow: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Follow a job's progress until it ends (Ctrl-C stops following; the job goes on).",
            discussion: "Exits 0 when the job succeeds, 1 when it fails, is cancelled or is interrupted.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The job's id.") var id: String
        func run() throws {
            let final = try JobText.follow(id, client: global.client, json: global.json)
            if final?.state != .succeeded { throw ExitCode(ExitStatus.failure.rawValue) }
        }
    }

    struct Cancel: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Ask a job to stop; it checkpoints and ends as cancelled.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The job's id.") var id: String
        func run() throws {
            let j = try perform { try global.client.cancelJob(id) }
            if global.json { return try Out.json(j) }
            Out.line(
                j.state.isFinal ? "job \(j.id) already \(j.state.rawValue)" : "cancellation of job \(j.id) requested")
        }
    }

    struct Start: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Start a job of any kind (the capability commands do this for you).",
            discussion: "Shows progress until the job ends, unless --detach.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The job kind (`whatifctl jobs kinds` lists them).") var kind: String
        @Option(name: .long, help: ArgumentHelp("Parameters as a JSON object.", valueName: "json")) var params: String?
        @Flag(help: "Print the job id and return at once.") var detach = false
        func run() throws {
            var p: JSONValue?
            if let params {
                guard let v = try? APICoding.decode(JSONValue.self, from: Array(params.utf8)), case .object = v else {
                    throw ValidationError("--params must be a JSON object, such as '{\"segments\": 4}'")
                }
                p = v
            }
            let j = try perform { try global.client.startJob(kind: kind, params: p) }
            if detach {
                if global.json { try Out.json(j) } else { Out.line(j.id) }
                return
            }
            if !global.json { Out.err("job \(j.id) started") }
            let final = try JobText.follow(j.id, client: global.client, json: global.json)
            if final?.state != .succeeded { throw ExitCode(ExitStatus.failure.rawValue) }
        }
    }

    struct Kinds: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the job kinds this agent runs.")
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
        if let s = j.startedAt, let e = j.endedAt { Out.line("  ran       \(Out.duration(e.timeIntervalSince(s)))") }
        if let p = j.progress { Out.line("  progress  \(bar(p, width: 30))") }
        if let e = j.error { Out.line("  error     \(e.message)\(e.hint.map { "; \($0)" } ?? "")") }
        if let r = j.result, let text = try? APICoding.encode(r, pretty: true) {
            Out.line(
                "  result    "
                    + String(decoding: text, as: UTF8.self).split(separator: "\n").joined(separator: "\n            "))
        }
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
        if let r = p.rate { s += "  " + (p.unit == "bytes" ? Out.bytes(Int64(r)) + "/s" : "\(Int(r)) \(p.unit)/s") }
        if let eta = p.etaSeconds { s += "  ETA \(Out.duration(eta))" }
        if let phase = p.phase { s += "  \(phase)" }
        return s
    }

    /// Streams a job's events until it ends. With `json`, prints each event as an NDJSON line.
    @discardableResult
    static func follow(_ id: String, client: AgentClient, json: Bool) throws -> JobInfo? {
        var last: JobInfo?
        let tty = Out.stderrIsTTY
        var barShown = false
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
                        if let p = j.progress { Out.err(bar(p, width: 30)) }
                        Out.err(
                            "job \(j.id) \(j.state.rawValue)"
                                + (j.error.map { ": \($0.message)\($0.hint.map { "; \($0)" } ?? "")" } ?? ""))
                    }
                case .log:
                    // Debug lines (pg_dump --verbose, say) stay in the job's log: `whatifctl jobs show`.
                    if !json, e.level != "debug" {
                        clearBar()
                        Out.err("\(Timestamp.format(e.time)) \(e.level ?? "info"): \(e.message ?? "")")
                    }
                case .progress:
                    if !json, let p = e.progress {
                        if tty {
                            Out.errRaw("\r\u{1B}[2K" + bar(p, width: 30))
                            barShown = true
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
