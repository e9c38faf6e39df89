import WhatIfAWS
import WhatIfCore
import WhatIfPostgres
import WhatIfRedis

#if canImport(Glibc)
    import Glibc
#endif

/// Reads one service's metrics. Blocking (runs on the monitoring thread); keeps what it needs to turn
/// counters into per-period deltas.
package protocol Collector: AnyObject, Sendable {
    /// "host", "postgres", "redis", "dynamodb", "cloudwatch".
    var name: String { get }
    func collect(now: Double) throws -> [Sample]
}

/// Turns cumulative counters into deltas and rates between two reads. A counter that went down (the
/// server restarted) starts over: its delta is the new value.
struct CounterTracker {
    private var last: [String: (value: Double, time: Double)] = [:]

    mutating func delta(_ name: String, _ value: Double, at time: Double) -> (delta: Double, seconds: Double)? {
        defer { last[name] = (value, time) }
        guard let prev = last[name], time > prev.time else { return nil }
        return (value >= prev.value ? value - prev.value : value, time - prev.time)
    }

    mutating func reset() { last = [:] }
}

/// Host CPU and memory from /proc, free space from statvfs.
package final class HostCollector: Collector, @unchecked Sendable {
    package let name = "host"
    let host: String
    let freeSpacePaths: [(metric: String, path: String)]
    let procRoot: String
    private let lock = Locked(())
    private var lastCPU: (busy: Double, total: Double)?
    /// The last CPU utilisation computed, for collectors that report the host's CPU as their own
    /// (RDS and ElastiCache CPUUtilization in development).
    package private(set) var cpuPercent: Double?

    package init(host: String, freeSpacePaths: [(metric: String, path: String)], procRoot: String = "/proc") {
        self.host = host
        self.freeSpacePaths = freeSpacePaths
        self.procRoot = procRoot
    }

    package func collect(now: Double) throws -> [Sample] {
        try lock.withLock { _ in try collectLocked(now: now) }
    }

    private func collectLocked(now: Double) throws -> [Sample] {
        let dims = [MetricKey.Dimension("Host", host)]
        func key(_ n: String, _ unit: String) -> MetricKey {
            MetricKey(namespace: "WhatIf/Host", name: n, dimensions: dims, unit: unit)
        }
        var out: [Sample] = []
        if let cpu = Self.readCPU(procRoot) {
            if let prev = lastCPU, cpu.total > prev.total {
                let pct = max(0, min(100, (cpu.busy - prev.busy) / (cpu.total - prev.total) * 100))
                cpuPercent = pct
                out.append(Sample(key: key("CPUUtilization", MetricUnit.percent), value: pct, time: now))
            }
            lastCPU = cpu
        }
        if let mem = Self.readMemory(procRoot), mem.total > 0 {
            out.append(
                Sample(
                    key: key("MemoryUtilization", MetricUnit.percent),
                    value: (mem.total - mem.available) / mem.total * 100,
                    time: now))
            out.append(Sample(key: key("MemoryAvailable", MetricUnit.bytes), value: mem.available, time: now))
        }
        for (metric, path) in freeSpacePaths {
            if let free = Self.freeBytes(path) {
                out.append(Sample(key: key(metric, MetricUnit.bytes), value: free, time: now))
            }
        }
        return out
    }

    /// The first line of /proc/stat: busy and total jiffies (iowait counts as idle, steal as busy).
    static func readCPU(_ proc: String) -> (busy: Double, total: Double)? {
        guard let bytes = try? Files.read("\(proc)/stat", limit: 1 << 20) else { return nil }
        guard let line = String(decoding: bytes, as: UTF8.self).split(separator: "\n").first, line.hasPrefix("cpu ")
        else { return nil }
        let f = line.split(separator: " ").dropFirst().compactMap { Double($0) }
        guard f.count >= 4 else { return nil }
        // user nice system idle iowait irq softirq steal (guest is already in user).
        let used = f.prefix(8)
        let total = used.reduce(0, +)
        let idle = f[3] + (f.count > 4 ? f[4] : 0)
        return (total - idle, total)
    }

    static func readMemory(_ proc: String) -> (total: Double, available: Double)? {
        guard let bytes = try? Files.read("\(proc)/meminfo", limit: 1 << 20) else { return nil }
        var total: Double?
        var available: Double?
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
            let parts = line.split(separator: " ", omittingEmptySubsequences: true)
            guard parts.count >= 2, let kb = Double(parts[1]) else { continue }
            if parts[0] == "MemTotal:" { total = kb * 1024 }
            if parts[0] == "MemAvailable:" { available = kb * 1024 }
        }
        guard let total, let available else { return nil }
        return (total, available)
    }

    /// Bytes free to unprivileged users on the file system holding `path`.
    package static func freeBytes(_ path: String) -> Double? {
        var s = statvfs()
        guard statvfs(path, &s) == 0 else { return nil }
        return Double(s.f_bavail) * Double(s.f_frsize)
    }
}

