import ArgumentParser
import WhatIfClient
import WhatIfProtocol
import WhatIfUnits

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write the data tier's state as one self-contained HTML page (a dashboard to keep or share).",
        discussion: """
            One file, no external assets: an SVG chart of every series over --since, each alarm's state \
            and its history on the same time axis, the backup catalog (age, size, verified), the jobs and \
            the maintenance windows. Readable on a phone. Readers may write it.
            """)
    @OptionGroup var global: GlobalOptions
    @Option(help: ArgumentHelp("Where to write the page (- for standard output).", valueName: "file")) var html: String
    @Option(help: ArgumentHelp("The span the charts cover (3h).", valueName: "duration")) var since = "3h"

    func validate() throws {
        guard let s = DurationText.parse(since), s > 0 else {
            throw ValidationError("--since takes a duration, such as 3h")
        }
    }

    func run() throws {
        let client = global.client
        // Each part is fetched on its own: one that fails is said so on the page, not the whole page lost.
        func part<T>(_ body: () throws -> T) -> Result<T, any Error> { Result { try body() } }
        let agent = try perform { try client.status() }.agent
        let alarms = part { try client.alarms() }
        let data = ReportPage.Data(
            generatedAt: Date(), agent: agent, span: DurationText.parse(since) ?? 10800,
            metrics: part { try client.metrics(name: nil, since: since, maxPoints: 240) },
            alarms: alarms,
            histories: part {
                try alarms.get().alarms.map { ($0.alarmName, try client.alarmHistory($0.alarmName).items) }
            },
            backups: part { try client.backups() }, jobs: part { try client.jobs() },
            windows: part { try client.maintenanceWindows() })
        let page = ReportPage.render(data)
        if html == "-" { return Out.raw(page) }
        do {
            // Written beside the target and renamed over it: a reader never sees half a page.
            try Data(page.utf8).write(to: URL(fileURLWithPath: html), options: .atomic)
        } catch {
            Out.err("whatifctl: cannot write \(html): \(error)")
            throw ExitCode(ExitStatus.failure.rawValue)
        }
        Out.line("wrote \(html) (\(Units.bytes(Int64(page.utf8.count))))")
    }
}

/// The report's HTML: inline CSS, inline SVG, nothing fetched.
enum ReportPage {
    struct Data {
        var generatedAt: Date
        var agent: AgentInfo
        var span: Double
        var metrics: Result<MetricsReport, any Error>
        var alarms: Result<AlarmList, any Error>
        var histories: Result<[(String, [AlarmHistoryItem])], any Error>
        var backups: Result<BackupList, any Error>
        var jobs: Result<[JobInfo], any Error>
        var windows: Result<MaintenanceWindowList, any Error>
    }

    static func esc(_ s: String) -> String { Markup.escape(s) }

    static let iso = Date.ISO8601FormatStyle()

    static func number(_ v: Double) -> String {
        if v == v.rounded() && abs(v) < 1e12 { return String(Int64(v)) }
        return Units.fixed(v, abs(v) < 10 ? 3 : 1)
    }

    static func failed(_ e: any Error) -> String {
        "<p class=warn>could not be read: \(esc("\(e)"))</p>"
    }

    static func table(_ head: [String], _ rows: [[String]]) -> String {
        var s =
            "<div class=scroll><table><thead><tr>" + head.map { "<th>\(esc($0))</th>" }.joined()
            + "</tr></thead><tbody>"
        for r in rows { s += "<tr>" + r.map { "<td>\(esc($0))</td>" }.joined() + "</tr>" }
        return s + "</tbody></table></div>"
    }

