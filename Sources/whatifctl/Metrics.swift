import ArgumentParser
import WhatIfClient
import WhatIfProtocol
import WhatIfUnits

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

struct Metrics: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "metrics",
        abstract: "Show collected metrics: one line per series with its latest value, range and a sparkline.",
        discussion: """
            NAME is a metric name (CacheHits), namespace/name (AWS/RDS/CPUUtilization) or a namespace \
            (AWS/ElastiCache). The sparkline spans the history actually shown (its column header says how \
            long), one character per equal slice of time, blank where nothing was collected; MIN and MAX \
            are over the same span. --since reaches back at most metrics.retention (24h by default). \
            --format prometheus prints the Prometheus text exposition instead; --format json (or --json) \
            the report with every point.
            """)

    @OptionGroup var global: GlobalOptions
    @Argument(help: "Only series with this metric name, namespace/name or namespace.") var name: String?
    @Option(
        help: ArgumentHelp(
            "How far back: 30m, 3h, 1d (3h or metrics.retention when shorter by default; at most metrics.retention).",
            valueName: "duration"))
    var since: String?
    @Option(help: ArgumentHelp("table (default), json (as --json) or prometheus.", valueName: "format"))
    var format = "table"
    @OptionGroup var watch: WatchOptions

    func validate() throws {
        guard ["table", "json", "prometheus"].contains(format) else {
            throw ValidationError("--format must be table, json or prometheus, not '\(format)'")
        }
        if let since, (DurationText.parse(since) ?? 0) <= 0 {
            throw ValidationError("--since takes a duration such as 30m, 3h, 1d or 1h30m, not '\(since)'")
        }
        try watch.validate(json: global.json || format != "table")
    }

    func run() throws {
        if format == "prometheus" {
            print(try perform { try global.client.prometheusMetrics() }, terminator: "")
            return
        }
        try watch.repeating { try show() }
    }

    func show() throws {
        let json = global.json || format == "json"
        // The table needs a sparkline's worth of points; --json gets every point.
        let report = try perform(flags: ["since": "--since"]) {
            try global.client.metrics(name: name, since: since, maxPoints: json ? nil : 240)
        }
        // A name that matches nothing is "not found" whatever the output format.
        if report.series.isEmpty, let name {
            Out.err("whatifctl: no series named \(name); `whatifctl metrics` lists every series")
            throw ExitCode(ExitStatus.notFound.rawValue)
        }
        if json {
            try Out.json(report)
            return
        }
        for c in report.collectors where !c.up {
            Out.err("collector \(c.name) is down: \(c.error ?? "unknown error")\(c.hint.map { " (\($0))" } ?? "")")
        }
        if report.series.isEmpty {
            Out.err(
                "whatifctl: no metrics yet (the first collection runs within \(Units.duration(report.interval)) of the start)"
            )
            return
        }
        let now = report.generatedAt.timeIntervalSince1970
        let asked = since.flatMap(DurationText.parse) ?? min(3 * 3600, report.retention)
        // The span shown: from the oldest point any series has (within what was asked) to now.
        let oldest = report.series.compactMap { $0.points.first?.t.timeIntervalSince1970 }.min() ?? now
        let span = max(report.interval, min(asked, now - oldest))
        var rows: [[String]] = []
        for s in report.series {
            let dims = s.dimensions.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
            let last = (s.last ?? s.points.last).map { MetricsView.value($0.v, unit: s.unit) } ?? "-"
            rows.append([
                "\(s.namespace) \(s.name)", dims, last, s.min.map { MetricsView.value($0, unit: s.unit) } ?? "-",
                s.max.map { MetricsView.value($0, unit: s.unit) } ?? "-",
                MetricsView.sparkline(
                    s.points.map { ($0.t.timeIntervalSince1970, $0.v) }, from: now - span, to: now,
                    width: MetricsView.width, interval: report.interval),
            ])
        }
        Out.table(["METRIC", "DIMENSIONS", "LAST", "MIN", "MAX", "PAST \(Units.duration(span))"], rows)
    }
}

enum MetricsView {
    static let bars: [Character] = ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"]
    /// Every sparkline is this many characters, whatever the number of points.
    static let width = 30

