import Logging
import WhatIfCore
import WhatIfProtocol
import WhatIfRedis
import WhatIfUnits

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Where a cluster sweep stopped: each primary's checkpoint, by node id (a cursor is a position in one
/// node's keyspace, so a shard whose primary changed starts over).
package struct ClusterSweepCheckpoint: Codable, Sendable, Equatable {
    package var nodes: [String: SweepCheckpoint]
    package init(nodes: [String: SweepCheckpoint] = [:]) { self.nodes = nodes }
}

/// One sweep over a Redis Cluster: the topology from CLUSTER SHARDS (or SLOTS), then every primary's
/// keyspace SCANned in parallel, each node paced by the same budget, each with a checkpoint bound to its
/// node id. Per-key commands follow MOVED and ASK (a slot migrating during the sweep). A primary that
/// fails mid-sweep is waited for: when a replica has taken over its slots, that shard's scan starts over
/// on it and the report says so. The report has one entry per shard and the totals.
package final class ClusterSweep: @unchecked Sendable {
    let policy: ExpiryPolicy
    let settings: SweepSettings
    let enforce: Bool
    let seed: RedisConnection
    let seedHost: String
    let connectNode: @Sendable (String, Int) throws -> RedisConnection
    let reporter: any JobReporter
    let resumeFrom: ClusterSweepCheckpoint?
    let save: @Sendable (ClusterSweepCheckpoint) -> Void
    /// How long a shard whose primary failed waits for a replica to take over.
    var failoverWait: Double = 30

    package init(
        policy: ExpiryPolicy, settings: SweepSettings, enforce: Bool, seed: RedisConnection,
        connectNode: @escaping @Sendable (String, Int) throws -> RedisConnection, reporter: any JobReporter,
        resumeFrom: ClusterSweepCheckpoint?, save: @escaping @Sendable (ClusterSweepCheckpoint) -> Void
    ) {
        self.policy = policy
        self.settings = settings
        self.enforce = enforce
        self.seed = seed
        seedHost = seed.config.endpoint.host
        self.connectNode = connectNode
        self.reporter = reporter
        self.resumeFrom = resumeFrom
        self.save = save
    }

    struct Outcome {
        var shard: ClusterTopology.Shard
        var node: ClusterTopology.Node
        var report: ExpiryReport
        var startedOver: String?
        var redirects: Int
    }

    package func run() throws -> ExpiryReport {
        let watch = Stopwatch()
        let topology = try ClusterTopology.discover(seed, seedHost: seedHost)
        let shards = topology.shards.filter { $0.primary != nil }
        guard !shards.isEmpty else {
            throw Failure("the cluster has no primary serving any slot", hint: "check CLUSTER SHARDS on its nodes")
        }
        reporter.info(
            "cluster: \(shards.count) shards, \(topology.slotsCovered) of 16384 slots served; sweeping every primary")
        let checkpoints = Locked(resumeFrom ?? ClusterSweepCheckpoint())
        let progress = ShardProgress(reporter, shards: shards.count)
        let outcomes = try onEachShard(shards.count) { [self] i in
            try sweepShard(shards[i], index: i, checkpoints: checkpoints, progress: progress)
        }
        return merge(outcomes, slotsCovered: topology.slotsCovered, seconds: watch.elapsedSeconds)
    }

    /// One shard: its primary swept; on a lost connection, the shard's new primary (after a failover)
    /// swept from the start.
    func sweepShard(
        _ shard: ClusterTopology.Shard, index: Int, checkpoints: Locked<ClusterSweepCheckpoint>, progress: ShardProgress
    ) throws -> Outcome {
        guard var node = shard.primary else { throw Failure("shard \(shard.slotText) has no primary") }
        let shardReporter = progress.reporter(index, label: "shard \(shard.slotText)")
        var startedOver: String?
        // A checkpoint of this sweep that has no cursor for this primary: the shard's primary changed
        // since (a failover between runs), and a cursor of another node means nothing here.
        if let saved = resumeFrom, !saved.nodes.isEmpty, saved.nodes[node.id] == nil {
            startedOver =
                "the checkpoint has no cursor for primary \(node.address) (\(node.id.prefix(8))): the shard's primary changed since; this shard's scan started over"
            shardReporter.log(.warning, startedOver!)
        }
        while true {
            let router = ClusterConnections(connect: connectNode)
            defer { router.closeAll() }
            do {
                let conn = try router.connection(node.host, node.port)
                let id = node.id
                let sweeper = ExpirySweeper(
                    policy: policy, settings: settings, enforce: enforce, connection: conn, reporter: shardReporter,
                    resumeFrom: checkpoints.value.nodes[id],
                    saveCheckpoint: { [save] cp in
                        // Saved under the lock: the shards' threads write one file, one at a time.
                        checkpoints.withLock { c in
                            c.nodes[id] = cp
                            save(c)
                        }
                    })
                sweeper.nodeId = id
                sweeper.pipeline = { try router.pipeline(on: conn, $0) }
                let report = try sweeper.run()
                return Outcome(
                    shard: shard, node: node, report: report, startedOver: startedOver ?? report.startedOver,
                    redirects: router.moved + router.asked)
            } catch let e as RedisError where e.kind == .connection || e.kind == .timeout {
                reporter.log(
                    .warning,
                    "shard \(shard.slotText): primary \(node.address) failed (\(e.message)); waiting up to \(Units.duration(failoverWait)) for a replica to take over"
                )
                let old = node
                node = try awaitFailover(shard, failed: old)
                checkpoints.withLock { _ = $0.nodes.removeValue(forKey: old.id) }
                startedOver =
                    "primary \(old.address) (\(old.id.prefix(8))) failed and \(node.address) (\(node.id.prefix(8))) took over slots \(shard.slotText): this shard's scan started over"
                reporter.log(.warning, "shard \(shard.slotText): \(startedOver!)")
            }
        }
    }

    /// Asks the cluster's reachable nodes for the topology until the shard's first slot has a primary
    /// other than `failed`.
    func awaitFailover(_ shard: ClusterTopology.Shard, failed: ClusterTopology.Node) throws -> ClusterTopology.Node {
        guard let slot = shard.slots.first?.lowerBound else { throw Failure("shard without slots") }
        let deadline = Deadline.after(seconds: failoverWait)
        let candidates = shard.replicas + [failed]
        while !deadline.hasPassed {
            try reporter.checkCancelled()
            for n in candidates where n.id != failed.id {
                guard let c = try? connectNode(n.host, n.port) else { continue }
                defer { c.close() }
                if let t = try? ClusterTopology.discover(c, seedHost: seedHost), let p = t.shard(slot: slot)?.primary,
                    p.id != failed.id
                {
                    return p
                }
            }
            sleepThread(seconds: 0.5)
        }
        throw Failure(
            "shard \(shard.slotText): its primary \(failed.address) failed and no replica took over within \(Units.duration(failoverWait))",
            hint: "check the cluster (CLUSTER INFO, CLUSTER SHARDS); run the sweep again once cluster_state is ok")
    }

    func merge(_ outcomes: [Outcome], slotsCovered: Int, seconds: Double) -> ExpiryReport {
        let first = outcomes[0].report
        var rules = first.rules.map { r -> ExpiryRuleReport in
            var z = r
            z.matched = 0
            z.withoutTTL = 0
            z.overMax = 0
            z.fixed = 0
            z.changedMeanwhile = 0
            z.samples = []
            return z
        }
        var shards: [ExpiryShardReport] = []
        var findings: [String] = []
        for o in outcomes {
            let r = o.report
            for (i, rule) in r.rules.enumerated() where i < rules.count {
                rules[i].matched += rule.matched
                rules[i].withoutTTL += rule.withoutTTL
                rules[i].overMax += rule.overMax
                rules[i].fixed += rule.fixed
                rules[i].changedMeanwhile += rule.changedMeanwhile
                for s in rule.samples where rules[i].samples.count < settings.sampleSize { rules[i].samples.append(s) }
            }
            for f in r.findings where !findings.contains(f) { findings.append(f) }
            shards.append(
                ExpiryShardReport(
                    slots: o.shard.slotText, nodeId: o.node.id, node: o.node.address, scanned: r.scanned,
                    matched: r.rules.reduce(0) { $0 + $1.matched },
                    withoutTTL: r.rules.reduce(0) { $0 + $1.withoutTTL },
                    overMax: r.rules.reduce(0) { $0 + $1.overMax }, fixed: r.rules.reduce(0) { $0 + $1.fixed },
                    complete: r.complete, resumed: r.resumed, startedOver: o.startedOver, redirects: o.redirects))
        }
        if slotsCovered < ClusterSlot.count {
            findings.append(
                "the cluster serves \(slotsCovered) of \(ClusterSlot.count) slots: keys in the others were not swept")
        }
        let reports = outcomes.map(\.report)
        var report = ExpiryReport(
            mode: first.mode, serverVersion: first.serverVersion, maxmemoryPolicy: first.maxmemoryPolicy,
            expectedMaxmemoryPolicy: first.expectedMaxmemoryPolicy, findings: findings,
            scanned: reports.reduce(0) { $0 + $1.scanned }, excluded: reports.reduce(0) { $0 + $1.excluded },
            unmatched: reports.reduce(0) { $0 + $1.unmatched }, rules: rules,
            complete: reports.allSatisfy(\.complete) && slotsCovered == ClusterSlot.count,
            resumed: reports.contains(where: \.resumed), resumedAfter: nil,
            startedOver: outcomes.compactMap(\.startedOver).first,
            target: "cluster of \(outcomes.count) shards", seconds: seconds)
        report.shards = shards
        report.slotsCovered = slotsCovered
        return report
    }
}

