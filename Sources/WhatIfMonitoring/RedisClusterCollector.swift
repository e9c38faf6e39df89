import WhatIfCore
import WhatIfRedis

/// Redis as one collector whether it is one server or a cluster: one server is `RedisCollector`'s
/// (CacheClusterId); a cluster (INFO cluster says `cluster_enabled:1`) is collected node by node, each as
/// ElastiCache names a cluster-mode node: CacheClusterId `<base>-<shard 0001>-<member 001>` (the
/// primary first) and CacheNodeId `0001`. The topology is read again when a node fails to answer.
package final class RedisNodesCollector: Collector, @unchecked Sendable {
    package let name = "redis"
    let base: String
    let host: HostCollector?
    let connect: @Sendable () throws -> RedisConnection
    let connectNode: @Sendable (String, Int) throws -> RedisConnection
    private let lock = Locked(())
    private var single: RedisCollector?
    private var nodes: [(address: String, collector: RedisCollector)]?
    /// The nodes last seen, to read the topology from when the configured endpoint is the one down.
    private var known: [(host: String, port: Int)] = []

    package init(
        base: String, host: HostCollector?, connect: @escaping @Sendable () throws -> RedisConnection,
        connectNode: @escaping @Sendable (String, Int) throws -> RedisConnection
    ) {
        self.base = base
        self.host = host
        self.connect = connect
        self.connectNode = connectNode
    }

    /// A cluster-mode node's CacheClusterId: `<base>-0001-001`.
    package static func nodeClusterId(_ base: String, shard: Int, member: Int) -> String {
        let s = String(shard + 1)
        let m = String(member + 1)
        return
            "\(base)-\(String(repeating: "0", count: max(0, 4 - s.count)))\(s)-\(String(repeating: "0", count: max(0, 3 - m.count)))\(m)"
    }

    package func collect(now: Double) throws -> [Sample] {
        try lock.withLock { _ in
            if let single { return try single.collect(now: now) }
            if nodes == nil {
                let seed: RedisConnection
                do { seed = try connect() } catch {
                    let connectNode = self.connectNode
                    guard let other = known.lazy.compactMap({ try? connectNode($0.host, $0.port) }).first else {
                        throw error
                    }
                    seed = other
                }
                defer { seed.close() }
                guard (try seed.info("cluster"))["cluster_enabled"] == "1" else {
                    let one = RedisCollector(clusterId: base, host: host, connect: connect)
                    single = one
                    return try one.collect(now: now)
                }
                let t = try ClusterTopology.discover(seed)
                var list: [(String, RedisCollector)] = []
                for (i, shard) in t.shards.enumerated() {
                    for (j, n) in ([shard.primary].compactMap { $0 } + shard.replicas).enumerated() {
                        let connectNode = self.connectNode
                        let (h, p) = (n.host, n.port)
                        list.append(
                            (
                                n.address,
                                RedisCollector(
                                    clusterId: Self.nodeClusterId(base, shard: i, member: j), nodeId: "0001",
                                    host: host, connect: { try connectNode(h, p) })
                            ))
                    }
                }
                nodes = list
                known = t.shards.flatMap { ([$0.primary].compactMap { $0 } + $0.replicas).map { ($0.host, $0.port) } }
            }
            var out: [Sample] = []
            var failed: [String] = []
            for (address, c) in nodes ?? [] {
                do { out += try c.collect(now: now) } catch { failed.append("\(address): \(error)") }
            }
            if !failed.isEmpty {
                // A node down or a failover: read the topology again next time.
                nodes = nil
                if out.isEmpty { throw Failure("no node of the cluster answered: \(failed.joined(separator: "; "))") }
            }
            return out
        }
    }
}
