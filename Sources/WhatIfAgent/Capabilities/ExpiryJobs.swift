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
                let clients = core.clients
                let saved = ctx.loadCheckpoint()
                let report = try await Threads.run {
                    try ExpiryRun.sweep(
                        req, policy: e.policy, settings: e.sweep, connect: { try clients.redis(timeout: 30) },
                        connectNode: { try clients.redisNode(host: $0, port: $1, timeout: 30) }, saved: saved,
                        save: { try? ctx.saveCheckpoint($0) }, reporter: ctx)
                }
                ctx.clearCheckpoint()
                core.monitoring?.record(report, now: Date().timeIntervalSince1970)
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
                let settings = ctx.config.expiry?.sweep ?? SweepSettings()
                let clients = core.clients
                return try await Threads.run {
                    try ExpiryRun.audit(
                        req, settings: settings, connect: { try clients.redis(timeout: 30) },
                        connectNode: { try clients.redisNode(host: $0, port: $1, timeout: 30) }, reporter: ctx)
                }
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
