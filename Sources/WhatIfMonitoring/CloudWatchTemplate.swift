import WhatIfJSON
import WhatIfProtocol

/// The monitoring side of the data tier's CloudFormation template: an AWS::CloudWatch::Dashboard of the
/// RDS, DynamoDB and ElastiCache metrics the agent watches, and the configured alarms as
/// AWS::CloudWatch::Alarm, their dimensions pointed at the template's own resources (`ScenariosTable`,
/// `UsersDatabase`, `Cache`). Alarms on the agent's own namespaces (WhatIf/*) exist only in the agent:
/// they are listed under Metadata, not created.
package enum CloudWatchTemplate {
    /// Adds the dashboard and the alarms to `template` (its Resources and Metadata).
    package static func add(to template: JSONValue, alarms: [AlarmDefinition]) -> JSONValue {
        guard case .object(var t) = template, case .object(var resources)? = t["Resources"] else { return template }
        resources["DataTierDashboard"] = dashboard()
        var skipped: [JSONValue] = []
        var used: Set<String> = []
        for a in alarms {
            guard a.namespace.hasPrefix("AWS/") else {
                skipped.append(
                    .string("\(a.name): \(a.namespace) is the agent's own namespace; the agent evaluates it"))
                continue
            }
            var id = "Alarm" + a.name.filter { $0.isASCII && ($0.isLetter || $0.isNumber) }
            while used.contains(id) || resources[id] != nil { id += "X" }
            used.insert(id)
            resources[String(id.prefix(255))] = alarm(a)
        }
        t["Resources"] = .object(resources)
        if !skipped.isEmpty { t["Metadata"] = ["WhatIfAgentOnlyAlarms": .array(skipped)] }
        return .object(t)
    }

    /// A dimension's value in the template: the template's own resource where the metric is of it.
    static func value(_ d: MetricKey.Dimension, namespace: String) -> JSONValue {
        switch (namespace, d.name) {
        case ("AWS/RDS", "DBInstanceIdentifier"): ["Ref": "UsersDatabase"]
        case ("AWS/DynamoDB", "TableName"): ["Ref": "ScenariosTable"]
        case ("AWS/ElastiCache", "CacheClusterId"): ["Fn::Sub": "${Cache}-001"]
        case ("AWS/ElastiCache", "ReplicationGroupId"): ["Ref": "Cache"]
        default: .string(d.value)
        }
    }

    static func alarm(_ a: AlarmDefinition) -> JSONValue {
        var p: [String: JSONValue] = [
            "AlarmName": ["Fn::Sub": .string("\(a.name)-${Environment}")],
            "Namespace": .string(a.namespace), "MetricName": .string(a.metricName),
            "Dimensions": .array(
                a.dimensions.map { ["Name": .string($0.name), "Value": value($0, namespace: a.namespace)] }),
            "Period": .number(Double(a.period)), "EvaluationPeriods": .number(Double(a.evaluationPeriods)),
            "DatapointsToAlarm": .number(Double(a.datapointsToAlarm)), "Threshold": .number(a.threshold),
            "ComparisonOperator": .string(a.comparison.rawValue),
            "TreatMissingData": .string(a.treatMissingData.rawValue),
        ]
        if let d = a.description { p["AlarmDescription"] = .string(d) }
        if a.statistic.isPercentile {
            p["ExtendedStatistic"] = .string(a.statistic.description)
            p["EvaluateLowSampleCountPercentile"] = .string(a.evaluateLowSampleCountPercentile ? "evaluate" : "ignore")
        } else {
            p["Statistic"] = .string(a.statistic.description)
        }
        return ["Type": "AWS::CloudWatch::Alarm", "Properties": .object(p)]
    }

    /// The dashboard: one widget per concern, the body as CloudFormation wants it (a JSON string,
    /// substituted for the resources' names and the region).
    static func dashboard() -> JSONValue {
        func metric(_ ns: String, _ name: String, _ dim: String, _ value: String) -> JSONValue {
            [.string(ns), .string(name), .string(dim), .string(value)]
        }
        var widgets: [JSONValue] = []
        func widget(_ title: String, _ metrics: [JSONValue], stat: String = "Average") {
            let i = widgets.count
            widgets.append([
                "type": "metric", "x": .number(Double((i % 2) * 12)), "y": .number(Double((i / 2) * 6)),
                "width": 12, "height": 6,
                "properties": [
                    "title": .string(title), "region": "${AWS::Region}", "stat": .string(stat), "period": 60,
                    "view": "timeSeries", "stacked": false, "metrics": .array(metrics),
                ],
            ])
        }
        let rds = ("AWS/RDS", "DBInstanceIdentifier", "${UsersDatabase}")
        let ddb = ("AWS/DynamoDB", "TableName", "${ScenariosTable}")
        let cache = ("AWS/ElastiCache", "CacheClusterId", "${Cache}-001")
        let layout: [(String, (String, String, String), [String], String)] = [
            ("RDS CPU and credits", rds, ["CPUUtilization", "CPUCreditBalance"], "Average"),
            (
                "RDS connections and memory", rds, ["DatabaseConnections", "FreeableMemory", "FreeStorageSpace"],
                "Average"
            ),
            ("RDS latency and IOPS", rds, ["ReadLatency", "WriteLatency", "ReadIOPS", "WriteIOPS"], "Average"),
            (
                "DynamoDB capacity and throttling", ddb,
                [
                    "ConsumedReadCapacityUnits", "ConsumedWriteCapacityUnits", "ReadThrottleEvents",
                    "WriteThrottleEvents",
                ],
                "Sum"
            ),
            (
                "ElastiCache CPU and memory", cache,
                ["EngineCPUUtilization", "DatabaseMemoryUsagePercentage", "ReplicationLag"], "Average"
            ),
            ("ElastiCache hits, misses, evictions", cache, ["CacheHits", "CacheMisses", "Evictions"], "Sum"),
        ]
        for (title, (ns, dim, value), names, stat) in layout {
            widget(title, names.map { metric(ns, $0, dim, value) }, stat: stat)
        }
        let body: JSONValue = ["widgets": .array(widgets)]
        let text = (try? APICoding.encode(body)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        return [
            "Type": "AWS::CloudWatch::Dashboard",
            "Properties": [
                "DashboardName": ["Fn::Sub": "what-if-generator-data-tier-${Environment}"],
                "DashboardBody": ["Fn::Sub": .string(text)],
            ],
        ]
    }
}
