import ArgumentParser
import WhatIfClient
import WhatIfProtocol
import WhatIfUnits

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

struct Postgres: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "postgres",
        abstract: "PostgreSQL's own view of what is slow.", subcommands: [Top.self])

    struct Top: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "top",
            abstract: "The statements that took the most time (pg_stat_statements).",
            discussion: """
                Calls, total and mean time and rows per normalized statement since the statistics were last \
                reset. Needs pg_stat_statements in shared_preload_libraries (on RDS: the DB parameter group) \
                and CREATE EXTENSION pg_stat_statements; without it the agent says so (exit 78).
                """)
        @OptionGroup var global: GlobalOptions
        @Option(help: "Order by total (time), mean (time) or calls.") var by = "total"
        @Option(help: ArgumentHelp("How many statements (20).", valueName: "n")) var limit: Int?

        func validate() throws {
            guard ["total", "mean", "calls"].contains(by) else {
                throw ValidationError("--by takes total, mean or calls")
            }
            if let l = limit, !(1...1000).contains(l) { throw ValidationError("--limit takes 1 to 1000") }
        }

        func run() throws {
            let top = try perform { try global.client.postgresTop(by: by, limit: limit) }
            if global.json { return try Out.json(top) }
            if top.statements.isEmpty {
                Out.line("no statements recorded yet")
                return
            }
            Out.table(
                ["CALLS", "TOTAL", "MEAN", "ROWS", "QUERY"],
                top.statements.map { s in
                    let q = s.query.split(whereSeparator: \.isNewline).joined(separator: " ")
                    return [
                        String(s.calls), Units.fixed(s.totalMs, 1) + " ms", Units.fixed(s.meanMs, 2) + " ms",
                        String(s.rows), q.count > 80 ? String(q.prefix(77)) + "..." : q,
                    ]
                })
        }
    }
}

extension Redis {
    struct Slowlog: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "slowlog",
            abstract: "The commands Redis logged as slow (SLOWLOG GET), newest first.")
        @OptionGroup var global: GlobalOptions
        @Option(help: ArgumentHelp("How many entries (20).", valueName: "n")) var count: Int?

        func validate() throws {
            if let c = count, !(1...1000).contains(c) { throw ValidationError("--count takes 1 to 1000") }
        }

        func run() throws {
            let log = try perform { try global.client.redisSlowlog(count: count) }
            if global.json { return try Out.json(log) }
            let threshold =
                log.thresholdMicroseconds.map { ", slower than \(Units.fixed(Double($0) / 1000, 1)) ms" } ?? ""
            Out.line("\(log.length) entries kept\(threshold)")
            guard !log.entries.isEmpty else { return }
            let iso = Date.ISO8601FormatStyle()
            Out.table(
                ["ID", "TIME", "DURATION", "CLIENT", "COMMAND"],
                log.entries.map { e in
                    let cmd = e.command.joined(separator: " ")
                    return [
                        String(e.id), iso.format(e.time), Units.fixed(Double(e.microseconds) / 1000, 2) + " ms",
                        e.clientName ?? e.client ?? "-", cmd.count > 60 ? String(cmd.prefix(57)) + "..." : cmd,
                    ]
                })
        }
    }

    struct Latency: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "latency",
            abstract: "Redis's latency monitor: each event's latest and largest spike (LATENCY LATEST).")
        @OptionGroup var global: GlobalOptions

        func run() throws {
            let l = try perform { try global.client.redisLatency() }
            if global.json { return try Out.json(l) }
            if l.thresholdMs == 0 {
                Out.err(
                    "the latency monitor is off (latency-monitor-threshold 0): CONFIG SET latency-monitor-threshold 100"
                )
            }
            guard !l.events.isEmpty else {
                Out.line("no latency events")
                return
            }
            let iso = Date.ISO8601FormatStyle()
            Out.table(
                ["EVENT", "TIME", "LATEST", "MAX"],
                l.events.map { [$0.event, iso.format($0.time), "\($0.latestMs) ms", "\($0.maxMs) ms"] })
        }
    }
}