/// PostgreSQL as AWS/RDS names it (DBInstanceIdentifier), from pg_stat_activity and pg_stat_database.
package final class PostgresCollector: Collector, @unchecked Sendable {
    package let name = "postgres"
    let instanceId: String
    let connect: @Sendable () throws -> PostgresConnection
    let host: HostCollector?
    let localDataDirectory: Bool
    private let lock = Locked(())
    private var connection: PostgresConnection?
    private var counters = CounterTracker()
    private var dataDirectory: String??

    /// `host` gives CPUUtilization in development (the server shares the host); `localDataDirectory`
    /// allows FreeStorageSpace from statvfs of the server's data directory.
    package init(
        instanceId: String, host: HostCollector?, localDataDirectory: Bool,
        connect: @escaping @Sendable () throws -> PostgresConnection
    ) {
        self.instanceId = instanceId
        self.connect = connect
        self.host = host
        self.localDataDirectory = localDataDirectory
    }

    static let sql = """
        SELECT (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend') AS connections,
               pg_database_size(current_database()) AS size,
               d.xact_commit, d.xact_rollback, d.blks_hit, d.blks_read, d.deadlocks,
               (SELECT coalesce(max(extract(epoch FROM clock_timestamp() - xact_start)), 0)
                  FROM pg_stat_activity
                 WHERE xact_start IS NOT NULL AND pid <> pg_backend_pid()
                   AND backend_type = 'client backend') AS longest,
               pg_is_in_recovery() AS standby,
               (SELECT count(*) FROM pg_stat_activity
                 WHERE state = 'active' AND backend_type = 'client backend' AND pid <> pg_backend_pid()
                   AND clock_timestamp() - query_start > interval '1 second') AS slow
          FROM pg_stat_database d WHERE d.datname = current_database()
        """

    package func collect(now: Double) throws -> [Sample] {
        try lock.withLock { _ in try collectLocked(now: now) }
    }

    private func collectLocked(now: Double) throws -> [Sample] {
        let (conn, r) = try kept(&connection, connect) { try $0.query(Self.sql, deadline: .after(seconds: 10)) }
        if dataDirectory == nil {
            dataDirectory =
                localDataDirectory
                ? (try? conn.query("SELECT current_setting('data_directory')", deadline: .after(seconds: 5)))?
                    .value(0, "current_setting") : nil
        }
        let dims = [MetricKey.Dimension("DBInstanceIdentifier", instanceId)]
        func sample(_ n: String, _ unit: String, _ v: Double) -> Sample {
            Sample(key: MetricKey(namespace: "AWS/RDS", name: n, dimensions: dims, unit: unit), value: v, time: now)
        }
        func num(_ c: String) -> Double? { r.value(0, c).flatMap(Double.init) }
        var out: [Sample] = []
        if let v = num("connections") { out.append(sample("DatabaseConnections", MetricUnit.count, v)) }
        if let v = num("size") { out.append(sample("DatabaseSize", MetricUnit.bytes, v)) }
        if let v = num("longest") { out.append(sample("OldestOpenTransactionAge", MetricUnit.seconds, v)) }
        // Statements running for more than a second now (slow queries, for alarms; RDS has no such metric).
        if let v = num("slow") {
            out.append(
                Sample(
                    key: MetricKey(
                        namespace: "WhatIf/PostgreSQL", name: "LongRunningQueries", dimensions: dims,
                        unit: MetricUnit.count),
                    value: v, time: now))
        }
        if let commit = num("xact_commit"), let d = counters.delta("commit", commit, at: now) {
            out.append(sample("CommitThroughput", MetricUnit.countPerSecond, d.delta / d.seconds))
        }
        if let rollback = num("xact_rollback"), let d = counters.delta("rollback", rollback, at: now) {
            out.append(sample("RollbackThroughput", MetricUnit.countPerSecond, d.delta / d.seconds))
        }
        if let dl = num("deadlocks"), let d = counters.delta("deadlocks", dl, at: now) {
            out.append(sample("Deadlocks", MetricUnit.countPerSecond, d.delta / d.seconds))
        }
        if let hit = num("blks_hit"), let read = num("blks_read"), let h = counters.delta("hit", hit, at: now),
            let rd = counters.delta("read", read, at: now), h.delta + rd.delta > 0
        {
            out.append(sample("BufferCacheHitRatio", MetricUnit.percent, h.delta / (h.delta + rd.delta) * 100))
        }
        if let dir = dataDirectory ?? nil, let free = HostCollector.freeBytes(dir) {
            out.append(sample("FreeStorageSpace", MetricUnit.bytes, free))
        }
        if let cpu = host?.cpuPercent { out.append(sample("CPUUtilization", MetricUnit.percent, cpu)) }
        if r.value(0, "standby") == "f", let bytes = try? conn.replicationSlotBytes(deadline: .after(seconds: 5)) {
            out.append(sample("ReplicationSlotDiskUsage", MetricUnit.bytes, bytes))
        }
        return out
    }
}

