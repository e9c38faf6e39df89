import Foundation
import Logging
import Testing
import WhatIfCore
import WhatIfProtocol
import WhatIfTesting

@testable import WhatIfMonitoring

#if canImport(Glibc)
    import Glibc
#endif

struct StoreTests {
    static let logger = Logger(label: "test")
    static let key = MetricKey(
        namespace: "AWS/RDS", name: "CPUUtilization", dimensions: [.init("DBInstanceIdentifier", "db1")],
        unit: MetricUnit.percent)
    static let key2 = MetricKey(namespace: "WhatIf/Host", name: "MemoryAvailable", dimensions: [], unit: "Bytes")

    @Test func historySurvivesReopen() throws {
        let dir = TempDir("whatif-store")
        let t0 = 1_764_000_000.0
        let a = try MetricStore(retention: 86400, directory: dir.path, logger: Self.logger, now: t0)
        for i in 0..<100 {
            a.append(
                [Sample(key: Self.key, value: Double(i), time: t0 + Double(i) * 60)]
                    + (i % 2 == 0 ? [Sample(key: Self.key2, value: Double(i * 10), time: t0 + Double(i) * 60)] : []),
                now: t0 + Double(i) * 60)
        }
        a.close()
        let b = try MetricStore(retention: 86400, directory: dir.path, logger: Self.logger, now: t0 + 6000)
        let p = b.points(Self.key, since: 0)
        #expect(p.count == 100)
        #expect(p.map(\.value) == (0..<100).map(Double.init))
        #expect(b.points(Self.key2, since: 0).count == 50)
        // Reopening again (after the rewrite on open) gives the same.
        b.append([Sample(key: Self.key, value: 1000, time: t0 + 100 * 60)], now: t0 + 6000)
        b.close()
        let c = try MetricStore(retention: 86400, directory: dir.path, logger: Self.logger, now: t0 + 6000)
        #expect(c.points(Self.key, since: 0).count == 101)
        #expect(c.points(Self.key, since: 0).last?.value == 1000)
    }

    @Test func retentionDropsOldPointsOnReopen() throws {
        let dir = TempDir("whatif-store")
        let t0 = 1_764_000_000.0
        let a = try MetricStore(retention: 3600, directory: dir.path, logger: Self.logger, now: t0)
        for i in 0..<120 { a.append([Sample(key: Self.key, value: Double(i), time: t0 + Double(i) * 60)], now: t0) }
        a.close()
        let b = try MetricStore(retention: 3600, directory: dir.path, logger: Self.logger, now: t0 + 119 * 60)
        let p = b.points(Self.key, since: 0)
        #expect(p.first?.time == t0 + 59 * 60)
        #expect(p.count == 61)
    }

    /// A crash mid-write leaves a torn record: what came before it is kept, the rest is reported and cut.
    @Test(arguments: [1, 7, 13]) func tornTailIsCutAtTheLastWholeRecord(cut: Int) throws {
        let dir = TempDir("whatif-store")
        let t0 = 1_764_000_000.0
        let a = try MetricStore(retention: 86400, directory: dir.path, logger: Self.logger, now: t0)
        for i in 0..<10 { a.append([Sample(key: Self.key, value: Double(i), time: t0 + Double(i))], now: t0) }
        a.close()
        let path = dir.file("history.log")
        var st = stat()
        stat(path, &st)
        #expect(truncate(path, off_t(Int(st.st_size) - cut)) == 0)
        let b = try MetricStore(retention: 86400, directory: dir.path, logger: Self.logger, now: t0)
        #expect(b.points(Self.key, since: 0).map(\.value) == (0..<9).map(Double.init))
        b.append([Sample(key: Self.key, value: 42, time: t0 + 100)], now: t0)
        b.close()
        let c = try MetricStore(retention: 86400, directory: dir.path, logger: Self.logger, now: t0)
        #expect(c.points(Self.key, since: 0).map(\.value) == (0..<9).map(Double.init) + [42])
    }

    @Test func flippedByteStopsAtThatRecord() throws {
        let dir = TempDir("whatif-store")
        let t0 = 1_764_000_000.0
        let a = try MetricStore(retention: 86400, directory: dir.path, logger: Self.logger, now: t0)
        for i in 0..<10 { a.append([Sample(key: Self.key, value: Double(i), time: t0 + Double(i))], now: t0) }
        a.close()
        var bytes = try Files.read(dir.file("history.log"))
        // Records after the header: one series record, then one 29-byte sample record per append.
        bytes[bytes.count - 29 * 3 + 12] ^= 0xff
        let parsed = MetricLog.parse(bytes)
        #expect(parsed.series.first?.1.count == 7)
        #expect(parsed.good == bytes.count - 29 * 3)
        #expect(MetricLog.parse(Array("NOTALOG!".utf8)).good == 0)
    }

