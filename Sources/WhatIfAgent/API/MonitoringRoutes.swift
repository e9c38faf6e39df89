import CLinuxShims
import WhatIfCore
import WhatIfHTTP
import WhatIfMonitoring
import WhatIfProtocol
import WhatIfUnits

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

extension Router {
    static func monitoringRoutes(_ agent: AgentCore) -> [Route] {
        [
            Route(.metrics) { [agent] req, _ in
                guard let m = agent.monitoring else { return .error(disabled) }
                if let f = req.query["format"], !f.isEmpty {
                    guard f == "prometheus" else {
                        return .error(APIError(.badRequest, "unknown format '\(f)'", hint: "format=prometheus or none"))
                    }
                    return AdminResponse(
                        status: 200, contentType: "text/plain; version=0.0.4; charset=utf-8",
                        body: .bytes(Array(m.prometheusText().utf8)))
                }
                let now = Date().timeIntervalSince1970
                // By default the last 3 hours, or all that is kept when that is less.
                var since = now - min(3 * 3600, m.settings.retention)
                if let s = req.query["since"], !s.isEmpty {
                    guard let d = DurationText.parse(s), d > 0 else {
                        return .error(
                            APIError(.badRequest, "since=\(s) is not a duration", hint: "use since=3h, 90m, 1d"))
                    }
                    // Asking for more than is kept is refused rather than quietly cut short.
                    let kept = m.settings.retention
                    guard d <= kept + 1 else {
                        let most = Units.duration(kept)
                        return .error(
                            APIError(
                                .badRequest,
                                "since=\(s) reaches beyond the \(most) of metrics the agent keeps (metrics.retention)",
                                hint: "use since=\(most) or less, or raise metrics.retention (a restart applies it)"))
                    }
                    since = now - d
                }
                var maxPoints: Int?
                if let p = req.query["max_points"], !p.isEmpty {
                    guard let n = Int(p), n > 0 else {
                        return .error(
                            APIError(
                                .badRequest, "max_points=\(p) is not a positive number", hint: "use max_points=120"))
                    }
                    maxPoints = n
                }
                let name = req.query["name"]
                let body = MonitoringService.encode(m.report(name: name, since: since, now: now, maxPoints: maxPoints))
                // A day of every series is tens of megabytes in passing; hand the pages back afterwards.
                if body.count > 1 << 20 { whatif_malloc_trim() }
                return AdminResponse(status: 200, body: .bytes(body))
            },
            Route(.alarms) { [agent] _, _ in
                guard let m = agent.monitoring else { return .error(disabled) }
                let s = agent.hooks?.stats ?? HookDispatcher.Counters()
                return .json(
                    AlarmList(
                        alarms: m.alarmInfos(),
                        hooks: HookCounters(delivered: s.delivered, failed: s.failed, dropped: s.dropped)))
            },
            Route(.alarmHistory) { [agent] _, args in
                guard let m = agent.monitoring else { return .error(disabled) }
                guard let items = m.history(args[0]) else {
                    return .error(
                        APIError(.notFound, "no alarm named '\(args[0])'", hint: "`whatifctl alarms` lists the alarms"))
                }
                return .json(AlarmHistory(alarmName: args[0], items: items))
            },
            Route(.silenceAlarm) { [agent] req, args in
                guard let m = agent.monitoring else { return .error(disabled) }
                do throws(APIError) {
                    let r = try body(
                        req, as: SilenceAlarmRequest.self, what: "silence",
                        example: #"{"for": "2h", "comment": "..."}"#,
                        allowEmpty: false)
                    guard let secs = DurationText.parse(r.for), secs >= 1, secs <= 30 * 86400 else {
                        throw APIError(
                            .unprocessable, "for '\(r.for)' is not a duration from 1s to 30d",
                            hint: "use a duration such as 30m, 2h or 1d")
                    }
                    return .json(
                        try alarmChange(args[0]) { () throws(MonitoringService.AlarmChange) -> AlarmInfo in
                            try m.silence(args[0], for: secs, by: req.caller, comment: r.comment)
                        })
                } catch { return .error(error) }
            },
            Route(.unsilenceAlarm) { [agent] req, args in
                guard let m = agent.monitoring else { return .error(disabled) }
                do throws(APIError) {
                    return .json(
                        try alarmChange(args[0]) { () throws(MonitoringService.AlarmChange) -> AlarmInfo in
                            try m.unsilence(args[0], by: req.caller)
                        })
                } catch { return .error(error) }
            },
            Route(.acknowledgeAlarm) { [agent] req, args in
                guard let m = agent.monitoring else { return .error(disabled) }
                do throws(APIError) {
                    let r = try body(
                        req, as: AcknowledgeAlarmRequest.self, what: "acknowledgement", example: #"{"comment": "..."}"#)
                    return .json(
                        try alarmChange(args[0]) { () throws(MonitoringService.AlarmChange) -> AlarmInfo in
                            try m.acknowledge(args[0], by: req.caller, comment: r.comment)
                        })
                } catch { return .error(error) }
            },
            Route(.setAlarmState) { [agent] req, args in
                guard let m = agent.monitoring else { return .error(disabled) }
                do throws(APIError) {
                    let r = try body(
                        req, as: SetAlarmStateRequest.self, what: "alarm state",
                        example: #"{"stateValue": "ALARM", "stateReason": "testing the pager"}"#, allowEmpty: false)
                    guard let state = AlarmState(rawValue: r.stateValue) else {
                        throw APIError(
                            .unprocessable, "stateValue '\(r.stateValue)' is not a state",
                            hint: "use OK, ALARM or INSUFFICIENT_DATA")
                    }
                    guard !r.stateReason.isEmpty, r.stateReason.count <= 1023 else {
                        throw APIError(
                            .unprocessable, "stateReason must be 1 to 1023 characters", hint: "say why, briefly")
                    }
                    return .json(
                        try alarmChange(args[0]) { () throws(MonitoringService.AlarmChange) -> AlarmInfo in
                            try m.setState(args[0], state, reason: r.stateReason, by: req.caller)
                        })
                } catch { return .error(error) }
            },
            Route(.testReceiver) { [agent] _, args in
                guard let hooks = agent.hooks else {
                    return .error(
                        APIError(.notConfigured, "the alert hooks are not running", hint: "see hooks: in the config"))
                }
                let name = args[0]
                let (host, env) = (HostName.current, agent.config.environment.rawValue)
                let outcome = try? await agent.pool.run { hooks.test(receiver: name, host: host, environment: env) }
                guard let (hook, delivery) = outcome ?? nil else {
                    let names = hooks.settings.webhooks.map(\.name)
                    return .error(
                        APIError(
                            .notFound, "no receiver named '\(name)'",
                            hint: names.isEmpty
                                ? "configure one under hooks.webhooks (with a name)"
                                : "the receivers are: \(names.joined(separator: ", "))"))
                }
                var r = ReceiverTestResult(
                    receiver: hook.name, format: hook.format.rawValue, url: HTTPClient.redactedURL(hook.url),
                    delivered: false, attempts: nil, status: nil, error: nil)
                switch delivery {
                case .delivered(let attempts, let status):
                    (r.delivered, r.attempts, r.status) = (true, attempts, status)
                case .skipped: r.error = "the receiver takes nothing for a test alert"
                case .failed(let e): r.error = e
                }
                return .json(r)
            },
        ]
    }

    static func expiryRoutes(_ agent: AgentCore) -> [Route] {
        [
            Route(.startExpiry) { [agent] req, _ in
                await startJob(agent, req, JobSpecs.RedisExpiry.self)
            },
            Route(.startKeyAudit) { [agent] req, _ in
                await startJob(agent, req, JobSpecs.RedisAudit.self)
            },
            Route(.lastExpiry) { [agent] _, _ in
                let last = await agent.jobs.list().first { $0.kind == JobSpecs.RedisExpiry.name && $0.result != nil }
                guard let last, let result = last.result else {
                    return .error(
                        APIError(
                            .notFound, "no expiry sweep has finished yet",
                            hint: "run `whatifctl redis expiry` (a dry run by default)"))
                }
                return .json(result)
            },
        ]
    }

    /// Runs an operator's change to an alarm, its refusals as API errors.
    static func alarmChange(
        _ name: String, _ body: () throws(MonitoringService.AlarmChange) -> AlarmInfo
    ) throws(APIError) -> AlarmInfo {
        do throws(MonitoringService.AlarmChange) { return try body() } catch {
            switch error {
            case .noSuchAlarm:
                throw APIError(.notFound, "no alarm named '\(name)'", hint: "`whatifctl alarms` lists the alarms")
            case .notInAlarm(let state):
                throw APIError(
                    .conflict, "\(name) is \(state), not in ALARM: there is nothing to acknowledge",
                    hint: "acknowledge an alarm while it is in ALARM; silence it to keep the hooks quiet ahead")
            }
        }
    }

    static let disabled = APIError(
        .notConfigured, "metrics are turned off in the config", hint: "set metrics.enabled: true and reload")
}
