import WhatIfCore
import WhatIfProtocol
import WhatIfUnits

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Answers `GET /v1/status`: probes every configured service in parallel, each bounded by
/// `status.timeout`, so one service down never hides or delays the others. Concurrent callers share
/// one probe; a report at most `status.max_age` old is served from memory, already encoded. Once a
/// report is past half its max age, the next request starts one background probe to replace it, so
/// under steady load nobody waits for a probe.
package final class StatusService: Sendable {
    struct Cached: Sendable {
        var report: StatusReport
        var json: [UInt8]
        var at: ContinuousClock.Instant
        var generation: Int
    }

    private let pool: BlockingPool
    private let agentInfo: @Sendable () async -> AgentInfo
    private let clients: @Sendable () -> ServiceClients
    private let cached = Locked<Cached?>(nil)
    private let inFlight = Locked<Task<Cached, Never>?>(nil)
    private let generation = Locked(0)

    package init(
        pool: BlockingPool, clients: @escaping @Sendable () -> ServiceClients,
        agentInfo: @escaping @Sendable () async -> AgentInfo
    ) {
        self.pool = pool
        self.clients = clients
        self.agentInfo = agentInfo
    }

    /// Forgets the cached report (after a reload).
    package func invalidate() {
        generation.withLock { $0 += 1 }
        cached.set(nil)
    }

    /// The encoded report, when one is fresh enough to serve without waiting (starting a background
    /// refresh when it is past half its max age).
    package func cachedJSON(maxAge: Double) -> [UInt8]? {
        let gen = generation.value
        guard let c = cached.value, c.generation == gen else { return nil }
        let age = ContinuousClock.now - c.at
        guard age <= .milliseconds(Int(maxAge * 1000)) else { return nil }
        if age > .milliseconds(Int(maxAge * 500)) { refreshInBackground() }
        return c.json
    }

    private func refreshInBackground() {
        _ = probeTask()
    }

    /// The probe in flight, or a new one.
    private func probeTask() -> Task<Cached, Never> {
        let gen = generation.value
        let clients = self.clients()
        return inFlight.withLock { current -> Task<Cached, Never> in
            if let current { return current }
            let t = Task { [self] in
                let result = await self.probe(clients: clients, generation: gen)
                inFlight.set(nil)
                return result
            }
            current = t
            return t
        }
    }

    package func report(maxAge: Double) async -> (StatusReport, [UInt8]) {
        if maxAge > 0, let json = cachedJSON(maxAge: maxAge), let c = cached.value {
            return (c.report, json)
        }
        let result = await probeTask().value
        return (result.report, result.json)
    }

    private func probe(clients: ServiceClients, generation gen: Int) async -> Cached {
        let config = clients.config
        let timeout = config.status.timeout
        let watch = Stopwatch()
        let started = Date()
        var probes: [(ServiceKind, String, @Sendable () -> ServiceStatus)] = []
        if let p = config.postgres {
            probes.append((.postgres, p.connection.endpoint, { StatusProbes.postgres(clients, timeout: timeout) }))
        }
        if let r = config.redis {
            probes.append((.redis, r.config.endpoint.display, { StatusProbes.redis(clients, timeout: timeout) }))
        }
        if let d = config.dynamodb {
            probes.append(
                (
                    .dynamodb, "\(clients.aws.baseURL(for: .dynamodb)) table \(d.table)",
                    { StatusProbes.dynamodb(clients, timeout: timeout) }
                ))
        }
        if let r = config.rds {
            probes.append((.rds, "instance \(r.instanceId)", { StatusProbes.rds(clients, timeout: timeout) }))
        }
        if let e = config.elasticache {
            probes.append(
                (.elasticache, "group \(e.replicationGroupId)", { StatusProbes.elasticache(clients, timeout: timeout) })
            )
        }
        let services = await withTaskGroup(of: (Int, ServiceStatus).self) { group in
            for (i, probe) in probes.enumerated() {
                group.addTask { [pool] in
                    switch await pool.run(timeout: timeout, probe.2) {
                    case .value(let s): return (i, s)
                    case .timedOut:
                        var s = ServiceStatus(service: probe.0, endpoint: probe.1, health: .timeout)
                        s.error = "no answer within \(DurationText.format(timeout))"
                        s.hint = "check that the service is up and reachable (status.timeout bounds this check)"
                        return (i, s)
                    case .failure(let e):
                        var s = ServiceStatus(service: probe.0, endpoint: probe.1, health: .down)
                        s.error = "\(e)"
                        return (i, s)
                    }
                }
            }
            var out = [ServiceStatus?](repeating: nil, count: probes.count)
            for await (i, s) in group { out[i] = s }
            return out.compactMap { $0 }
        }
        var report = StatusReport(
            agent: await agentInfo(), checkedAt: started, durationMs: watch.elapsedMilliseconds, services: services)
        if config.usesAWS {
            // Cached by the chain (the probes above fetched them); a fetch is bounded like a probe.
            switch await pool.run(timeout: timeout, { StatusProbes.credentials(clients) }) {
            case .value(let c): report.credentials = c
            case .timedOut:
                report.credentials = AWSCredentialInfo(error: "no credentials within \(DurationText.format(timeout))")
            case .failure(let e): report.credentials = AWSCredentialInfo(error: "\(e)")
            }
        }
        let json = (try? APICoding.encode(report)) ?? []
        let entry = Cached(report: report, json: json, at: .now, generation: gen)
        cached.set(entry)
        return entry
    }
}
