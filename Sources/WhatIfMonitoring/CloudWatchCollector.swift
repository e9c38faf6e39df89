import WhatIfAWS
import WhatIfCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// In test and production: the data tier's metrics as CloudWatch has them (GetMetricData, one call for
/// every series, 60-second periods). Each datapoint is stored once, stamped with its period's start.
package final class CloudWatchCollector: Collector, @unchecked Sendable {
    package struct Spec: Sendable, Equatable {
        package var key: MetricKey
        package var stat: String
    }

    package let name = "cloudwatch"
    let cloudwatch: @Sendable () -> CloudWatch
    /// How far back the first read goes.
    let lookback: Double
    /// The tables' global secondary indexes (TableName, IndexName), looked up hourly: their capacity and
    /// throttling are read with the GlobalSecondaryIndexName dimension too.
    let indexes: (@Sendable () throws -> [(table: String, index: String)])?
    private let lock = Locked(())
    private var specs: [Spec]
    private var lastSeen: [Double?]
    private var indexesChecked: Double?

    package init(
        specs: [Spec], lookback: Double = 900,
        indexes: (@Sendable () throws -> [(table: String, index: String)])? = nil,
        cloudwatch: @escaping @Sendable () -> CloudWatch
    ) {
        self.specs = specs
        self.cloudwatch = cloudwatch
        self.lookback = lookback
        self.indexes = indexes
        lastSeen = Array(repeating: nil, count: specs.count)
    }

    package var currentSpecs: [Spec] { lock.withLock { _ in specs } }

    /// Capacity and throttling per global secondary index.
    package static func indexSpecs(table: String, index: String) -> [Spec] {
        let d = [MetricKey.Dimension("TableName", table), MetricKey.Dimension("GlobalSecondaryIndexName", index)]
        return ["ConsumedReadCapacityUnits", "ConsumedWriteCapacityUnits", "ReadThrottleEvents", "WriteThrottleEvents"]
            .map {
                Spec(
                    key: MetricKey(namespace: "AWS/DynamoDB", name: $0, dimensions: d, unit: MetricUnit.count),
                    stat: "Sum")
            }
    }

    /// The metrics the issue lists, for the configured resources.
    package static func standardSpecs(
        tables: [String], rdsInstance: String?, cacheClusters: [String], rdsReplicas: [String] = []
    ) -> [Spec] {
        var out: [Spec] = []
        func add(_ ns: String, _ name: String, _ dims: [MetricKey.Dimension], _ unit: String, _ stat: String) {
            out.append(Spec(key: MetricKey(namespace: ns, name: name, dimensions: dims, unit: unit), stat: stat))
        }
        for t in tables {
            let d = [MetricKey.Dimension("TableName", t)]
            add("AWS/DynamoDB", "ConsumedReadCapacityUnits", d, MetricUnit.count, "Sum")
            add("AWS/DynamoDB", "ConsumedWriteCapacityUnits", d, MetricUnit.count, "Sum")
            add("AWS/DynamoDB", "ReadThrottleEvents", d, MetricUnit.count, "Sum")
            add("AWS/DynamoDB", "WriteThrottleEvents", d, MetricUnit.count, "Sum")
            for op in [
                "GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan", "BatchGetItem", "BatchWriteItem",
            ] {
                let od = d + [MetricKey.Dimension("Operation", op)]
                add("AWS/DynamoDB", "ThrottledRequests", od, MetricUnit.count, "Sum")
                add("AWS/DynamoDB", "SystemErrors", od, MetricUnit.count, "Sum")
                add("AWS/DynamoDB", "SuccessfulRequestLatency", od, MetricUnit.milliseconds, "Average")
            }
        }
        if !tables.isEmpty { add("AWS/DynamoDB", "UserErrors", [], MetricUnit.count, "Sum") }
        if let id = rdsInstance {
            let d = [MetricKey.Dimension("DBInstanceIdentifier", id)]
            add("AWS/RDS", "CPUUtilization", d, MetricUnit.percent, "Average")
            add("AWS/RDS", "DatabaseConnections", d, MetricUnit.count, "Average")
            add("AWS/RDS", "FreeStorageSpace", d, MetricUnit.bytes, "Average")
            // Memory, disk latency and throughput, and the burst balance of a T-class instance (the
            // template's db.t3.micro), in the units RDS publishes them in.
            add("AWS/RDS", "FreeableMemory", d, MetricUnit.bytes, "Average")
            add("AWS/RDS", "SwapUsage", d, MetricUnit.bytes, "Average")
            add("AWS/RDS", "ReadLatency", d, MetricUnit.seconds, "Average")
            add("AWS/RDS", "WriteLatency", d, MetricUnit.seconds, "Average")
            add("AWS/RDS", "ReadIOPS", d, MetricUnit.countPerSecond, "Average")
            add("AWS/RDS", "WriteIOPS", d, MetricUnit.countPerSecond, "Average")
            add("AWS/RDS", "CPUCreditBalance", d, MetricUnit.count, "Average")
            if !rdsReplicas.isEmpty { add("AWS/RDS", "ReplicationSlotDiskUsage", d, MetricUnit.bytes, "Average") }
        }
        for r in rdsReplicas {
            add(
                "AWS/RDS", "ReplicaLag", [MetricKey.Dimension("DBInstanceIdentifier", r)], MetricUnit.seconds, "Average"
            )
        }
        for c in cacheClusters {
            let d = [MetricKey.Dimension("CacheClusterId", c)]
            for (n, unit, stat) in [
                ("EngineCPUUtilization", MetricUnit.percent, "Average"),
                ("CPUUtilization", MetricUnit.percent, "Average"),
                ("DatabaseMemoryUsagePercentage", MetricUnit.percent, "Average"),
                ("BytesUsedForCache", MetricUnit.bytes, "Average"), ("CacheHits", MetricUnit.count, "Sum"),
                ("CacheMisses", MetricUnit.count, "Sum"), ("CacheHitRate", MetricUnit.percent, "Average"),
                ("Evictions", MetricUnit.count, "Sum"), ("CurrConnections", MetricUnit.count, "Average"),
                ("NewConnections", MetricUnit.count, "Sum"), ("CurrItems", MetricUnit.count, "Average"),
                ("Reclaimed", MetricUnit.count, "Sum"), ("ReplicationLag", MetricUnit.seconds, "Average"),
                ("NetworkBytesIn", MetricUnit.bytes, "Sum"), ("NetworkBytesOut", MetricUnit.bytes, "Sum"),
            ] {
                add("AWS/ElastiCache", n, d, unit, stat)
            }
        }
        return out
    }

    package func collect(now: Double) throws -> [Sample] {
        try lock.withLock { _ in try collectLocked(now: now) }
    }

    private func collectLocked(now: Double) throws -> [Sample] {
        if let indexes, now - (indexesChecked ?? -.infinity) >= 3600 {
            // A failed lookup is tried again next cycle; the table metrics are read meanwhile.
            if let found = try? indexes() {
                indexesChecked = now
                for (t, i) in found {
                    for spec in Self.indexSpecs(table: t, index: i) where !specs.contains(spec) {
                        specs.append(spec)
                        lastSeen.append(nil)
                    }
                }
            }
        }
        let end = (now / 60).rounded(.down) * 60
        var out: [Sample] = []
        let client = cloudwatch()
        var i = 0
        // GetMetricData takes at most 500 queries per call.
        while i < specs.count {
            let chunk = Array(specs.indices[i..<min(i + 500, specs.count)])
            let since = chunk.map { lastSeen[$0].map { $0 + 60 } ?? end - lookback }.min() ?? end - lookback
            guard since < end else {
                i += chunk.count
                continue
            }
            let queries = chunk.map { j in
                CloudWatch.MetricQuery(
                    id: "m\(j)", namespace: specs[j].key.namespace, metricName: specs[j].key.name,
                    dimensions: specs[j].key.dimensions.map { CloudWatch.Dimension(name: $0.name, value: $0.value) },
                    period: 60, stat: specs[j].stat)
            }
            let results = try client.getMetricData(
                queries: queries, start: Date(timeIntervalSince1970: since), end: Date(timeIntervalSince1970: end))
            for r in results {
                guard r.id.hasPrefix("m"), let j = Int(r.id.dropFirst()), j < specs.count else { continue }
                let points = zip(r.timestamps, r.values).map { ($0.timeIntervalSince1970, $1) }.sorted { $0.0 < $1.0 }
                for (t, v) in points where t > (lastSeen[j] ?? -.infinity) && t < end {
                    out.append(Sample(key: specs[j].key, value: v, time: t))
                    lastSeen[j] = t
                }
            }
            i += chunk.count
        }
        return out
    }
}