    /// `points` (time, value) drawn in exactly `width` characters, each the mean of the points in its equal
    /// slice of [from, to], scaled between the series' lowest and highest slice. A slice narrower than the
    /// collection `interval` may hold no point although nothing is missing: it repeats the point before
    /// it when that is at most two intervals old; a slice in a real gap (the agent was down) is a space,
    /// so lines of different series line up in time.
    static func sparkline(_ points: [(Double, Double)], from: Double, to: Double, width: Int, interval: Double)
        -> String
    {
        guard width > 0 else { return "" }
        var sums = [Double](repeating: 0, count: width)
        var counts = [Int](repeating: 0, count: width)
        var latest = [Double?](repeating: nil, count: width)
        let span = max(to - from, 1e-9)
        let slice = span / Double(width)
        for (t, v) in points.sorted(by: { $0.0 < $1.0 }) where t >= from - slice && t <= to + 1 && v.isFinite {
            let i = min(width - 1, max(0, Int((t - from) / slice)))
            sums[i] += v
            counts[i] += 1
            latest[i] = t
        }
        var means: [Double?] = []
        var carried: (t: Double, v: Double)?
        for i in 0..<width {
            if counts[i] > 0 {
                let m = sums[i] / Double(counts[i])
                means.append(m)
                carried = (latest[i]!, m)
            } else if let c = carried, from + Double(i + 1) * slice - c.t <= 2 * interval {
                means.append(c.v)
            } else {
                means.append(nil)
            }
        }
        let present = means.compactMap { $0 }
        guard let lo = present.min(), let hi = present.max() else { return String(repeating: " ", count: width) }
        return String(
            means.map { m -> Character in
                guard let v = m else { return " " }
                return hi == lo
                    ? bars[0] : bars[min(bars.count - 1, Int((v - lo) / (hi - lo) * Double(bars.count - 1) + 0.5))]
            })
    }

    static func value(_ v: Double, unit: String) -> String {
        switch unit {
        case "Bytes": return Units.bytes(Int64(v))
        case "Percent": return "\(Units.fixed(v, 1))%"
        case "Seconds": return Units.duration(v)
        case "Milliseconds": return "\(Units.fixed(v, 1)) ms"
        case "Count/Second": return "\(Units.fixed(v, 2))/s"
        default: return v == v.rounded() && abs(v) < 1e15 ? String(Int64(v)) : Units.fixed(v, 2)
        }
    }
}