    @Test func periodBuckets() throws {
        let s = try MetricStore(retention: 86400, directory: nil, logger: Self.logger, now: 0)
        s.append((0..<30).map { Sample(key: Self.key, value: Double($0), time: 1000 + Double($0) * 10) }, now: 1300)
        let b = s.periodValues(
            namespace: "AWS/RDS", name: "CPUUtilization", dimensions: [.init("DBInstanceIdentifier", "db1")],
            period: 60, count: 5, end: 1260)
        #expect(b.count == 5)
        // 960..<1020 holds t=1000 and 1010.
        #expect(b[0] == [0, 1])
        #expect(b[4] == [20, 21, 22, 23, 24, 25])
        let other = s.periodValues(
            namespace: "AWS/RDS", name: "CPUUtilization", dimensions: [.init("DBInstanceIdentifier", "db2")],
            period: 60, count: 5, end: 1260)
        #expect(other.allSatisfy { $0.isEmpty })
    }
}

struct DerivationTests {
    /// Counters become deltas between collections; a restart (counter going down) starts over.
    @Test func redisCountersBecomeDeltas() {
        var counters = CounterTracker()
        var info = [
            "redis_version": "7.0.15", "keyspace_hits": "100", "keyspace_misses": "50", "evicted_keys": "0",
            "expired_keys": "3", "total_connections_received": "10", "connected_clients": "4", "used_memory": "1000",
            "maxmemory": "4000", "used_cpu_sys_main_thread": "1.0", "used_cpu_user_main_thread": "1.0",
            "db0": "keys=5,expires=1,avg_ttl=0", "db3": "keys=7,expires=0,avg_ttl=0",
        ]
        let first = RedisCollector.derive(info, clusterId: "c1", counters: &counters, hostCPU: nil, now: 1000)
        #expect(first.first { $0.key.name == "CacheHits" } == nil)
        #expect(first.first { $0.key.name == "CurrItems" }?.value == 12)
        #expect(first.first { $0.key.name == "DatabaseMemoryUsagePercentage" }?.value == 25)
        info["keyspace_hits"] = "130"
        info["keyspace_misses"] = "60"
        info["used_cpu_sys_main_thread"] = "1.3"
        info["used_cpu_user_main_thread"] = "1.2"
        info["total_connections_received"] = "12"
        let second = RedisCollector.derive(info, clusterId: "c1", counters: &counters, hostCPU: 12.5, now: 1060)
        func v(_ n: String) -> Double? { second.first { $0.key.name == n }?.value }
        #expect(v("CacheHits") == 30)
        #expect(v("CacheMisses") == 10)
        #expect(v("CacheHitRate") == 75)
        #expect(v("NewConnections") == 2)
        #expect(v("CPUUtilization") == 12.5)
        #expect(abs(v("EngineCPUUtilization")! - 0.5 / 60 * 100) < 1e-9)
        #expect(second.allSatisfy { $0.key.dimensions == [.init("CacheClusterId", "c1")] })
        info["keyspace_hits"] = "4"
        let third = RedisCollector.derive(info, clusterId: "c1", counters: &counters, hostCPU: nil, now: 1120)
        #expect(third.first { $0.key.name == "CacheHits" }?.value == 4)
    }

    @Test func prometheusNamesAndUnits() {
        #expect(PrometheusExposition.snake("CPUUtilization") == "cpu_utilization")
        #expect(PrometheusExposition.snake("DBInstanceIdentifier") == "db_instance_identifier")
        #expect(PrometheusExposition.snake("CacheHitRate") == "cache_hit_rate")
        #expect(
            PrometheusExposition.name(namespace: "AWS/ElastiCache", metric: "CacheHits", unit: "Count")
                == "whatif_elasticache_cache_hits")
        #expect(
            PrometheusExposition.name(namespace: "AWS/RDS", metric: "CPUUtilization", unit: "Percent")
                == "whatif_rds_cpu_utilization_ratio")
        #expect(
            PrometheusExposition.name(
                namespace: "AWS/ElastiCache", metric: "DatabaseMemoryUsagePercentage", unit: "Percent")
                == "whatif_elasticache_database_memory_usage_ratio")
        #expect(
            PrometheusExposition.name(
                namespace: "AWS/DynamoDB", metric: "SuccessfulRequestLatency", unit: "Milliseconds")
                == "whatif_dynamodb_successful_request_latency_seconds")
        let text = PrometheusExposition.render(
            latest: [
                (
                    MetricKey(
                        namespace: "AWS/RDS", name: "CPUUtilization",
                        dimensions: [.init("DBInstanceIdentifier", "a\"b")], unit: "Percent"), 1, 50
                )
            ], alarms: [])
        #expect(text.contains("whatif_rds_cpu_utilization_ratio{db_instance_identifier=\"a\\\"b\"} 0.5\n"))
        #expect(text.contains("# TYPE whatif_rds_cpu_utilization_ratio gauge\n"))
    }

    /// Counts per period add up to a counter's total (`_total`), counts since start are counters as
    /// they are, gauges stay gauges; an older sample dropped by the store is not counted.
    @Test func countsPerPeriodAreCountersWithTotals() throws {
        let store = try MetricStore(retention: 86400, directory: nil, logger: Logger(label: "test"), now: 1000)
        let hits = MetricKey(
            namespace: "AWS/ElastiCache", name: "CacheHits", dimensions: [.init("CacheClusterId", "c")], unit: "Count")
        let items = MetricKey(namespace: "AWS/ElastiCache", name: "CurrItems", dimensions: [], unit: "Count")
        let hooks = MetricKey(namespace: "WhatIf/Agent", name: "HooksDelivered", dimensions: [], unit: "Count")
        #expect(hits.kind == .deltaCounter && items.kind == .gauge && hooks.kind == .totalCounter)
        for (t, v) in [(1001.0, 3.0), (1002, 4), (1002, 100), (1003, 0)] {
            store.append([Sample(key: hits, value: v, time: t), Sample(key: items, value: v, time: t)], now: t)
        }
        store.append([Sample(key: hooks, value: 9, time: 1003)], now: 1003)
        #expect(store.counterTotals()[hits] == 7)
        let text = PrometheusExposition.render(latest: store.latest(), totals: store.counterTotals(), alarms: [])
        #expect(
            text.contains(
                "# TYPE whatif_elasticache_cache_hits_total counter\nwhatif_elasticache_cache_hits_total{cache_cluster_id=\"c\"} 7\n"
            ))
        #expect(text.contains("# TYPE whatif_elasticache_curr_items gauge\nwhatif_elasticache_curr_items 0\n"))
        #expect(
            text.contains("# TYPE whatif_agent_hooks_delivered_total counter\nwhatif_agent_hooks_delivered_total 9\n"))
        #expect(!text.contains("whatif_elasticache_cache_hits{"))
        #expect(text.components(separatedBy: "# HELP ").count == text.components(separatedBy: "# TYPE ").count)
    }
}