/// Runs `body` for shards 0..<n, each on a thread of its own; their results in order, or the first
/// shard's error.
func onEachShard<T: Sendable>(_ n: Int, _ body: @escaping @Sendable (Int) throws -> T) throws -> [T] {
    let results = Locked<[Int: Result<T, any Error>]>([:])
    let handles = (0..<n).map { i in
        Threads.start {
            let r = Result { try body(i) }
            results.withLock { $0[i] = r }
        }
    }
    for h in handles { h.join() }
    return try (0..<n).map { i in
        guard let r = results.value[i] else { throw Failure("shard \(i)'s work ended without a result") }
        return try r.get()
    }
}

/// The shards' progress summed for the job, and their log lines labelled with the shard.
final class ShardProgress: @unchecked Sendable {
    let parent: any JobReporter
    private let state: Locked<[(done: Double, total: Double)]>

    init(_ parent: any JobReporter, shards: Int) {
        self.parent = parent
        state = Locked(Array(repeating: (0, 0), count: shards))
    }

    func reporter(_ index: Int, label: String) -> any JobReporter {
        ShardReporter(progress: self, index: index, label: label)
    }

    func report(_ index: Int, done: Double, total: Double?, unit: String, phase: String?) {
        let sum = state.withLock { s -> (Double, Double) in
            s[index] = (done, total ?? done)
            return (s.reduce(0) { $0 + $1.done }, s.reduce(0) { $0 + $1.total })
        }
        parent.progress(done: sum.0, total: sum.1, unit: unit, phase: phase)
    }