/// A read replica as AWS/RDS names it (its own DBInstanceIdentifier): ReplicaLag in seconds, read on
/// the replica (0 once it has replayed all it received; the time since its last replayed commit
/// otherwise). A replica that is no longer in recovery or receives no WAL reports no ReplicaLag (an
/// alarm then sees missing data, as CloudWatch would show it).
package final class PostgresReplicaCollector: Collector, @unchecked Sendable {
    package let name: String
    let instanceId: String
    let connect: @Sendable () throws -> PostgresConnection
    private let lock = Locked(())
    private var connection: PostgresConnection?

    package init(instanceId: String, connect: @escaping @Sendable () throws -> PostgresConnection) {
        name = "postgres replica \(instanceId)"
        self.instanceId = instanceId
        self.connect = connect
    }

    package func collect(now: Double) throws -> [Sample] {
        try lock.withLock { _ in
            let conn = try connection ?? connect()
            connection = conn
            let state: PostgresConnection.StandbyState
            do { state = try conn.standbyState(deadline: .after(seconds: 10)) } catch {
                conn.close()
                connection = nil
                throw error
            }
            guard state.inRecovery, let lag = state.lagSeconds else { return [] }
            return [
                Sample(
                    key: MetricKey(
                        namespace: "AWS/RDS", name: "ReplicaLag",
                        dimensions: [MetricKey.Dimension("DBInstanceIdentifier", instanceId)], unit: MetricUnit.seconds),
                    value: lag, time: now)
            ]
        }
    }
}

