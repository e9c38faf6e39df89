import CLinuxShims
import WhatIfCore
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

    static let disabled = APIError(
        .notConfigured, "metrics are turned off in the config", hint: "set metrics.enabled: true and reload")
}
