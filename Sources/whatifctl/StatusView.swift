import WhatIfProtocol
import WhatIfUnits

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

enum StatusView {
    static func print(_ r: StatusReport) {
        let a = r.agent
        let up = Date().timeIntervalSince(a.startedAt)
        Out.line(
            "whatifd \(a.version) (\(a.environment)), pid \(a.pid), up \(Units.duration(up)), \(a.jobsRunning) job\(a.jobsRunning == 1 ? "" : "s") running"
        )
        Out.line("config \(a.configPath), socket \(a.socketPath)")
        Out.line("checked \(Timestamp.format(r.checkedAt)) in \(Units.fixed(r.durationMs, 0)) ms")
        Out.line()
        if r.services.isEmpty {
            Out.line("no services are configured")
            leases(r.leases)
            return
        }
        Out.table(
            ["SERVICE", "HEALTH", "RTT", "VERSION", "ENDPOINT"],
            r.services.map { s in
                [
                    s.service.rawValue, s.health.rawValue, s.rttMs.map { "\(Units.fixed($0, 1)) ms" } ?? "-",
                    s.version ?? "-", s.endpoint,
                ]
            })
        Out.line()
        for s in r.services {
            if let d = detail(s) { Out.line("\(s.service.rawValue): \(d)") }
            for line in replicaLines(s.postgres) { Out.line("\(s.service.rawValue): \(line)") }
            if let c = s.redis?.cluster {
                Out.line(
                    "\(s.service.rawValue): cluster \(c.state), \(c.slotsOk) of 16384 slots ok, \(c.knownNodes) nodes")
                for sh in c.shards {
                    Out.line(
                        "\(s.service.rawValue): shard \(sh.slots): primary \(sh.primary ?? "none"), replicas \(sh.replicas.isEmpty ? "none" : sh.replicas.joined(separator: ", "))"
                    )
                }
            }
            if let e = s.error { Out.line("\(s.service.rawValue): \(s.reachable ? "warning" : "error"): \(e)") }
            if let h = s.hint { Out.line("\(s.service.rawValue): hint: \(h)") }
        }
        if let c = r.credentials { credentials(c, now: Date()) }
        leases(r.leases)
    }

    /// The AWS credentials: their source and, for temporary ones, when they expire.
    static func credentials(_ c: AWSCredentialInfo, now: Date) {
        if let source = c.source {
            let expiry = c.expiresAt.map {
                let left = $0.timeIntervalSince(now)
                return left > 0
                    ? ", expire in \(Units.duration(left)) (\(Timestamp.format($0)))"
                    : ", expired at \(Timestamp.format($0))"
            }
            Out.line("aws credentials: \(source)\(expiry ?? ", long-term (no expiry)")")
        }
        if let e = c.error { Out.line("aws credentials: error: \(e)") }
        if let h = c.hint { Out.line("aws credentials: hint: \(h)") }
    }

    /// Who holds which fleet lease, when the agent is part of a fleet.
    static func leases(_ l: LeaseList?) {
        if let l, let table = l.table {
            Out.line()
            Out.line("fleet leases (table \(table); this agent is \(l.owner ?? "?")):")
            if let e = l.error { Out.line("leases: error: \(e)") }
            if l.leases.isEmpty && l.error == nil { Out.line("no window has been run by the fleet yet") }
            if !l.leases.isEmpty { Maintenance.Leases.table(l) }
        }
    }

    /// A line per replica: configured ones as they answered, then standbys only the primary reports.
    static func replicaLines(_ p: PostgresState?) -> [String] {
        guard let p else { return [] }
        var out: [String] = []
        for r in p.replicas ?? [] {
            var t = "replica \(r.name) (\(r.endpoint)): "
            if let e = r.error {
                t += (r.reachable ? "" : "unreachable: ") + e
            } else {
                t += "lag \(r.lagSeconds.map { Units.duration($0) } ?? "?")"
                if r.replayPaused == true { t += ", replay paused" }
            }
            out.append(t)
        }
        for sb in p.standbys ?? [] {
            out.append(
                "standby \(sb.applicationName)\(sb.clientAddress.map { " from \($0)" } ?? ""): \(sb.state), replay lag \(sb.replayLagSeconds.map { Units.duration($0) } ?? "0s")"
            )
        }
        if let b = p.replicationSlotBytes, b > 0 { out.append("replication slots keep \(Units.bytes(b)) of WAL") }
        return out
    }

    static func detail(_ s: ServiceStatus) -> String? {
        if let p = s.postgres {
            return
                "database \(p.database) \(Units.bytes(p.databaseSizeBytes)), connections \(p.connections)/\(p.maxConnections), ssl \(p.sslInUse ? "on (\(p.sslVersion ?? "?"))" : "off")\(p.inRecovery ? ", read-only replica" : "")"
        }
        if let r = s.redis {
            let limit = r.maxMemoryBytes > 0 ? Units.bytes(r.maxMemoryBytes) : "no limit"
            return
                "role \(r.role), memory \(Units.bytes(r.usedMemoryBytes)) / \(limit), policy \(r.maxMemoryPolicy), tls \(r.tlsInUse ? "on" : "off"), \(Units.count(r.keys ?? 0, "key")), \(Units.count(r.connectedClients ?? 0, "client"))"
        }
        if let d = s.dynamodb {
            var t =
                "table \(d.table) \(d.tableStatus), \(Units.count(d.itemCount, "item")), \(Units.bytes(d.sizeBytes)), \(d.billingMode ?? "?")"
            for i in d.indexes { t += "; index \(i.name) \(i.status)" }
            return t
        }
        if let r = s.rds {
            return
                "\(r.instanceId) \(r.status), \(r.engine) \(r.engineVersion), \(r.instanceClass), multi-AZ \(r.multiAZ ? "yes" : "no"), encrypted \(r.storageEncrypted ? "yes" : "no")\(r.allocatedStorageGiB.map { ", \($0) GiB" } ?? "")\(r.readReplicas.map { ", read replicas \($0.joined(separator: ", "))" } ?? "")"
        }
        if let e = s.elasticache {
            return
                "\(e.replicationGroupId) \(e.status), \(e.nodeCount) node\(e.nodeCount == 1 ? "" : "s"), multi-AZ \(e.multiAZ ?? "?"), in-transit encryption \(e.transitEncryption ? "on" : "off"), at-rest \(e.atRestEncryption ? "on" : "off")"
        }
        return nil
    }
}