/// Redis as AWS/ElastiCache names it (CacheClusterId), from INFO, each metric derived as AWS defines it:
/// counters (CacheHits, CacheMisses, Evictions, NewConnections, Reclaimed) become deltas per collection.
public final class RedisCollector: Collector, @unchecked Sendable {
    package let name = "redis"
    let clusterId: String
    /// ElastiCache's CacheNodeId, for a node of a cluster (its metrics then carry both dimensions).
    let nodeId: String?
    let connect: @Sendable () throws -> RedisConnection
    let host: HostCollector?
    private let lock = Locked(())
    private var connection: RedisConnection?
    private var counters = CounterTracker()
    /// The newest SLOWLOG entry id seen (nil until the first read, which only sets it).
    private var slowlogID: Int64?

    package init(
        clusterId: String, nodeId: String? = nil, host: HostCollector?,
        connect: @escaping @Sendable () throws -> RedisConnection
    ) {
        self.clusterId = clusterId
        self.nodeId = nodeId
        self.connect = connect
        self.host = host
    }

    package func collect(now: Double) throws -> [Sample] {
        try lock.withLock { _ in try collectLocked(now: now) }
    }

    private func collectLocked(now: Double) throws -> [Sample] {
        let conn: RedisConnection
        if let c = connection {
            conn = c
        } else {
            conn = try connect()
            connection = conn
        }
        let info: [String: String]
        do {
            info = try conn.info("all")
        } catch {
            conn.close()
            connection = nil
            throw error
        }
        var out = Self.derive(
            info, clusterId: clusterId, nodeId: nodeId, counters: &counters, hostCPU: host?.cpuPercent, now: now)
        // Slow commands since the last cycle (SLOWLOG GET: id, time, microseconds, ...), for alarms; a
        // server that refuses SLOWLOG (a renamed command) only loses this figure.
        if case .array(let entries)? = try? conn.command("SLOWLOG", "GET", "128") {
            let ids = entries.compactMap { e -> Int64? in
                guard case .array(let f) = e, case .integer(let id)? = f.first else { return nil }
                return id
            }
            let newest = ids.max()
            if let last = slowlogID {
                // An id below the last one: the server restarted (ids start over); count what it has.
                let fresh = newest.map { $0 < last } == true ? ids.count : ids.filter { $0 > last }.count
                out.append(
                    Sample(
                        key: MetricKey(
                            namespace: "WhatIf/Redis", name: "SlowlogEntries",
                            dimensions: [MetricKey.Dimension("CacheClusterId", clusterId)]
                                + (nodeId.map { [MetricKey.Dimension("CacheNodeId", $0)] } ?? []),
                            unit: MetricUnit.count), value: Double(fresh), time: now))
            }
            slowlogID = newest ?? slowlogID ?? 0
        }
        return out
    }

    /// The samples two INFO replies a minute apart give (for the fuzz target and tools).
    public static func samples(first: String, second: String) -> [Sample] {
        var c = CounterTracker()
        _ = derive(RedisConnection.parseInfo(first), clusterId: "x", counters: &c, hostCPU: nil, now: 0)
        return derive(RedisConnection.parseInfo(second), clusterId: "x", counters: &c, hostCPU: nil, now: 60)
    }

