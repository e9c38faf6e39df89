import Testing
import WhatIfAgentTesting
import WhatIfCore
import WhatIfProtocol
import WhatIfRedis
import WhatIfTesting

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
#if canImport(Glibc)
    import Glibc
#endif

/// The expiry sweep on a Redis Cluster (scripts/stack --only redis-cluster: 3 primaries, 3 replicas, a
/// fresh one per test since tests migrate slots and kill primaries): every shard swept and reported,
/// keys of a migrating slot followed through MOVED and ASK, a primary killed mid-sweep failed over and
/// its shard swept again on the new primary.
@Suite(.serialized) struct ClusterExpiryTests {
    let cluster: PrivateStack
    var stack: StackInfo { cluster.info }
    var base: Int { cluster.info.redisClusterBase }

    init() throws {
        cluster = try Stack.startPrivate(["redis-cluster"])
    }

    func node(_ host: String, _ port: Int) throws -> RedisConnection {
        try RedisConnection(RedisConfig(endpoint: RedisEndpoint(transport: .tcp(host: host, port: port))))
    }

    /// The cluster as a node that answers sees it, once every slot has a primary that answers (after a
    /// failover, the nodes agree within seconds).
    func topology() throws -> ClusterTopology {
        var found: ClusterTopology?
        _ = eventually(timeout: 20) {
            for i in 0..<6 {
                guard let c = try? node("127.0.0.1", base + i) else { continue }
                defer { c.close() }
                guard let t = try? ClusterTopology.discover(c, seedHost: "127.0.0.1"),
                    t.slotsCovered == ClusterSlot.count,
                    t.primaries.allSatisfy({ p in (try? node(p.host, p.port)).map { $0.close() } != nil })
                else { continue }
                found = t
                return true
            }
            return false
        }
        guard let found else { throw TestFailure("no node of the cluster answers with a whole topology") }
        return found
    }

    /// Every primary flushed, then `n` session keys without a TTL and `n / 4` over the maximum, each
    /// written on the primary that owns its slot.
    func load(_ n: Int) throws -> ClusterTopology {
        let t = try topology()
        var byNode: [String: [[String]]] = [:]
        for i in 0..<(n + n / 4) {
            let key = i < n ? "session:\(i)" : "session:long:\(i)"
            guard let owner = t.shard(slot: ClusterSlot.of(Array(key.utf8)))?.primary else { continue }
            byNode[owner.address, default: []].append(i < n ? ["SET", key, "v"] : ["SET", key, "v", "EX", "86400"])
        }
        for p in t.primaries {
            let c = try node(p.host, p.port)
            defer { c.close() }
            _ = try c.command(["FLUSHALL"])
            for chunk in stride(from: 0, to: byNode[p.address]?.count ?? 0, by: 500) {
                let cmds = byNode[p.address]![chunk..<min(chunk + 500, byNode[p.address]!.count)]
                for r in try c.pipeline(Array(cmds)) where r.isError { throw TestFailure("SET: \(r)") }
            }
            // Replication is asynchronous: WAIT until the shard's replicas have every write, or a replica
            // that takes over from a primary a test kills may not have the keys (seen on a busy CI).
            let replicas = Int(try c.info("replication")["connected_slaves"] ?? "") ?? 0
            if replicas > 0 {
                let acked = try c.command(["WAIT", String(replicas), "30000"]).int ?? 0
                guard acked >= replicas else {
                    throw TestFailure("\(p.address): \(acked) of \(replicas) replicas have the keys after 30 s")
                }
            }
        }
        return t
    }

    func config() -> TestConfig {
        var c = TestConfig.forStack(stack)
        c.postgres = nil
        c.dynamodb = nil
        c.aws = nil
        c.redis = "  url: redis://127.0.0.1:\(base)/0\n"
        c.expiry = ExpiryJobTests.expiry
        c.metrics = "  interval: 1s\n"
        return c
    }

