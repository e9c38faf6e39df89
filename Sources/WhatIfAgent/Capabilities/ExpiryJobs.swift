import Logging
import WhatIfCore
import WhatIfExpiry
import WhatIfMonitoring
import WhatIfProtocol
import WhatIfRedis

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The expiry capability's job kinds (`redis.expiry`, `redis.audit`) and the sweep's schedule.
enum ExpiryJobs {
    static func kinds(_ core: AgentCore) -> [JobKind] { [sweep(core), audit(core)] }

    static func check(_ config: AgentConfig) throws -> ExpiryConfig {
        guard config.redis != nil else {
            throw APIError(.notConfigured, "Redis is not configured", hint: "configure redis: in \(config.path)")
        }
        guard let e = config.expiry, !e.policy.rules.isEmpty else {
            throw APIError(
                .notConfigured, "there is no expiry policy", hint: "add expiry: with rules to \(config.path)")
        }
        return e
    }

    static func sweep(_ core: AgentCore) -> JobKind {
        JobKind(
            JobSpecs.RedisExpiry.self,
            resource: { _, config in
                _ = try check(config)
                return .redis
            },
            run: { ctx, req in
                let e = try check(ctx.config)
                var tuned = e.sweep
                if let kps = req.keysPerSecond { tuned.keysPerSecond = kps }
                let settings = tuned
                let clients = core.clients
                let resume = ctx.loadCheckpoint().flatMap {
                    try? APICoding.decode(SweepCheckpoint.self, from: APICoding.encode($0))
                }
                let report = try await Threads.run { () throws -> ExpiryReport in
                    let conn = try clients.redis(timeout: 30)
                    defer { conn.close() }
                    let sweeper = ExpirySweeper(
                        policy: e.policy, settings: settings, enforce: req.enforce, connection: conn, reporter: ctx,
                        resumeFrom: resume,
                        saveCheckpoint: { cp in
                            if let json = try? JSONValue.encoding(cp) { try? ctx.saveCheckpoint(json) }
                        })
                    return try sweeper.run()
                }
                ctx.clearCheckpoint()
                core.monitoring?.record(report, now: Date().timeIntervalSince1970)
                for f in report.findings { ctx.log(.warning, f) }
                return report
            })
    }

    /// Keys without a TTL by prefix and type, with their memory; needs Redis but no policy. Paced like the
    /// sweep (expiry's scan_count, batch_budget and keys_per_second when configured), and it holds the
    /// Redis resource so it never runs beside a sweep.
    static func audit(_ core: AgentCore) -> JobKind {
        JobKind(
            JobSpecs.RedisAudit.self,
            resource: { req, config in
                guard config.redis != nil else {
                    throw APIError(
                        .notConfigured, "Redis is not configured", hint: "configure redis: in \(config.path)")
                }
                if let p = req.problem { throw APIError(.unprocessable, p) }
                return .redis
            },
            run: { ctx, req in
                var settings = ctx.config.expiry?.sweep ?? SweepSettings()
                if let kps = req.keysPerSecond { settings.keysPerSecond = kps }
                let paced = settings
                let clients = core.clients
                let report = try await Threads.run { () throws -> KeyAuditReport in
                    let conn = try clients.redis(timeout: 30)
                    defer { conn.close() }
                    return try KeyAuditor(
                        settings: paced, delimiter: req.delimiter ?? ":", depth: req.depth ?? 1, connection: conn,
                        reporter: ctx
                    ).run()
                }
                for f in report.findings { ctx.log(.warning, f) }
                return report
            })
    }
}

extension AgentCore {
    /// Scheduled sweeps (WhatIfExpiry.ExpiryScheduler) on the agent's config and job manager.
    func startExpirySchedule() {
        let core = self
        services.add(
            ExpiryScheduler(
                schedule: {
                    core.config.expiry?.schedule.map {
                        ($0.every, StartExpiryRequest(enforce: $0.enforce, keysPerSecond: $0.keysPerSecond))
                    }
                }, logger: logger,
                start: { request throws(APIError) in
                    _ = try await core.jobs.start(JobSpecs.RedisExpiry.self, request, requestedBy: "schedule")
                }))
    }
}