    static func derive(
        _ info: [String: String], clusterId: String, nodeId: String? = nil, counters: inout CounterTracker,
        hostCPU: Double?, now: Double
    ) -> [Sample] {
        let dims =
            [MetricKey.Dimension("CacheClusterId", clusterId)]
            + (nodeId.map { [MetricKey.Dimension("CacheNodeId", $0)] } ?? [])
        func sample(_ n: String, _ unit: String, _ v: Double) -> Sample {
            Sample(
                key: MetricKey(namespace: "AWS/ElastiCache", name: n, dimensions: dims, unit: unit), value: v, time: now
            )
        }
        func num(_ k: String) -> Double? { info[k].flatMap(Double.init) }
        var out: [Sample] = []
        // Engine CPU: the main thread's CPU seconds (Redis >= 6.2), else the whole process's.
        let cpu =
            (num("used_cpu_sys_main_thread").flatMap { s in num("used_cpu_user_main_thread").map { s + $0 } })
            ?? (num("used_cpu_sys").flatMap { s in num("used_cpu_user").map { s + $0 } })
        if let cpu, let d = counters.delta("cpu", cpu, at: now) {
            out.append(sample("EngineCPUUtilization", MetricUnit.percent, min(100, d.delta / d.seconds * 100)))
        }
        if let hostCPU { out.append(sample("CPUUtilization", MetricUnit.percent, hostCPU)) }
        if let used = num("used_memory") {
            out.append(sample("BytesUsedForCache", MetricUnit.bytes, used))
            // used_memory / maxmemory; with no maxmemory set (development), of the host's memory.
            let limit = num("maxmemory").flatMap { $0 > 0 ? $0 : nil } ?? num("total_system_memory")
            if let limit, limit > 0 {
                out.append(sample("DatabaseMemoryUsagePercentage", MetricUnit.percent, used / limit * 100))
            }
        }
        let hits = num("keyspace_hits").flatMap { counters.delta("hits", $0, at: now) }
        let misses = num("keyspace_misses").flatMap { counters.delta("misses", $0, at: now) }
        if let hits { out.append(sample("CacheHits", MetricUnit.count, hits.delta)) }
        if let misses { out.append(sample("CacheMisses", MetricUnit.count, misses.delta)) }
        if let hits, let misses, hits.delta + misses.delta > 0 {
            out.append(sample("CacheHitRate", MetricUnit.percent, hits.delta / (hits.delta + misses.delta) * 100))
        }
        if let v = num("evicted_keys"), let d = counters.delta("evicted", v, at: now) {
            out.append(sample("Evictions", MetricUnit.count, d.delta))
        }
        if let v = num("expired_keys"), let d = counters.delta("expired", v, at: now) {
            out.append(sample("Reclaimed", MetricUnit.count, d.delta))
        }
        if let v = num("total_connections_received"), let d = counters.delta("connections", v, at: now) {
            out.append(sample("NewConnections", MetricUnit.count, d.delta))
        }
        if let v = num("connected_clients") { out.append(sample("CurrConnections", MetricUnit.count, v)) }
        var items = 0.0
        var sawKeyspace = false
        for (k, v) in info where k.hasPrefix("db") && k.dropFirst(2).allSatisfy(\.isNumber) {
            for part in v.split(separator: ",") where part.hasPrefix("keys=") {
                items += Double(part.dropFirst(5)) ?? 0
                sawKeyspace = true
            }
        }
        if sawKeyspace || info["redis_version"] != nil { out.append(sample("CurrItems", MetricUnit.count, items)) }
        return out
    }
}

/// The agent's own AWS calls, counted per service for DynamoDB's development metrics.
package final class AWSCallCounters: Sendable {
    package struct Totals: Sendable, Equatable {
        package var requests = 0.0
        package var throttles = 0.0
        package var userErrors = 0.0
        package var systemErrors = 0.0
        package var retries = 0.0
        package var successSeconds = 0.0
        package var successes = 0.0
    }

    private let totals = Locked<[String: Totals]>([:])

    package init() {}

    package func record(_ r: AWSCallRecord) {
        totals.withLock { t in
            var v = t[r.service, default: Totals()]
            v.requests += 1
            v.retries += Double(max(0, r.attempts - 1))
            let code = r.errorCode ?? ""
            if code.contains("Throttl") || code == "ProvisionedThroughputExceededException"
                || code == "RequestLimitExceeded"
            {
                v.throttles += 1
            } else if (400..<500).contains(r.status) {
                v.userErrors += 1
            } else if r.errorCode != nil {
                v.systemErrors += 1
            } else {
                v.successes += 1
                v.successSeconds += r.seconds
            }
            t[r.service] = v
        }
    }

    package func snapshot(_ service: String) -> Totals { totals.withLock { $0[service] ?? Totals() } }
}

