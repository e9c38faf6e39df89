import Foundation
import Testing
import WhatIfCore
import WhatIfHTTP
import WhatIfTesting

@testable import WhatIfMonitoring

/// Slack, PagerDuty Events API v2 and Alertmanager's API v2, each received on loopback by a server that
/// checks the payload against the service's documented schema and answers as the service does.
@Suite struct ReceiverTests {
    static func object(_ bytes: [UInt8]) -> [String: Any]? {
        try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any]
    }

    /// Slack (api.slack.com/reference/block-kit): `text` is the notification fallback; a header block
    /// takes plain_text of at most 150 characters, a section text object at most 3000, a context block
    /// at most 10 elements; at most 50 blocks. Slack answers `ok` with 200, `invalid_blocks` with 400.
    static func slackProblems(_ body: [UInt8]) -> [String] {
        guard let o = object(body) else { return ["not a JSON object"] }
        var p: [String] = []
        if (o["text"] as? String)?.isEmpty != false { p.append("no text (the notification fallback)") }
        guard let blocks = o["blocks"] as? [[String: Any]], !blocks.isEmpty, blocks.count <= 50 else {
            return p + ["blocks missing or more than 50"]
        }
        for b in blocks {
            switch b["type"] as? String {
            case "header":
                let t = b["text"] as? [String: Any]
                if t?["type"] as? String != "plain_text" { p.append("header text is not plain_text") }
                if ((t?["text"] as? String)?.count ?? 999) > 150 { p.append("header text over 150") }
            case "section":
                let t = b["text"] as? [String: Any]
                if !["mrkdwn", "plain_text"].contains(t?["type"] as? String ?? "") { p.append("section text type") }
                if ((t?["text"] as? String)?.count ?? 9999) > 3000 { p.append("section text over 3000") }
            case "context":
                let e = b["elements"] as? [[String: Any]] ?? []
                if e.isEmpty || e.count > 10 { p.append("context elements") }
            default: p.append("unknown block type \(b["type"] ?? "nil")")
            }
        }
        return p
    }

    /// PagerDuty Events API v2 (developer.pagerduty.com, "Send an Alert Event"): routing_key is the
    /// 32-character integration key; event_action trigger, acknowledge or resolve; dedup_key at most 255
    /// characters; a trigger needs payload.summary (at most 1024), payload.source and payload.severity
    /// (critical, error, warning, info); timestamp ISO 8601. 202 with status success, 400 otherwise.
    static func pagerDutyProblems(_ body: [UInt8]) -> [String] {
        guard let o = object(body) else { return ["not a JSON object"] }
        var p: [String] = []
        if (o["routing_key"] as? String)?.count != 32 { p.append("routing_key is not 32 characters") }
        let action = o["event_action"] as? String ?? ""
        if !["trigger", "acknowledge", "resolve"].contains(action) { p.append("event_action \(action)") }
        let dedup = o["dedup_key"] as? String ?? ""
        if dedup.isEmpty || dedup.count > 255 { p.append("dedup_key") }
        if action == "trigger" {
            guard let payload = o["payload"] as? [String: Any] else { return p + ["trigger without payload"] }
            let summary = payload["summary"] as? String ?? ""
            if summary.isEmpty || summary.count > 1024 { p.append("summary") }
            if (payload["source"] as? String)?.isEmpty != false { p.append("source") }
            if !["critical", "error", "warning", "info"].contains(payload["severity"] as? String ?? "") {
                p.append("severity")
            }
            if let t = payload["timestamp"] as? String,
                (try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(t)) == nil
            {
                p.append("timestamp \(t)")
            }
        }
        return p
    }

    /// Alertmanager API v2 (`POST /api/v2/alerts`, postableAlerts): an array of alerts, each with a
    /// non-empty `labels` map of strings (alertname among them), optional string `annotations`,
    /// `startsAt`/`endsAt` as RFC 3339 date-times, `generatorURL` a URI when present.
    static func alertmanagerProblems(_ req: TinyRequest) -> [String] {
        var p: [String] = []
        if req.target != "/api/v2/alerts" { p.append("posted to \(req.target)") }
        guard let alerts = try? JSONSerialization.jsonObject(with: Data(req.body)) as? [[String: Any]], !alerts.isEmpty
        else { return p + ["not an array of alerts"] }
        let iso = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
        for a in alerts {
            guard let labels = a["labels"] as? [String: String], !labels.isEmpty, labels["alertname"] != nil else {
                p.append("labels")
                continue
            }
            if a["annotations"] != nil, a["annotations"] as? [String: String] == nil { p.append("annotations") }
            for k in ["startsAt", "endsAt"] where a[k] != nil {
                if (a[k] as? String).flatMap({ try? iso.parse($0) }) == nil { p.append("\(k) is not a date-time") }
            }
            if let g = a["generatorURL"] as? String, URL(string: g)?.scheme == nil { p.append("generatorURL") }
        }
        return p
    }

    /// One receiver that checks and answers like the service.
    final class Receiver: @unchecked Sendable {
        let server: TinyHTTPServer
        let problems = Locked<[String]>([])
        init(_ check: @escaping @Sendable (TinyRequest) -> [String], ok: TinyResponse) throws {
            let problems = self.problems
            server = try TinyHTTPServer { req in
                let found = check(req)
                guard found.isEmpty else {
                    problems.withLock { $0 += found }
                    return .text(400, "invalid: \(found.joined(separator: "; "))")
                }
                return ok
            }
        }
        var bodies: [[String: Any]] { server.requests.value.compactMap { ReceiverTests.object($0.body) } }
    }

    @Test func slackPagerDutyAndAlertmanagerGetTheirDocumentedPayloads() throws {
        let dir = TempDir("whatif-receivers")
        let key = try dir.write("pd-key", "0123456789abcdef0123456789abcdef\n")
        let slack = try Receiver({ Self.slackProblems($0.body) }, ok: .text(200, "ok"))
        let pd = try Receiver(
            { Self.pagerDutyProblems($0.body) },
            ok: .text(
                202, #"{"status":"success","message":"Event processed","dedup_key":"x"}"#,
                contentType: "application/json"))
        let am = try Receiver({ Self.alertmanagerProblems($0) }, ok: .text(200, ""))
        defer {
            slack.server.stop()
            pd.server.stop()
            am.server.stop()
        }
        var s = HookSettings.Webhook(url: slack.server.url, maxAttempts: 2, timeout: 5)
        s.name = "slack"
        s.format = .slack
        var p = HookSettings.Webhook(url: pd.server.url + "/v2/enqueue", maxAttempts: 2, timeout: 5)
        p.name = "pagerduty"
        p.format = .pagerduty
        p.routingKeyFile = key
        var a = HookSettings.Webhook(url: am.server.url, maxAttempts: 2, timeout: 5)
        a.name = "alertmanager"
        a.format = .alertmanager
        let d = HookTests.dispatcher(dir, webhooks: [s, p, a])
        d.send(HookTests.event(.alarm))
        d.send(HookTests.event(.insufficientData))
        d.send(HookTests.event(.ok))
        d.shutdown()
        #expect(
            slack.problems.value.isEmpty && pd.problems.value.isEmpty && am.problems.value.isEmpty,
            "\(slack.problems.value) \(pd.problems.value) \(am.problems.value)")
        // Slack: every state change, the firing one marked.
        #expect(slack.bodies.count == 3)
        #expect((slack.bodies.first?["text"] as? String)?.hasPrefix("FIRING: cpu-high is ALARM") == true)
        // PagerDuty: a trigger and the resolve with the same dedup key; INSUFFICIENT_DATA is not sent.
        let events = pd.bodies
        #expect(events.map { $0["event_action"] as? String } == ["trigger", "resolve"])
        #expect(Set(events.map { $0["dedup_key"] as? String }).count == 1)
        #expect(events.first?["routing_key"] as? String == "0123456789abcdef0123456789abcdef")
        #expect(pd.server.requests.value.first?.target == "/v2/enqueue")
        // Alertmanager: firing without endsAt, then ended.
        let pushed = am.server.requests.value.compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.body)) as? [[String: Any]]
        }
        #expect(pushed.count == 3 && pushed[0][0]["endsAt"] == nil && pushed[2][0]["endsAt"] != nil)
        #expect((pushed[0][0]["labels"] as? [String: String])?["alertname"] == "cpu-high")
        #expect(d.stats.delivered == 8 && d.stats.failed == 0, "\(d.stats)")
    }

    /// A receiver that refuses the payload: not retried (a 4xx), counted, and kept in the dead-letter
    /// file with the event; a test alert reports what happened.
    @Test func undeliverableEventsGoToTheDeadLetterFileAndATestSaysWhy() throws {
        let dir = TempDir("whatif-receivers")
        let bad = try TinyHTTPServer { _ in .text(400, "invalid_blocks") }
        let good = try TinyHTTPServer { _ in .text(200, "ok") }
        defer {
            bad.stop()
            good.stop()
        }
        var s = HookSettings.Webhook(url: bad.url, maxAttempts: 3, timeout: 5)
        s.name = "slack"
        s.format = .slack
        var ok = HookSettings.Webhook(url: good.url, maxAttempts: 3, timeout: 5)
        ok.name = "ops"
        ok.format = .slack
        let d = HookTests.dispatcher(dir, webhooks: [s, ok])
        let (_, failed) = try #require(d.test(receiver: "slack", host: "h1", environment: "test"))
        #expect(failed == .failed("HTTP 400: invalid_blocks"))
        let (_, delivered) = try #require(d.test(receiver: "ops", host: "h1", environment: "test"))
        #expect(delivered == .delivered(attempts: 1, status: 200))
        #expect(d.test(receiver: "nobody", host: "h1", environment: "test") == nil)
        #expect(Self.slackProblems(good.requests.value[0].body).isEmpty)
        d.send(HookTests.event(.alarm))
        d.shutdown()
        #expect(bad.requests.value.count == 2, "the test once, the event once: a 400 is not retried")
        let lines = try String(contentsOfFile: dir.file("hooks/dead-letter.ndjson"), encoding: .utf8)
            .split(separator: "\n")
        #expect(lines.count == 1)
        let entry = try #require(Self.object(Array(lines[0].utf8)))
        #expect(entry["receiver"] as? String == "slack" && (entry["error"] as? String)?.contains("400") == true)
        #expect(((entry["event"] as? [String: Any])?["alarm"] as? [String: Any])?["name"] as? String == "cpu-high")
    }
}