    /// Keys whose TTL is missing or over the hour, on every primary.
    func unfixed(_ t: ClusterTopology) throws -> Int {
        var bad = 0
        for p in t.primaries {
            let c = try node(p.host, p.port)
            defer { c.close() }
            var cursor = "0"
            repeat {
                let r = try c.command(["SCAN", cursor, "COUNT", "1000"])
                let parts = try #require(r.array)
                cursor = parts[0].string ?? "0"
                let keys = (parts[1].array ?? []).compactMap(\.string)
                let ttls = try c.pipeline(keys.map { ["TTL", $0] })
                bad += ttls.filter { ($0.int ?? -1) < 0 || ($0.int ?? 0) > 3600 }.count
            } while cursor != "0"
        }
        return bad
    }

    func enforce(_ a: AgentProcess, _ extra: [String] = []) throws -> ExpiryReport {
        let r = try a.ctl(["redis", "expiry", "--enforce", "--json"] + extra)
        #expect(r.status == 0, "\(r.output)")
        return try #require(try decodeJSON(JobInfo.self, r).result(as: JobSpecs.RedisExpiry.self))
    }

    @Test func everyShardIsSweptAndReported() throws {
        let t = try load(4000)
        let a = try AgentProcess(config())
        let status = try decodeJSON(StatusReport.self, try a.ctl(["status", "--fresh", "--json"]))
        let cluster = try #require(status.services.first { $0.service == .redis }?.redis?.cluster)
        #expect(cluster.state == "ok" && cluster.slotsOk == 16384 && cluster.knownNodes == 6, "\(cluster)")
        #expect(cluster.shards.count == 3 && cluster.shards.allSatisfy { $0.primary != nil && $0.replicas.count == 1 })
        let dry = try a.ctl(["redis", "expiry"])
        #expect(dry.status == 0 && dry.stdout.contains("dry-run: 5000 keys scanned"), "\(dry.output)")
        #expect(dry.stdout.contains("cluster: 3 shards, 16384 of 16384 slots swept"), "\(dry.output)")
        let report = try enforce(a)
        let shards = try #require(report.shards)
        #expect(shards.count == 3 && report.slotsCovered == 16384, "\(report)")
        #expect(Set(shards.map(\.nodeId)) == Set(t.primaries.map(\.id)))
        #expect(shards.allSatisfy { $0.complete && $0.scanned > 1000 }, "\(shards)")
        #expect(report.scanned == 5000 && shards.reduce(0) { $0 + $1.scanned } == 5000)
        #expect(report.rules[0].withoutTTL == 4000 && report.rules[0].overMax == 1000 && report.rules[0].fixed == 5000)
        #expect(report.complete)
        #expect(try unfixed(t) == 0)

        // The audit reads every shard, on its replicas when asked (READONLY), and counts every key.
        let audit = try a.ctl(["redis", "expiry", "--audit", "--replicas", "--json"])
        #expect(audit.status == 0, "\(audit.output)")
        let ar = try #require(try decodeJSON(JobInfo.self, audit).result(as: JobSpecs.RedisAudit.self))
        // Metrics per node, named as ElastiCache names cluster-mode nodes.
        #expect(
            eventually(timeout: 20) {
                let ids = Set(
                    ((try? a.client.metrics(name: "CurrItems", since: "1h"))?.series ?? []).compactMap {
                        $0.dimensions["CacheNodeId"] == "0001" ? $0.dimensions["CacheClusterId"] : nil
                    })
                return ids == [
                    "local-0001-001", "local-0001-002", "local-0002-001", "local-0002-002", "local-0003-001",
                    "local-0003-002",
                ]
            }, "\((try? a.client.metrics(name: "CurrItems", since: "1h"))?.series.map(\.dimensions) ?? [])")
        #expect(ar.scanned == 5000 && ar.nodes?.count == 3, "\(ar)")
        let replicaPorts = Set(t.shards.flatMap { $0.replicas.map(\.port) })
        #expect(
            ar.nodes?.allSatisfy { n in replicaPorts.contains { n.hasSuffix(":\($0)") } } == true, "\(ar.nodes ?? [])")
        #expect(ar.groups.first { $0.prefix == "session:*" }?.keys == 5000)
    }

    /// A slot half migrated from one primary to another (MIGRATING/IMPORTING, half its keys moved) for
    /// the whole sweep: the moved keys are scanned on the target, whose PTTL answers MOVED (it does not
    /// own the slot yet), the source then ASK: each is counted once and fixed where it is.
    @Test func aMigratingSlotIsFollowedThroughMovedAndAsk() throws {
        let t = try load(2000)
        let src = try #require(t.primaries.first)
        let dst = try #require(t.primaries.last)
        // Keys of one slot on the source: with a hash tag, all in that slot.
        let s = try node(src.host, src.port)
        let d = try node(dst.host, dst.port)
        defer {
            s.close()
            d.close()
        }
        // The first slot the source owns, filled with tagged keys.
        let sourceSlot = try #require(t.shards.first { $0.primary == src }?.slots.first?.lowerBound)
        let sourceTag = try #require(
            (0..<1_000_000).lazy.map { "{m\($0)}" }.first { ClusterSlot.of(Array($0.utf8)) == sourceSlot })
        let keys = (0..<100).map { "session:mig:\(sourceTag):\($0)" }
        for r in try s.pipeline(keys.map { ["SET", $0, "v"] }) where r.isError { throw TestFailure("\(r)") }
        #expect(try d.command(["CLUSTER", "SETSLOT", String(sourceSlot), "IMPORTING", src.id]).string == "OK")
        #expect(try s.command(["CLUSTER", "SETSLOT", String(sourceSlot), "MIGRATING", dst.id]).string == "OK")
        let moving = Array(keys.prefix(50))
        let migrate = try s.command(
            ["MIGRATE", dst.host, String(dst.port), "", "0", "5000", "KEYS"] + moving)
        #expect(migrate.string == "OK", "\(migrate)")
        let a = try AgentProcess(config())
        let report = try enforce(a)
        #expect(report.scanned == 2600, "\(report.scanned)")
        #expect(report.rules[0].fixed == 2600 && report.rules[0].changedMeanwhile == 0, "\(report.rules[0])")
        #expect((report.shards ?? []).reduce(0) { $0 + $1.redirects } >= 50, "\(report.shards ?? [])")
        // The moved keys are fixed on the target, the others on the source.
        for k in moving {
            _ = try d.command(["ASKING"])
            let ttl = try d.command(["TTL", k]).int ?? -2
            #expect(ttl > 0 && ttl <= 600, "\(k): \(ttl)")
        }
        #expect((try s.command(["TTL", keys[99]]).int ?? -2) > 0)
    }

    /// A primary killed while its shard is swept: a replica takes over, the shard's scan starts over on
    /// it and the report says so; every key is still looked at and fixed.
    @Test func aPrimaryKilledMidSweepFailsOverAndItsShardStartsOver() throws {
        let t = try load(6000)
        let a = try AgentProcess(config())
        let job = try a.client.startExpirySweep(enforce: true, keysPerSecond: 1500)
        let victim = try #require(t.primaries.first)
        // Kill it once the sweep is under way on it (its pid from INFO server).
        let v = try node(victim.host, victim.port)
        let pid = try #require(Int32(try v.info("server")["process_id"] ?? ""))
        v.close()
        #expect(
            eventually(timeout: 30) {
                (try? a.ctl(["jobs", "logs", job.id]).stdout.contains("resuming") == false) == true
                    && ((try? a.client.job(job.id))?.progress?.done ?? 0) > 500
            })
        kill(pid, SIGKILL)
        let done = try a.ctl(["jobs", "follow", job.id])
        #expect(done.status == 0, "\(done.output)")
        let report = try a.client.lastExpiryReport()
        let shards = try #require(report.shards)
        let restarted = try #require(
            shards.first { $0.startedOver != nil },
            "\(shards)\n\((try? a.ctl(["jobs", "logs", job.id]).output) ?? "")")
        #expect(restarted.startedOver?.contains("failed and") == true && restarted.nodeId != victim.id)
        #expect(report.complete && report.scanned >= 7500, "\(report.scanned): \(shards)")
        #expect(try unfixed(try topology()) == 0)
        let log = try a.ctl(["jobs", "logs", job.id])
        #expect(log.stdout.contains("waiting up to"), "\(log.output)")
    }
}