/// DynamoDB in development (DynamoDB Local, moto): DescribeTable's item count and size, and the agent's
/// own request counters, since there is no CloudWatch to ask.
package final class DynamoDBLocalCollector: Collector, @unchecked Sendable {
    package let name = "dynamodb"
    let tables: [String]
    let dynamodb: @Sendable () -> DynamoDB
    let calls: AWSCallCounters
    private let lock = Locked(())
    private var counters = CounterTracker()

    package init(tables: [String], calls: AWSCallCounters, dynamodb: @escaping @Sendable () -> DynamoDB) {
        self.tables = tables
        self.dynamodb = dynamodb
        self.calls = calls
    }

    package func collect(now: Double) throws -> [Sample] {
        try lock.withLock { _ in try collectLocked(now: now) }
    }

    private func collectLocked(now: Double) throws -> [Sample] {
        var out: [Sample] = []
        let client = dynamodb()
        for table in tables {
            let dims = [MetricKey.Dimension("TableName", table)]
            let d = try client.describeTable(table)
            func sample(_ n: String, _ unit: String, _ v: Double) -> Sample {
                Sample(
                    key: MetricKey(namespace: "AWS/DynamoDB", name: n, dimensions: dims, unit: unit), value: v,
                    time: now)
            }
            if let n = d.itemCount { out.append(sample("ItemCount", MetricUnit.count, Double(n))) }
            if let n = d.tableSizeBytes { out.append(sample("TableSizeBytes", MetricUnit.bytes, Double(n))) }
            for gsi in d.globalSecondaryIndexes ?? [] {
                guard let n = gsi.itemCount else { continue }
                out.append(
                    Sample(
                        key: MetricKey(
                            namespace: "AWS/DynamoDB", name: "ItemCount",
                            dimensions: dims + [.init("GlobalSecondaryIndexName", gsi.indexName)],
                            unit: MetricUnit.count),
                        value: Double(n), time: now))
            }
        }
        // The agent's own calls (account-wide, like UserErrors): deltas since the last collection.
        let t = calls.snapshot("dynamodb")
        func agent(_ n: String, _ unit: String, _ v: Double) -> Sample {
            Sample(key: MetricKey(namespace: "AWS/DynamoDB", name: n, dimensions: [], unit: unit), value: v, time: now)
        }
        for (n, v) in [
            ("AgentRequests", t.requests), ("AgentThrottleEvents", t.throttles), ("AgentUserErrors", t.userErrors),
            ("AgentSystemErrors", t.systemErrors), ("AgentRetries", t.retries),
        ] {
            if let d = counters.delta(n, v, at: now) { out.append(agent(n, MetricUnit.count, d.delta)) }
        }
        let ok = counters.delta("successes", t.successes, at: now)
        let secs = counters.delta("successSeconds", t.successSeconds, at: now)
        if let ok, let secs, ok.delta > 0 {
            out.append(agent("AgentSuccessfulRequestLatency", MetricUnit.milliseconds, secs.delta / ok.delta * 1000))
        }
        return out
    }
}

/// A direct collector beside CloudWatch (test and production): the series CloudWatch supplies (the same
/// namespace and metric name) are dropped, so no series has two sources; the rest — what AWS does not
/// publish (transaction throughput, cache hit ratio, deadlocks, the oldest transaction, slow queries and
/// slow commands, replica states, per-node Redis figures) — is kept.
package final class BesideCloudWatch: Collector {
    let inner: any Collector
    let covered: Set<String>

    package init(_ inner: any Collector, covered specs: [CloudWatchCollector.Spec]) {
        self.inner = inner
        covered = Set(specs.map { "\($0.key.namespace) \($0.key.name)" })
    }

    package var name: String { inner.name }

    package func collect(now: Double) throws -> [Sample] {
        try inner.collect(now: now).filter { !covered.contains("\($0.key.namespace) \($0.key.name)") }
    }
}

