import WhatIfCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// CloudWatch over the query protocol (2010-08-01).
package struct CloudWatch: Sendable {
    package let client: AWSClient
    static let version = "2010-08-01"
    package init(client: AWSClient) { self.client = client }

    package struct Dimension: Sendable, Hashable, Codable {
        package var name: String
        package var value: String
        package init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    package struct Datum: Sendable {
        package var metricName: String
        package var dimensions: [Dimension]
        package var value: Double
        package var unit: String
        package var timestamp: Date
        // memberwise-init: package
    }

    static func iso(_ d: Date) -> String { AWSTime.format(d) }

    package func putMetricData(namespace: String, data: [Datum]) throws {
        var p: [(String, String)] = [("Namespace", namespace)]
        for (i, d) in data.enumerated() {
            let m = "MetricData.member.\(i + 1)"
            p += [
                ("\(m).MetricName", d.metricName), ("\(m).Value", String(d.value)), ("\(m).Unit", d.unit),
                ("\(m).Timestamp", Self.iso(d.timestamp)),
            ]
            for (j, dim) in d.dimensions.enumerated() {
                p += [
                    ("\(m).Dimensions.member.\(j + 1).Name", dim.name),
                    ("\(m).Dimensions.member.\(j + 1).Value", dim.value),
                ]
            }
        }
        _ = try client.query(.cloudwatch, action: "PutMetricData", version: Self.version, parameters: p)
    }

    package struct MetricQuery: Sendable {
        package var id: String
        package var namespace: String
        package var metricName: String
        package var dimensions: [Dimension]
        package var period: Int
        /// SampleCount, Sum, Average, Minimum, Maximum or pNN.NN.
        package var stat: String
        // memberwise-init: package
    }

    package struct MetricResult: Sendable {
        package var id: String
        package var label: String?
        package var timestamps: [Date]
        package var values: [Double]
        package var statusCode: String?
    }

    package func getMetricData(queries: [MetricQuery], start: Date, end: Date) throws -> [MetricResult] {
        var results: [String: MetricResult] = [:]
        var order: [String] = []
        var nextToken: String?
        repeat {
            var p: [(String, String)] = [("StartTime", Self.iso(start)), ("EndTime", Self.iso(end))]
            for (i, q) in queries.enumerated() {
                let m = "MetricDataQueries.member.\(i + 1)"
                p += [
                    ("\(m).Id", q.id), ("\(m).MetricStat.Metric.Namespace", q.namespace),
                    ("\(m).MetricStat.Metric.MetricName", q.metricName),
                    ("\(m).MetricStat.Period", String(q.period)), ("\(m).MetricStat.Stat", q.stat),
                    ("\(m).ReturnData", "true"),
                ]
                for (j, d) in q.dimensions.enumerated() {
                    p += [
                        ("\(m).MetricStat.Metric.Dimensions.member.\(j + 1).Name", d.name),
                        ("\(m).MetricStat.Metric.Dimensions.member.\(j + 1).Value", d.value),
                    ]
                }
            }
            if let nextToken { p.append(("NextToken", nextToken)) }
            let root = try client.query(.cloudwatch, action: "GetMetricData", version: Self.version, parameters: p)
            let result = root.first("GetMetricDataResult")
            for member in result?.child("MetricDataResults")?.all("member") ?? [] {
                let id = member["Id"] ?? ""
                let ts =
                    member.child("Timestamps")?.all("member").compactMap {
                        try? Date.ISO8601FormatStyle().parse($0.text)
                    } ?? []
                let vs = member.child("Values")?.all("member").compactMap { Double($0.text) } ?? []
                if results[id] == nil {
                    order.append(id)
                    results[id] = MetricResult(
                        id: id, label: member["Label"], timestamps: [], values: [], statusCode: member["StatusCode"])
                }
                results[id]!.timestamps += ts
                results[id]!.values += vs
            }
            nextToken = result?["NextToken"].flatMap { $0.isEmpty ? nil : $0 }
        } while nextToken != nil
        return order.compactMap { results[$0] }
    }
}

/// RDS describe calls (query protocol, 2014-10-31).
package struct RDS: Sendable {
    package let client: AWSClient
    package init(client: AWSClient) { self.client = client }

    package struct DBInstance: Sendable, Equatable {
        package var identifier: String
        package var status: String
        package var engine: String
        package var engineVersion: String
        package var instanceClass: String
        package var multiAZ: Bool
        package var storageEncrypted: Bool
        package var allocatedStorageGiB: Int?
        package var endpointAddress: String?
        package var endpointPort: Int?
        /// Days of automated backups kept (0: no point-in-time recovery).
        package var backupRetentionPeriod: Int?
        package var latestRestorableTime: Date?
        package var instanceCreateTime: Date?
        /// `ReadReplicaDBInstanceIdentifiers`.
        package var readReplicas: [String] = []
        /// `ReadReplicaSourceDBInstanceIdentifier`: set on a replica.
        package var replicaSource: String?
    }

    package func describeDBInstances(identifier: String? = nil) throws -> [DBInstance] {
        var p: [(String, String)] = []
        if let identifier { p.append(("DBInstanceIdentifier", identifier)) }
        let root = try client.query(.rds, action: "DescribeDBInstances", version: "2014-10-31", parameters: p)
        return (root.first("DBInstances")?.children ?? []).map(Self.instance)
    }

    /// The instance, nil when RDS does not know it.
    package func instance(_ identifier: String) throws -> DBInstance? {
        do { return try describeDBInstances(identifier: identifier).first } catch let e as AWSError
            where e.code == "DBInstanceNotFound" || e.code == "DBInstanceNotFoundFault"
        {
            return nil
        }
    }

    /// RestoreDBInstanceToPointInTime (`time` nil: the latest restorable time); answers the new instance
    /// as RDS first describes it (creating).
    package func restoreToPointInTime(source: String, target: String, time: Date?) throws -> DBInstance {
        var p = [("SourceDBInstanceIdentifier", source), ("TargetDBInstanceIdentifier", target)]
        if let time {
            p.append(("RestoreTime", AWSTime.format(time)))
        } else {
            p.append(("UseLatestRestorableTime", "true"))
        }
        let root = try client.query(
            .rds, action: "RestoreDBInstanceToPointInTime", version: "2014-10-31", parameters: p)
        guard let e = root.first("DBInstance") else {
            throw AWSError(
                service: "rds", operation: "RestoreDBInstanceToPointInTime", status: 200, code: "MalformedResponse",
                serviceMessage: "the answer has no DBInstance")
        }
        return Self.instance(e)
    }

    static func instance(_ e: XMLElement) -> DBInstance {
        DBInstance(
            identifier: e["DBInstanceIdentifier"] ?? "", status: e["DBInstanceStatus"] ?? "",
            engine: e["Engine"] ?? "",
            engineVersion: e["EngineVersion"] ?? "", instanceClass: e["DBInstanceClass"] ?? "",
            multiAZ: e["MultiAZ"] == "true",
            storageEncrypted: e["StorageEncrypted"] == "true",
            allocatedStorageGiB: e["AllocatedStorage"].flatMap { Int($0) },
            endpointAddress: e.path("Endpoint", "Address")?.text,
            endpointPort: e.path("Endpoint", "Port").flatMap { Int($0.text) },
            backupRetentionPeriod: e["BackupRetentionPeriod"].flatMap { Int($0) },
            latestRestorableTime: e["LatestRestorableTime"].flatMap(AWSTime.parse),
            instanceCreateTime: e["InstanceCreateTime"].flatMap(AWSTime.parse),
            readReplicas: e.child("ReadReplicaDBInstanceIdentifiers")?.children.map(\.text) ?? [],
            replicaSource: e["ReadReplicaSourceDBInstanceIdentifier"])
    }
}

/// ElastiCache describe calls (query protocol, 2015-02-02).
package struct ElastiCache: Sendable {
    package let client: AWSClient
    package init(client: AWSClient) { self.client = client }

    package struct ReplicationGroup: Sendable, Equatable {
        package var id: String
        package var status: String
        package var memberClusters: [String]
        package var multiAZ: String?
        package var automaticFailover: String?
        package var transitEncryption: Bool
        package var atRestEncryption: Bool
        package var primaryEndpoint: String?
    }

    package func describeReplicationGroups(id: String? = nil) throws -> [ReplicationGroup] {
        var p: [(String, String)] = []
        if let id { p.append(("ReplicationGroupId", id)) }
        let root = try client.query(
            .elasticache, action: "DescribeReplicationGroups", version: "2015-02-02", parameters: p)
        let list = root.first("ReplicationGroups")?.children ?? []
        return list.map { e in
            let primary = e.first("NodeGroups")?.children.first?.child("PrimaryEndpoint")
            return ReplicationGroup(
                id: e["ReplicationGroupId"] ?? "", status: e["Status"] ?? "",
                memberClusters: e.child("MemberClusters")?.children.map(\.text) ?? [], multiAZ: e["MultiAZ"],
                automaticFailover: e["AutomaticFailover"], transitEncryption: e["TransitEncryptionEnabled"] == "true",
                atRestEncryption: e["AtRestEncryptionEnabled"] == "true",
                primaryEndpoint: primary.map { "\($0["Address"] ?? ""):\($0["Port"] ?? "")" })
        }
    }
}
