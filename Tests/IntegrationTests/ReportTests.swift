import Foundation
import Testing
import WhatIfAgentTesting
import WhatIfClient
import WhatIfCore
import WhatIfProtocol
import WhatIfTesting

/// `whatifctl report --html`: one self-contained page, well formed, that a browser lays out (Debian's
/// headless Chromium, when it is installed).
@Suite(.serialized) struct ReportTests {
    @Test func theReportIsOneSelfContainedPageABrowserRenders() throws {
        var config = TestConfig()
        config.metrics = "  interval: 1s\n  evaluation_interval: 1s\n"
        config.alarms = """
              - AlarmName: collector-up
                Namespace: WhatIf/Agent
                MetricName: CollectorUp
                Dimensions: [{Name: Collector, Value: host}]
                Statistic: Maximum
                Period: 10
                EvaluationPeriods: 1
                Threshold: 1
                ComparisonOperator: GreaterThanOrEqualToThreshold

            """
        let a = try AgentProcess(config)
        let client = a.client
        #expect(
            eventually(timeout: 30) {
                (try? client.alarms().alarms.first?.stateValue) == "ALARM"
                    && ((try? client.metrics(name: "CPUUtilization", since: "1h").series.first?.points.count) ?? 0) >= 2
            })
        let file = a.dir.file("report.html")
        let r = try a.ctl(["report", "--html", file, "--since", "10m"])
        #expect(r.status == 0 && r.stdout.contains("wrote \(file)"), "\(r.output)")
        let html = try String(contentsOfFile: file, encoding: .utf8)
        #expect(html.hasPrefix("<!doctype html>") && html.contains("name=viewport"))
        #expect(html.contains("<svg") && html.contains("<polyline") && html.contains("collector-up"))
        #expect(html.contains("WhatIf/Host CPUUtilization") && html.contains("class=alarm"))
        for external in ["src=", "href=", "url(", "@import", "http://", "https://", "<script"] {
            #expect(!html.contains(external), "the page refers to something outside it: \(external)")
        }
        // Well formed: every element Python's HTML parser opens is closed, in order.
        let check = try Run.command(
            [
                "python3", "-c",
                """
                import sys, html.parser
                void = {"meta", "br", "img", "rect", "circle", "polyline", "input", "hr", "link"}
                class P(html.parser.HTMLParser):
                    def __init__(self):
                        super().__init__(); self.stack = []
                    def handle_starttag(self, tag, attrs):
                        if tag not in void: self.stack.append(tag)
                    def handle_startendtag(self, tag, attrs): pass
                    def handle_endtag(self, tag):
                        if tag in void: return
                        if not self.stack or self.stack.pop() != tag: sys.exit("unbalanced </%s>" % tag)
                p = P(); p.feed(open(sys.argv[1]).read())
                sys.exit("unclosed: %s" % p.stack if p.stack else 0)
                """, file,
            ])
        #expect(check.status == 0, "\(check.output)")
        // To standard output with `-`.
        let out = try a.ctl(["report", "--html", "-"])
        #expect(out.status == 0 && out.stdout.hasPrefix("<!doctype html>"))
        // A phone-sized headless Chromium lays it out and draws it.
        guard
            let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first(where: {
                FileManager.default.isExecutableFile(atPath: $0)
            })
        else { return }
        let shot = a.dir.file("report.png")
        let render = try Run.command(
            [
                chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                "--window-size=390,844", "--screenshot=\(shot)", "file://\(file)",
            ], timeout: 120)
        #expect(render.status == 0, "\(render.output)")
        let png = try Data(contentsOf: URL(fileURLWithPath: shot))
        #expect(png.count > 2000 && png.prefix(4) == Data([0x89, 0x50, 0x4E, 0x47]), "\(png.count) bytes")
        let dom = try Run.command(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", "file://\(file)"], timeout: 120)
        #expect(dom.status == 0 && dom.stdout.contains("<svg") && dom.stdout.contains("collector-up"), "\(dom.stderr)")
    }
}
