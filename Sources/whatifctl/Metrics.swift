import ArgumentParser
import WhatIfClient
import WhatIfProtocol

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

struct Metrics: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show collected metrics: one line per series with its latest value and a sparkline.",
        discussion: """
            NAME is a metric name (CacheHits), namespace/name (AWS/RDS/CPUUtilization) or a namespace \
            (AWS/ElastiCache). --format prometheus prints the Prometheus text exposition instead.
            """)

    @OptionGroup var global: GlobalOptions
    @Argument(help: "Only series with this metric name, namespace/name or namespace.") var name: String?
    @Option(help: ArgumentHelp("How far back: 30m, 3h, 1d.", valueName: "duration")) var since = "3h"
    @Option(help: ArgumentHelp("table (default), json (as --json) or prometheus.", valueName: "format"))
    var format = "table"

    func validate() throws {
        guard ["table", "json", "prometheus"].contains(format) else {
            throw ValidationError("--format must be table, json or prometheus")
        }
    }

    func run() throws {
        if format == "prometheus" {
            print(try perform { try global.client.prometheusMetrics() }, terminator: "")
            return
        }
        // The table needs a sparkline's worth of points; --json gets every point.
        let report = try perform {
            try global.client.metrics(name: name, since: since, maxPoints: global.json || format == "json" ? nil : 120)
        }
        // A name that matches nothing is "not found" whatever the output format.
        if report.series.isEmpty, let name {
            Out.err("whatifctl: no series named \(name); `whatifctl metrics` lists every series")
            throw ExitCode(ExitStatus.notFound.rawValue)
        }
        if global.json || format == "json" {
            try Out.json(report)
            return
        }
        for c in report.collectors where !c.up {
            Out.err("collector \(c.name) is down: \(c.error ?? "unknown error")\(c.hint.map { " (\($0))" } ?? "")")
        }
        if report.series.isEmpty {
            Out.err(
                "whatifctl: no metrics yet (the first collection runs within \(Int(report.interval)) s of the start)")
            return
        }
        let width = 40
        var rows: [[String]] = []
        for s in report.series {
            let dims = s.dimensions.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
            let last = (s.last ?? s.points.last).map { MetricsView.value($0.v, unit: s.unit) } ?? "-"
            rows.append([
                "\(s.namespace) \(s.name)", dims, last, MetricsView.sparkline(s.points.map(\.v), width: width),
            ])
        }
        Out.table(["METRIC", "DIMENSIONS", "LAST", "SINCE \(since)"], rows)
    }
}

enum MetricsView {
    static let bars: [Character] = ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"]

    /// The values squeezed into `width` buckets (each the bucket's mean), drawn with eight heights.
    static func sparkline(_ values: [Double], width: Int) -> String {
        guard !values.isEmpty else { return "" }
        let n = min(width, values.count)
        var buckets: [Double] = []
        for i in 0..<n {
            let from = i * values.count / n
            let to = max(from + 1, (i + 1) * values.count / n)
            let slice = values[from..<to]
            buckets.append(slice.reduce(0, +) / Double(slice.count))
        }
        let lo = buckets.min()!
        let hi = buckets.max()!
        return String(
            buckets.map { v in
                hi == lo ? bars[0] : bars[min(bars.count - 1, Int((v - lo) / (hi - lo) * Double(bars.count - 1) + 0.5))]
            })
    }

    static func value(_ v: Double, unit: String) -> String {
        switch unit {
        case "Bytes": return Out.bytes(Int64(v))
        case "Percent": return "\(Out.fixed(v, 1))%"
        case "Seconds": return Out.duration(v)
        case "Milliseconds": return "\(Out.fixed(v, 1)) ms"
        case "Count/Second": return "\(Out.fixed(v, 2))/s"
        default: return v == v.rounded() && abs(v) < 1e15 ? String(Int64(v)) : Out.fixed(v, 2)
        }
    }
}

struct Alarms: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show every alarm: state, since when, and why.",
        discussion: "Exits 0 whatever the states; use --json for scripts.",
        subcommands: [List.self, History.self], defaultSubcommand: List.self)

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every alarm with its state and reason.")
        @OptionGroup var global: GlobalOptions

        func run() throws {
            let list = try perform { try global.client.alarms() }
            if global.json {
                try Out.json(list)
                return
            }
            if list.alarms.isEmpty {
                Out.line("no alarms configured (add them under alarms: in the config)")
                return
            }
            let now = Date()
            Out.table(
                ["NAME", "STATE", "SINCE", "REASON"],
                list.alarms.map {
                    [
                        $0.alarmName, $0.stateValue,
                        Out.duration(now.timeIntervalSince($0.stateUpdatedTimestamp)) + " ago", $0.stateReason,
                    ]
                })
            if list.hooks.failed > 0 || list.hooks.dropped > 0 {
                Out.err(
                    "hooks: \(list.hooks.failed) failed, \(list.hooks.dropped) dropped (see the agent's log)")
            }
        }
    }

    struct History: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "An alarm's state changes, newest first.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The AlarmName.", completion: Complete.alarmNames) var name: String

        func run() throws {
            let h = try perform { try global.client.alarmHistory(name) }
            if global.json {
                try Out.json(h)
                return
            }
            if h.items.isEmpty {
                Out.line("\(name) has not changed state yet")
                return
            }
            let iso = Date.ISO8601FormatStyle()
            // Changes inside a maintenance window name it; silenced ones were kept from the hooks.
            let windows = h.items.contains { $0.maintenanceWindow != nil }
            Out.table(
                ["TIME", "FROM", "TO"] + (windows ? ["WINDOW"] : []) + ["REASON"],
                h.items.map { i in
                    [iso.format(i.time), i.from, i.to]
                        + (windows
                            ? [i.maintenanceWindow.map { $0 + (i.silenced == true ? " (silenced)" : "") } ?? "-"] : [])
                        + [i.reason]
                })
        }
    }
}