/// PgBouncer's pools from its admin console (`SHOW POOLS`, `SHOW STATS`, simple query protocol, the only
/// one it speaks), under WhatIf/PgBouncer: per pool (Database, User) the client connections active and
/// waiting, the server connections active and idle, and how long the oldest waiting client has waited;
/// per database the transactions and queries per second and the average query and wait times.
package final class PgBouncerCollector: Collector, @unchecked Sendable {
    package let name = "pgbouncer"
    let connect: @Sendable () throws -> PostgresConnection
    private let lock = Locked(())
    private var connection: PostgresConnection?
    private var counters = CounterTracker()

    package init(connect: @escaping @Sendable () throws -> PostgresConnection) { self.connect = connect }

    package func collect(now: Double) throws -> [Sample] {
        try lock.withLock { _ in try collectLocked(now: now) }
    }

    private func collectLocked(now: Double) throws -> [Sample] {
        let (_, (pools, stats)) = try kept(&connection, connect) {
            (
                try $0.simpleQuery("SHOW POOLS", deadline: .after(seconds: 10)),
                try $0.simpleQuery("SHOW STATS", deadline: .after(seconds: 10))
            )
        }
        return Self.derive(pools: pools, stats: stats, counters: &counters, now: now)
    }

    static func derive(pools: PostgresResult, stats: PostgresResult, counters: inout CounterTracker, now: Double)
        -> [Sample]
    {
        var out: [Sample] = []
        func sample(_ n: String, _ unit: String, _ dims: [MetricKey.Dimension], _ v: Double) {
            out.append(
                Sample(
                    key: MetricKey(namespace: "WhatIf/PgBouncer", name: n, dimensions: dims, unit: unit), value: v,
                    time: now))
        }
        for i in 0..<pools.rows.count {
            guard let db = pools.value(i, "database"), db != "pgbouncer", let user = pools.value(i, "user") else {
                continue
            }
            let dims = [MetricKey.Dimension("Database", db), MetricKey.Dimension("User", user)]
            func num(_ c: String) -> Double? { pools.value(i, c).flatMap(Double.init) }
            for (column, metric) in [
                ("cl_active", "ClientConnectionsActive"), ("cl_waiting", "ClientConnectionsWaiting"),
                ("sv_active", "ServerConnectionsActive"), ("sv_idle", "ServerConnectionsIdle"),
            ] {
                if let v = num(column) { sample(metric, MetricUnit.count, dims, v) }
            }
            if let s = num("maxwait") {
                sample("MaxWait", MetricUnit.seconds, dims, s + (num("maxwait_us") ?? 0) / 1e6)
            }
        }
        for i in 0..<stats.rows.count {
            guard let db = stats.value(i, "database"), db != "pgbouncer" else { continue }
            let dims = [MetricKey.Dimension("Database", db)]
            func num(_ c: String) -> Double? { stats.value(i, c).flatMap(Double.init) }
            if let x = num("total_xact_count"), let d = counters.delta("xact \(db)", x, at: now) {
                sample("TransactionsPerSecond", MetricUnit.countPerSecond, dims, d.delta / d.seconds)
            }
            if let q = num("total_query_count"), let d = counters.delta("query \(db)", q, at: now) {
                sample("QueriesPerSecond", MetricUnit.countPerSecond, dims, d.delta / d.seconds)
            }
            if let t = num("avg_query_time") { sample("AverageQueryTime", MetricUnit.milliseconds, dims, t / 1000) }
            if let t = num("avg_wait_time") { sample("AverageWaitTime", MetricUnit.milliseconds, dims, t / 1000) }
        }
        return out
    }
}

/// A PostgreSQL connection kept between cycles: opened on first use, closed and dropped when `body`
/// fails (the next cycle opens a new one). Answers the connection and what `body` read.
func kept<T>(
    _ connection: inout PostgresConnection?, _ connect: () throws -> PostgresConnection,
    _ body: (PostgresConnection) throws -> T
) throws -> (PostgresConnection, T) {
    let conn = try connection ?? connect()
    connection = conn
    do { return (conn, try body(conn)) } catch {
        conn.close()
        connection = nil
        throw error
    }
}