struct Alarms: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alarms",
        abstract: "Show every alarm: state, since when, and why.",
        discussion: "Exits 0 whatever the states; use --json for scripts.",
        subcommands: [
            List.self, History.self, Silence.self, Unsilence.self, Ack.self, SetState.self, Test.self,
        ], defaultSubcommand: List.self)

    /// One alarm after a change, in one line (or JSON).
    static func show(_ a: AlarmInfo, _ global: GlobalOptions) throws {
        if global.json { return try Out.json(a) }
        var line = "\(a.alarmName): \(a.stateValue) (\(a.stateReason))"
        if let s = a.silence, let until = s.until {
            line +=
                "; silenced until \(Date.ISO8601FormatStyle().format(until)) by \(s.by)"
                + (s.comment.map { ": \($0)" } ?? "")
        }
        if let k = a.acknowledged { line += "; acknowledged by \(k.by)" + (k.comment.map { ": \($0)" } ?? "") }
        Out.line(line)
    }

    struct Silence: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "silence",
            abstract: "Keep an alarm's changes from the hooks for a while (the history still records them).",
            discussion: "When the silence ends (its time, or unsilence), a state the hooks missed is sent.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The AlarmName.", completion: Complete.alarmNames) var name: String
        @Option(
            name: .customLong("for"), help: ArgumentHelp("How long (30m, 2h, 1d; at most 30d).", valueName: "duration"))
        var duration: String
        @Option(help: ArgumentHelp("Why, for the next person.", valueName: "text")) var comment: String?

        func validate() throws {
            guard let s = DurationText.parse(duration), s >= 1, s <= 30 * 86400 else {
                throw ValidationError("--for takes a duration from 1s to 30d, such as 2h")
            }
        }

        func run() throws {
            try Alarms.show(
                try perform { try global.client.silenceAlarm(name, for: duration, comment: comment) }, global)
        }
    }

    struct Unsilence: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "unsilence",
            abstract: "End an alarm's silence now; a state the hooks missed is sent.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The AlarmName.", completion: Complete.alarmNames) var name: String

        func run() throws { try Alarms.show(try perform { try global.client.unsilenceAlarm(name) }, global) }
    }

    struct Ack: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ack",
            abstract: "Acknowledge an alarm in ALARM: no reminders until its state changes.",
            discussion: "An alarm that is not in ALARM is refused (exit 75).")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The AlarmName.", completion: Complete.alarmNames) var name: String
        @Option(help: ArgumentHelp("What is being done.", valueName: "text")) var comment: String?

        func run() throws {
            try Alarms.show(try perform { try global.client.acknowledgeAlarm(name, comment: comment) }, global)
        }
    }

    struct SetState: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set-state",
            abstract: "Set an alarm's state now, as AWS SetAlarmState (to test the hooks and the pager).",
            discussion: "The hooks are told (unless silenced); the next evaluation sets the state the data say.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The AlarmName.", completion: Complete.alarmNames) var name: String
        @Option(help: ArgumentHelp("OK, ALARM or INSUFFICIENT_DATA.", valueName: "state")) var state: String
        @Option(help: ArgumentHelp("Why (the StateReason).", valueName: "text")) var reason: String

        func validate() throws {
            guard ["OK", "ALARM", "INSUFFICIENT_DATA"].contains(state) else {
                throw ValidationError("--state takes OK, ALARM or INSUFFICIENT_DATA")
            }
            guard !reason.isEmpty, reason.count <= 1023 else {
                throw ValidationError("--reason takes 1 to 1023 characters")
            }
        }

        func run() throws {
            try Alarms.show(try perform { try global.client.setAlarmState(name, state: state, reason: reason) }, global)
        }
    }

    struct Test: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "test",
            abstract: "Send a test alert to one receiver (a webhook of hooks.webhooks, by name) now.",
            discussion: """
                The receiver gets a WhatIfTestAlert in its own format (Slack blocks, a PagerDuty trigger \
                then its resolve, an Alertmanager alert then its end, or Alertmanager's webhook payload), \
                with its retries. Exits 0 when it answered 2xx, 1 when it did not (the error says why), \
                66 for an unknown name.
                """)
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The receiver's name (hooks.webhooks[].name; webhook-1, … by default).") var receiver: String

        func run() throws {
            let r = try perform { try global.client.testReceiver(receiver) }
            if global.json {
                try Out.json(r)
            } else if r.delivered {
                Out.line(
                    "\(r.receiver) (\(r.format), \(r.url)): delivered, HTTP \(r.status ?? 0) after \(r.attempts ?? 1) attempt(s)"
                )
            } else {
                Out.err(
                    "whatifctl: \(r.receiver) (\(r.format), \(r.url)): not delivered: \(r.error ?? "unknown error")")
            }
            if !r.delivered { throw ExitCode(ExitStatus.failure.rawValue) }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list", abstract: "Every alarm with its state and reason.")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var watch: WatchOptions

        func validate() throws { try watch.validate(json: global.json) }

        func run() throws { try watch.repeating { try show() } }

        func show() throws {
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
                    var state = $0.stateValue
                    if let until = $0.silence?.until, until > now {
                        state += " (silenced \(Units.duration(until.timeIntervalSince(now))) more)"
                    }
                    if $0.acknowledged != nil { state += " (acked)" }
                    return [
                        $0.alarmName, state,
                        Units.duration(now.timeIntervalSince($0.stateUpdatedTimestamp)) + " ago", $0.stateReason,
                    ]
                })
            if list.hooks.failed > 0 || list.hooks.dropped > 0 {
                Out.err(
                    "hooks: \(list.hooks.failed) failed, \(list.hooks.dropped) dropped (see the agent's log)")
            }
        }
    }

    struct History: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "history", abstract: "An alarm's state changes, newest first.")
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