    struct ShardReporter: JobReporter {
        let progress: ShardProgress
        let index: Int
        let label: String
        func progress(done: Double, total: Double?, unit: String, phase: String?) {
            progress.report(index, done: done, total: total, unit: unit, phase: phase)
        }
        func log(_ level: Logger.Level, _ message: String) { progress.parent.log(level, "\(label): \(message)") }
        var isCancelled: Bool { progress.parent.isCancelled }
    }
}

/// The key audit over a cluster: every shard read once, on its primary or (asked) on a replica after
/// READONLY, in parallel; the groups, biggest keys and counts merged.
enum ClusterAudit {
    static func run(
        _ req: StartKeyAuditRequest, settings: SweepSettings, seed: RedisConnection,
        connectNode: @escaping @Sendable (String, Int) throws -> RedisConnection, reporter: any JobReporter
    ) throws -> KeyAuditReport {
        let watch = Stopwatch()
        let topology = try ClusterTopology.discover(seed)
        let shards = topology.shards.filter { $0.primary != nil }
        var chosen: [(ClusterTopology.Shard, ClusterTopology.Node)] = []
        for s in shards {
            if req.replicas == true {
                // Redis 7.0 reports a replica `loading` until its offset is gossiped; its own INFO decides.
                guard
                    let r = s.replicas.first(where: { $0.health == "online" })
                        ?? s.replicas.first(where: { $0.health != "failed" })
                else {
                    throw Failure(
                        "shard \(s.slotText) has no replica to audit",
                        hint: "audit the primaries (without replicas), or wait for the replica")
                }
                chosen.append((s, r))
            } else if let p = s.primary {
                chosen.append((s, p))
            }
        }
        let progress = ShardProgress(reporter, shards: chosen.count)
        let targets = chosen
        let reports = try onEachShard(chosen.count) { i -> KeyAuditReport in
            let (shard, node) = targets[i]
            let c = try connectNode(node.host, node.port)
            defer { c.close() }
            if !node.primary {
                guard try c.info("replication")["master_link_status"] == "up" else {
                    throw Failure(
                        "replica \(node.address) of shard \(shard.slotText) is not in sync with its primary",
                        hint: "audit the primaries (without replicas), or wait for the replica")
                }
                let ro = try c.command(["READONLY"])
                if case .error(let e) = ro { throw Failure("READONLY on \(node.address) failed: \(e)") }
            }
            return try KeyAuditor(
                settings: settings, delimiter: req.delimiter ?? ":", depth: req.depth ?? 1, connection: c,
                reporter: progress.reporter(i, label: "shard \(shard.slotText)")
            ).run()
        }
        var groups: [String: KeyGroupReport] = [:]
        for r in reports {
            for g in r.groups {
                let id = "\(g.prefix)\u{0}\(g.type)"
                var m = groups[id] ?? KeyGroupReport(prefix: g.prefix, type: g.type)
                m.keys += g.keys
                m.withoutTTL += g.withoutTTL
                m.bytes += g.bytes
                m.bytesWithoutTTL += g.bytesWithoutTTL
                if g.biggestBytes > m.biggestBytes {
                    m.biggestBytes = g.biggestBytes
                    m.biggestKey = g.biggestKey
                }
                groups[id] = m
            }
        }
        let sorted = groups.values.sorted {
            ($0.bytesWithoutTTL, $0.bytes, $1.prefix, $1.type) > ($1.bytesWithoutTTL, $1.bytes, $0.prefix, $0.type)
        }
        let biggest = Array(
            reports.flatMap(\.biggest).sorted { ($0.memoryBytes ?? 0) > ($1.memoryBytes ?? 0) }.prefix(10))
        var findings: [String] = []
        for r in reports { for f in r.findings where !findings.contains(f) { findings.append(f) } }
        if topology.slotsCovered < ClusterSlot.count {
            findings.append(
                "the cluster serves \(topology.slotsCovered) of \(ClusterSlot.count) slots: keys in the others were not read"
            )
        }
        var report = KeyAuditReport(
            serverVersion: reports.first?.serverVersion ?? "?", maxmemoryPolicy: reports.first?.maxmemoryPolicy,
            usedMemoryBytes: reports.compactMap(\.usedMemoryBytes).reduce(0, +),
            target: "cluster of \(reports.count) shards\(req.replicas == true ? ", read on replicas" : "")",
            delimiter: req.delimiter ?? ":", depth: req.depth ?? 1, scanned: reports.reduce(0) { $0 + $1.scanned },
            vanished: reports.reduce(0) { $0 + $1.vanished }, groups: sorted, biggest: biggest, findings: findings,
            complete: reports.allSatisfy(\.complete) && topology.slotsCovered == ClusterSlot.count,
            seconds: watch.elapsedSeconds)
        report.nodes = chosen.map { "\($0.0.slotText)@\($0.1.address)" }
        return report
    }
}
