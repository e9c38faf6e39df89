import WhatIfCore
import WhatIfJSON
import WhatIfProtocol
import WhatIfUnits

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// What a webhook receives: Alertmanager's webhook payload (the default, for existing receivers), a
/// Slack incoming webhook message, a PagerDuty Events API v2 event, or alerts pushed into an
/// Alertmanager (`POST /api/v2/alerts`).
package enum ReceiverFormat: String, Sendable, Equatable, CaseIterable {
    case alertmanagerWebhook = "alertmanager-webhook"
    case slack
    case pagerduty
    case alertmanager
}

/// The request a receiver gets for an event, in its service's documented format.
package enum ReceiverPayload {
    /// The URL to post to and the body, or nil when the receiver has nothing to say about this event
    /// (PagerDuty is not told of INSUFFICIENT_DATA, as CloudWatch's own integration).
    package static func request(
        _ event: HookEvent, format: ReceiverFormat, url: String, routingKey: String?
    ) -> (url: String, body: [UInt8])? {
        switch format {
        case .alertmanagerWebhook: return (url, AlertmanagerPayload.encode(event))
        case .slack: return (url, slack(event))
        case .pagerduty:
            guard let body = pagerDuty(event, routingKey: routingKey ?? "") else { return nil }
            return (url, body)
        case .alertmanager:
            let base = url.hasSuffix("/") ? String(url.dropLast()) : url
            return (base.hasSuffix("/api/v2/alerts") ? base : base + "/api/v2/alerts", alertmanagerPush(event))
        }
    }

    static let iso = Date.ISO8601FormatStyle(includingFractionalSeconds: true)

    /// Slack's mrkdwn escapes `&`, `<` and `>` (its formatting characters) as HTML entities.
    static func mrkdwn(_ s: String) -> String { Markup.escape(s, quotes: false) }

    static func cut(_ s: String, _ max: Int) -> String {
        s.count <= max ? s : String(s.prefix(max - 1)) + "…"
    }

    /// A Slack message: `text` (the notification's fallback) and blocks — a header (plain text, at most
    /// 150 characters), a section with the details (mrkdwn, at most 3000) and a context line.
    package static func slack(_ event: HookEvent) -> [UInt8] {
        let a = AlertmanagerPayload.alert(event)
        let mark = a.firing ? ":red_circle:" : ":large_green_circle:"
        let title = a.annotations["summary"] ?? event.summary
        var lines: [String] = []
        if let d = a.annotations["description"], !d.isEmpty { lines.append(mrkdwn(d)) }
        if let al = event.alarm {
            lines.append(
                "*Metric:* `\(mrkdwn(al.namespace)) \(mrkdwn(al.metricName))` \(mrkdwn(al.comparisonOperator)) \(al.threshold)"
            )
            if al.isRepeat { lines.append("_Still in ALARM (a reminder)._") }
            if let w = al.maintenanceWindow { lines.append("*Maintenance window:* \(mrkdwn(w))") }
        }
        if let j = event.job, let h = j.hint { lines.append("*Hint:* \(mrkdwn(h))") }
        if let w = event.window, !w.steps.isEmpty {
            lines.append(w.steps.map { "• \(mrkdwn($0))" }.joined(separator: "\n"))
        }
        let details = lines.isEmpty ? mrkdwn(title) : lines.joined(separator: "\n")
        let context = "\(mrkdwn(event.host)) · \(mrkdwn(event.environment)) · \(iso.format(event.time))"
        let body: JSONValue = [
            "text": .string(cut("\(a.firing ? "FIRING" : "RESOLVED"): \(title)", 3000)),
            "blocks": [
                [
                    "type": "header",
                    "text": ["type": "plain_text", "text": .string(cut("\(mark) \(title)", 150)), "emoji": true],
                ],
                ["type": "section", "text": ["type": "mrkdwn", "text": .string(cut(details, 3000))]],
                ["type": "context", "elements": [["type": "mrkdwn", "text": .string(cut(context, 3000))]]],
            ],
        ]
        return (try? APICoding.encode(body)) ?? []
    }

    /// The dedup key PagerDuty groups an incident by: stable for an alarm, a job kind or a window on
    /// this host and environment, so a resolve closes the incident its trigger opened.
    package static func dedupKey(_ event: HookEvent) -> String {
        let what: String
        if let a = event.alarm {
            what = "alarm/\(a.name)"
        } else if let j = event.job {
            what = "job/\(j.kind)"
        } else if let w = event.window {
            what = "window/\(w.name)"
        } else {
            what = event.type
        }
        return cut("whatif/\(event.environment)/\(event.host)/\(what)", 255)
    }

    /// PagerDuty Events API v2: `trigger` with a payload (summary at most 1024 characters, source,
    /// severity, timestamp, custom details) while firing, `resolve` with the same dedup key after.
    package static func pagerDuty(_ event: HookEvent, routingKey: String) -> [UInt8]? {
        if let al = event.alarm, al.state == .insufficientData { return nil }
        let a = AlertmanagerPayload.alert(event)
        var body: [String: JSONValue] = [
            "routing_key": .string(routingKey), "dedup_key": .string(dedupKey(event)),
            "event_action": .string(a.firing ? "trigger" : "resolve"),
        ]
        if a.firing {
            var payload: [String: JSONValue] = [
                "summary": .string(
                    cut(
                        a.annotations["summary"].map { "\($0): \(a.annotations["description"] ?? "")" }
                            ?? event.summary, 1024)),
                "source": .string(event.host),
                "severity": .string(event.window != nil ? "warning" : "error"),
                "timestamp": .string(iso.format(event.time)),
                "group": .string(event.environment),
                "custom_details": .object(
                    a.labels.mapValues { .string($0) }.merging(a.annotations.mapValues { .string($0) }) { l, _ in l }),
            ]
            if let al = event.alarm {
                payload["component"] = .string(al.namespace)
                payload["class"] = .string(al.metricName)
            } else if let j = event.job {
                payload["component"] = .string("whatifd")
                payload["class"] = .string(j.kind)
            }
            body["payload"] = .object(payload)
            body["client"] = "whatifd"
        }
        return try? APICoding.encode(JSONValue.object(body))
    }

    /// Alertmanager's API v2 `postableAlerts`: one alert with labels, annotations and startsAt; a
    /// resolved one carries endsAt (now), which Alertmanager takes as the end.
    package static func alertmanagerPush(_ event: HookEvent) -> [UInt8] {
        let a = AlertmanagerPayload.alert(event)
        var alert: [String: JSONValue] = [
            "labels": .object(a.labels.mapValues { .string($0) }),
            "annotations": .object(a.annotations.mapValues { .string($0) }),
            "startsAt": .string(iso.format(a.startsAt)),
        ]
        if let end = a.endsAt { alert["endsAt"] = .string(iso.format(end)) }
        return (try? APICoding.encode(JSONValue.array([.object(alert)]))) ?? []
    }
}