struct ReportJSONTests {
    /// The hand-written JSON of GET /v1/metrics decodes (as whatifctl decodes it) to the same report.
    @Test func encodedReportRoundTrips() throws {
        let r = MetricsReport(
            generatedAt: Date(timeIntervalSince1970: 1_764_000_000.5), interval: 10, retention: 86400,
            collectors: [
                CollectorStatus(name: "redis", up: false, lastRun: nil, seconds: 0.25, samples: 0, error: "down \"x\"")
            ],
            series: [
                MetricSeriesData(
                    namespace: "AWS/RDS", name: "CPU\nUtil", dimensions: ["A": "é\"\\", "B": "\u{1}"], unit: "Percent",
                    last: MetricPoint(t: Date(timeIntervalSince1970: 1_764_000_060), v: 0.125),
                    points: [
                        MetricPoint(t: Date(timeIntervalSince1970: 1_764_000_000.25), v: -3.5e-7),
                        MetricPoint(t: Date(timeIntervalSince1970: 1_764_000_060), v: 1e300),
                    ]),
                MetricSeriesData(namespace: "N", name: "M", dimensions: [:], unit: "Count", last: nil, points: []),
            ])
        let bytes = MonitoringService.encode(r)
        #expect(try APICoding.decode(MetricsReport.self, from: bytes) == r)
    }
}

/// What the CloudWatch source asks GetMetricData for, with AWS's names, units and statistics.
struct CloudWatchSpecTests {
    @Test func rdsAndElastiCacheMetricsAsAWSNamesThem() {
        let specs = CloudWatchCollector.standardSpecs(tables: [], rdsInstance: "db1", cacheClusters: ["rg-001"])
        func spec(_ ns: String, _ name: String) -> (unit: String, stat: String)? {
            specs.first { $0.key.namespace == ns && $0.key.name == name }.map { ($0.key.unit, $0.stat) }
        }
        for (name, unit) in [
            ("FreeableMemory", "Bytes"), ("SwapUsage", "Bytes"), ("ReadLatency", "Seconds"),
            ("WriteLatency", "Seconds"), ("ReadIOPS", "Count/Second"), ("WriteIOPS", "Count/Second"),
            ("CPUCreditBalance", "Count"), ("CPUUtilization", "Percent"), ("DatabaseConnections", "Count"),
        ] {
            #expect(spec("AWS/RDS", name)?.unit == unit, "AWS/RDS \(name)")
        }
        for (name, unit, stat) in [
            ("EngineCPUUtilization", "Percent", "Average"), ("Evictions", "Count", "Sum"),
            ("ReplicationLag", "Seconds", "Average"), ("NetworkBytesIn", "Bytes", "Sum"),
            ("NetworkBytesOut", "Bytes", "Sum"),
        ] {
            #expect(
                spec("AWS/ElastiCache", name).map { [$0.unit, $0.stat] } == [unit, stat], "AWS/ElastiCache \(name)")
        }
        #expect(specs.filter { $0.key.namespace == "AWS/RDS" }.allSatisfy { $0.key.dimensions.map(\.value) == ["db1"] })
    }
}