    /// A line chart of one series over [start, end]: the polyline, its min and max, the time axis ends.
    static func chart(_ s: MetricSeriesData, start: Date, end: Date) -> String {
        let w = 300.0
        let h = 90.0
        let span = max(1, end.timeIntervalSince(start))
        let values = s.points.map(\.v)
        let lo = values.min() ?? 0
        let hi = values.max() ?? 0
        let range = hi - lo == 0 ? 1 : hi - lo
        let pts = s.points.map { p -> String in
            let x = (p.t.timeIntervalSince(start) / span) * w
            let y = h - 4 - ((p.v - lo) / range) * (h - 8)
            return "\(Units.fixed(min(max(x, 0), w), 1)),\(Units.fixed(y, 1))"
        }
        let dims = s.dimensions.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", ")
        var svg =
            "<figure><figcaption><b>\(esc(s.namespace)) \(esc(s.name))</b> <span class=dim>\(esc(dims)) (\(esc(s.unit)))</span></figcaption>"
        svg +=
            "<svg viewBox=\"0 0 \(Int(w)) \(Int(h))\" role=img aria-label=\"\(esc(s.name))\" preserveAspectRatio=none>"
        svg += "<rect width=\"\(Int(w))\" height=\"\(Int(h))\" class=bg />"
        if pts.count == 1 {
            let xy = pts[0].split(separator: ",")
            svg += "<circle cx=\"\(xy[0])\" cy=\"\(xy[1])\" r=\"2\" class=line />"
        } else if !pts.isEmpty {
            svg += "<polyline points=\"\(pts.joined(separator: " "))\" class=line fill=none />"
        }
        svg += "</svg>"
        svg +=
            "<div class=axis><span>\(esc(iso.format(start)))</span><span>min \(number(lo)) · max \(number(hi)) · last \(s.last.map { number($0.v) } ?? "-")</span><span>\(esc(iso.format(end)))</span></div></figure>"
        return svg
    }

    /// An alarm's states over [start, end] as bands, from its history (newest first) and current state.
    static func timeline(_ a: AlarmInfo, _ history: [AlarmHistoryItem], start: Date, end: Date) -> String {
        let w = 300.0
        let span = max(1, end.timeIntervalSince(start))
        // The state at `start`: the `from` of the first change after it, else the current state.
        let changes = history.filter { $0.time > start && $0.time <= end }.sorted { $0.time < $1.time }
        var state = changes.first?.from ?? a.stateValue
        var at = start
        var bands = ""
        func band(_ from: Date, _ to: Date, _ s: String) {
            let x = from.timeIntervalSince(start) / span * w
            let width = max(0.5, to.timeIntervalSince(from) / span * w)
            let cls = s == "ALARM" ? "alarm" : s == "OK" ? "ok" : "nodata"
            bands +=
                "<rect x=\"\(Units.fixed(x, 1))\" y=\"0\" width=\"\(Units.fixed(width, 1))\" height=\"14\" class=\(cls)><title>\(esc(s)) from \(esc(iso.format(from)))</title></rect>"
        }
        for c in changes {
            band(at, c.time, state)
            at = c.time
            state = c.to
        }
        band(at, end, state)
        return
            "<figure><figcaption><b>\(esc(a.alarmName))</b> <span class=\"state \(a.stateValue == "ALARM" ? "alarm" : a.stateValue == "OK" ? "ok" : "nodata")\">\(esc(a.stateValue))</span> <span class=dim>\(esc(a.stateReason))</span></figcaption><svg viewBox=\"0 0 \(Int(w)) 14\" preserveAspectRatio=none role=img aria-label=\"\(esc(a.alarmName)) states\">\(bands)</svg></figure>"
    }

    static let style = """
        :root{color-scheme:light dark;--fg:#1b1f24;--bg:#fff;--muted:#5b6470;--card:#f4f6f8;--line:#1f6feb;--ok:#2da44e;--alarm:#cf222e;--nodata:#afb8c1}
        @media (prefers-color-scheme:dark){:root{--fg:#e6edf3;--bg:#0d1117;--muted:#8b949e;--card:#161b22;--line:#58a6ff}}
        *{box-sizing:border-box}body{margin:0;padding:12px;font:14px/1.4 system-ui,-apple-system,sans-serif;color:var(--fg);background:var(--bg)}
        h1{font-size:20px;margin:4px 0}h2{font-size:16px;margin:20px 0 8px;border-bottom:1px solid var(--nodata)}
        .dim,.axis{color:var(--muted);font-size:12px}.axis{display:flex;justify-content:space-between;gap:4px;flex-wrap:wrap}
        .grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(100%,300px),1fr));gap:12px}
        figure{margin:0;padding:8px;background:var(--card);border-radius:6px;min-width:0}figcaption{margin-bottom:4px;overflow-wrap:anywhere}
        svg{display:block;width:100%;height:auto}.bg{fill:none}.line{stroke:var(--line);stroke-width:1.5;fill:var(--line)}polyline.line{fill:none}
        .ok{fill:var(--ok);color:var(--ok)}.alarm{fill:var(--alarm);color:var(--alarm)}.nodata{fill:var(--nodata);color:var(--muted)}
        .state{font-weight:600}.warn{color:var(--alarm)}.scroll{overflow-x:auto}
        table{border-collapse:collapse;width:100%;font-size:13px}th,td{text-align:left;padding:4px 6px;border-bottom:1px solid var(--card);white-space:nowrap}
        """

    static func render(_ d: Data) -> String {
        let end = d.generatedAt
        let start = end.addingTimeInterval(-d.span)
        var body =
            "<h1>whatif-agent: \(esc(d.agent.environment)) data tier</h1><p class=dim>whatifd \(esc(d.agent.version)) · from \(esc(iso.format(start))) to \(esc(iso.format(end))) (\(esc(Units.duration(d.span))))</p>"
        body += "<h2>Alarms</h2>"
        switch (d.alarms, d.histories) {
        case (.success(let list), let h):
            if list.alarms.isEmpty { body += "<p class=dim>no alarms configured</p>" }
            let histories = (try? h.get()).map { Dictionary($0, uniquingKeysWith: { a, _ in a }) } ?? [:]
            body += "<div class=grid>"
            for a in list.alarms { body += timeline(a, histories[a.alarmName] ?? [], start: start, end: end) }
            body += "</div>"
        case (.failure(let e), _): body += failed(e)
        }
        body += "<h2>Metrics</h2>"
        switch d.metrics {
        case .success(let m):
            let groups = Dictionary(grouping: m.series, by: \.namespace)
            for ns in groups.keys.sorted() {
                body += "<h3>\(esc(ns))</h3><div class=grid>"
                for s in groups[ns]!.sorted(by: { ($0.name, "\($0.dimensions)") < ($1.name, "\($1.dimensions)") }) {
                    body += chart(s, start: start, end: end)
                }
                body += "</div>"
            }
            if m.series.isEmpty { body += "<p class=dim>no data yet</p>" }
        case .failure(let e): body += failed(e)
        }
        body += "<h2>Backups</h2>"
        switch d.backups {
        case .success(let b):
            body +=
                b.backups.isEmpty
                ? "<p class=dim>no backups</p>"
                : table(
                    ["ID", "KIND", "AGE", "SIZE", "VERIFIED"],
                    b.backups.map { e in
                        [
                            e.id, e.kind.rawValue, Units.age(of: end.timeIntervalSince(e.manifest.startedAt)),
                            BackupText.size(e.manifest), BackupText.verified(e, now: end),
                        ]
                    })
        case .failure(let e): body += failed(e)
        }
        body += "<h2>Jobs</h2>"
        switch d.jobs {
        case .success(let jobs):
            body +=
                jobs.isEmpty
                ? "<p class=dim>no jobs</p>"
                : table(
                    ["ID", "KIND", "STATE", "STARTED", "TOOK", "BY"],
                    jobs.prefix(50).map { j in
                        [
                            j.id, j.kind, j.state.rawValue, j.startedAt.map { iso.format($0) } ?? "-",
                            j.startedAt.flatMap { s in j.endedAt.map { Units.duration($0.timeIntervalSince(s)) } }
                                ?? "-",
                            j.requestedBy ?? "-",
                        ]
                    })
        case .failure(let e): body += failed(e)
        }
        body += "<h2>Maintenance windows</h2>"
        switch d.windows {
        case .success(let w):
            body +=
                w.windows.isEmpty
                ? "<p class=dim>no maintenance windows</p>"
                : table(
                    ["NAME", "WHEN", "NEXT", "LAST"],
                    w.windows.map { x in
                        [
                            x.name, x.when, iso.format(x.start),
                            x.lastRun.map { "\($0.outcome) (\(iso.format($0.occurrence)))" } ?? "-",
                        ]
                    })
        case .failure(let e): body += failed(e)
        }
        return
            "<!doctype html><html lang=en><head><meta charset=utf-8><meta name=viewport content=\"width=device-width,initial-scale=1\"><title>whatif-agent report \(esc(iso.format(end)))</title><style>\(style)</style></head><body>\(body)</body></html>\n"
    }
}
