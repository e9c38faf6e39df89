import WhatIfCore
import WhatIfMonitoring

#if canImport(Glibc)
    import Glibc
#endif

/// `metrics:`, `alarms:` and `hooks:` in agent.yaml.
package struct MonitoringConfig: Sendable, Equatable {
    package enum Source: String, Sendable, Equatable {
        /// Read each service directly (development).
        case local
        /// GetMetricData from CloudWatch (test and production).
        case cloudwatch
    }

    package var enabled: Bool
    package var settings: MonitoringSettings
    package var source: Source
    /// DBInstanceIdentifier for PostgreSQL's AWS/RDS metrics.
    package var rdsInstanceId: String
    /// CacheClusterId for Redis's AWS/ElastiCache metrics.
    package var cacheClusterId: String
    package var alarms: [AlarmDefinition]
    package var hooks: HookSettings
    /// `metrics.listen`: where a read-only HTTP listener serves `GET /metrics` (nil: none, the default).
    package var listenAddress: ListenAddress? = nil

    package struct ListenAddress: Sendable, Equatable, CustomStringConvertible {
        package var host: String
        package var port: Int
        package var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
    }

    /// `127.0.0.1:9464`, `[::1]:9464`, `localhost:9464`, `0.0.0.0:9464`: an IP literal or localhost
    /// (no name lookups at start), and a port.
    package static func parseListen(_ s: String) -> ListenAddress? {
        var host: Substring
        var port: Substring
        if s.hasPrefix("[") {
            guard let close = s.firstIndex(of: "]"), s[s.index(after: close)...].hasPrefix(":") else { return nil }
            host = s[s.index(after: s.startIndex)..<close]
            port = s[s.index(close, offsetBy: 2)...]
        } else {
            guard let colon = s.lastIndex(of: ":"), !s[..<colon].contains(":") else { return nil }
            host = s[..<colon]
            port = s[s.index(after: colon)...]
        }
        guard let p = Int(port), (1...65535).contains(p), !host.isEmpty else { return nil }
        let h = String(host)
        var v4 = in_addr()
        var v6 = in6_addr()
        guard h == "localhost" || inet_pton(AF_INET, h, &v4) == 1 || inet_pton(AF_INET6, h, &v6) == 1 else {
            return nil
        }
        return ListenAddress(host: h == "localhost" ? "127.0.0.1" : h, port: p)
    }
}

extension ConfigLoader {
    static let metricsKeys = [
        "enabled", "interval", "retention", "evaluation_interval", "source", "textfile", "publish_namespace",
        "rds_instance_id", "cache_cluster_id", "listen",
    ]
    static let alarmKeys = [
        "AlarmName", "AlarmDescription", "Namespace", "MetricName", "Dimensions", "Statistic", "ExtendedStatistic",
        "Period", "EvaluationPeriods", "DatapointsToAlarm", "Threshold", "ComparisonOperator", "TreatMissingData",
        "EvaluateLowSampleCountPercentile", "Unit", "ActionsEnabled",
    ]
    static let hookKeys = ["directory", "timeout", "repeat_interval", "webhooks", "retry_base"]
    static let webhookKeys = [
        "name", "format", "url", "routing_key_file", "headers", "header_files", "max_attempts", "timeout",
    ]
    /// PagerDuty's Events API v2 endpoint, the default url of a `format: pagerduty` receiver.
    static let pagerDutyEvents = "https://events.pagerduty.com/v2/enqueue"

    static func readMonitoring(
        metrics m: YAMLSection?, alarms alarmNodes: [YAMLNode]?, alarmsLine: Int?, hooks h: YAMLSection?,
        environment: DeploymentEnvironment, rds: RDSSettings?, elasticache: ElastiCacheSettings?, base: String,
        sink: ProblemSink
    ) -> MonitoringConfig {
        let remote = environment != .development
        var settings = MonitoringSettings()
        settings.interval = m?.duration("interval", max: 3600) ?? 60
        settings.retention = m?.duration("retention", max: 14 * 86400) ?? 86400
        if settings.retention < 3600 {
            sink.add(
                line: m?.line("retention"), "metrics.retention must be at least 1h",
                "keep at least 1h (24h is the default)")
        }
        settings.evaluationInterval = m?.duration("evaluation_interval", max: 3600) ?? 60
        settings.textfile = m?.string("textfile").map { absolute($0, base: base) }
        if let t = settings.textfile, !Files.isDirectory(Files.directory(of: t)) {
            sink.add(
                line: m?.line("textfile"), "metrics.textfile: the folder \(Files.directory(of: t)) does not exist",
                "create it, or point at node_exporter's --collector.textfile.directory")
        }
        settings.publishNamespace = m?.string("publish_namespace")
        if let ns = settings.publishNamespace, ns.hasPrefix("AWS/") {
            sink.add(
                line: m?.line("publish_namespace"), "metrics.publish_namespace '\(ns)' is reserved for AWS",
                "use a namespace of your own, such as WhatIf/DataTier")
        }
        let source =
            m?.choice("source", ["local", "cloudwatch"]).flatMap(MonitoringConfig.Source.init)
            ?? (remote ? .cloudwatch : .local)
        let rdsId = m?.string("rds_instance_id") ?? rds?.instanceId ?? "local"
        let cacheId =
            m?.string("cache_cluster_id") ?? elasticache.map { "\($0.replicationGroupId)-001" } ?? "local"

        var alarms: [AlarmDefinition] = []
        var seen: Set<String> = []
        for (i, node) in (alarmNodes ?? []).enumerated() {
            guard let s = YAMLSection(node, path: "alarms[\(i)]", line: node.line, known: alarmKeys, sink: sink) else {
                continue
            }
            guard let a = readAlarm(s, sink: sink) else { continue }
            if !seen.insert(a.name).inserted {
                sink.add(
                    line: s.line("AlarmName"), "two alarms are named '\(a.name)'", "give each alarm its own AlarmName")
                continue
            }
            alarms.append(a)
        }

        var hooks = HookSettings(directory: nil)
        let dir = h?.string("directory").map { absolute($0, base: base) } ?? "\(base)/hooks.d"
        if Files.isDirectory(dir) {
            hooks.directory = dir
        } else if h?.has("directory") == true {
            sink.add(line: h?.line("directory"), "hooks.directory \(dir) is not a folder", "create it or fix the path")
        }
        hooks.timeout = h?.duration("timeout", max: 3600) ?? 30
        hooks.retryBase = h?.duration("retry_base", max: 60) ?? 1
        if let r = h?.text("repeat_interval") {
            if r == "off" || r == "0" {
                hooks.repeatInterval = nil
            } else {
                hooks.repeatInterval = h?.duration("repeat_interval", max: 7 * 86400)
            }
        }
        var names: Set<String> = []
        for (i, node) in (h?.sequence("webhooks") ?? []).enumerated() {
            guard
                let w = YAMLSection(
                    node, path: "hooks.webhooks[\(i)]", line: node.line, known: webhookKeys, sink: sink)
            else { continue }
            let format =
                w.choice("format", ReceiverFormat.allCases.map(\.rawValue)).flatMap(ReceiverFormat.init)
                ?? .alertmanagerWebhook
            guard let raw = w.string("url") ?? (format == .pagerduty ? pagerDutyEvents : nil) else {
                if node.isNull == false, case .mapping = node {
                    sink.add(line: node.line, "hooks.webhooks[\(i)] has no url", "add `url: https://...`")
                }
                continue
            }
            guard let url = url(w, "url", raw) else { continue }
            var hook = HookSettings.Webhook(url: url)
            hook.format = format
            hook.name = w.string("name") ?? "webhook-\(i + 1)"
            if !names.insert(hook.name).inserted {
                sink.add(
                    line: w.line("name"), "two webhooks are named '\(hook.name)'", "give each webhook its own name")
            }
            if let key = w.string("routing_key_file") {
                let path = absolute(key, base: base)
                if access(path, R_OK) != 0 {
                    sink.add(
                        line: w.line("routing_key_file"), "hooks.webhooks[\(i)].routing_key_file: cannot read \(path)",
                        "put the PagerDuty integration key there (0640 root:whatif) or fix the path")
                }
                hook.routingKeyFile = path
            } else if format == .pagerduty {
                sink.add(
                    line: w.line, "hooks.webhooks[\(i)] (format: pagerduty) has no routing_key_file",
                    "add `routing_key_file: /etc/whatif/secrets/pagerduty-key` holding the service's integration key")
            }
            for (k, v, _) in w.stringPairs("headers") ?? [] { hook.headers[k] = v }
            for (k, v, l) in w.stringPairs("header_files") ?? [] {
                let path = absolute(v, base: base)
                if access(path, R_OK) != 0 {
                    sink.add(
                        line: l, "hooks.webhooks[\(i)].header_files.\(k): cannot read \(path)",
                        "create it (0640 root:whatif) or fix the path")
                }
                hook.headerFiles[k] = path
            }
            hook.maxAttempts = w.int("max_attempts", in: 1...20) ?? 5
            hook.timeout = w.duration("timeout", max: 300) ?? 10
            hooks.webhooks.append(hook)
        }
        var config = MonitoringConfig(
            enabled: m?.bool("enabled") ?? true, settings: settings, source: source, rdsInstanceId: rdsId,
            cacheClusterId: cacheId, alarms: alarms, hooks: hooks)
        if let text = m?.string("listen") {
            if let a = MonitoringConfig.parseListen(text) {
                config.listenAddress = a
            } else {
                sink.add(
                    line: m?.line("listen"), "metrics.listen '\(text)' is not an address and port",
                    "use an IP address (or localhost) and a port, such as 127.0.0.1:9464 or [::1]:9464")
            }
        }
        return config
    }

    /// One alarm with PutMetricAlarm's names and rules.
    static func readAlarm(_ s: YAMLSection, sink: ProblemSink) -> AlarmDefinition? {
        let before = sink.problems.count
        let name = s.string("AlarmName")
        if name == nil { sink.add(line: s.line, "\(s.path) has no AlarmName", "add `AlarmName: ...`") }
        if let n = name, n.count > 255 || n.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f }) {
            sink.add(
                line: s.line("AlarmName"), "AlarmName '\(n)' is too long or has control characters",
                "use at most 255 printable characters")
        }
        let namespace = s.string("Namespace")
        let metric = s.string("MetricName")
        for (key, v) in [("Namespace", namespace), ("MetricName", metric)] where v == nil {
            sink.add(line: s.line, "\(s.path) has no \(key)", "add `\(key): ...`")
        }
        var dims: [MetricKey.Dimension] = []
        if let items = s.sequence("Dimensions") {
            for (j, item) in items.enumerated() {
                guard
                    let d = YAMLSection(
                        item, path: "\(s.path).Dimensions[\(j)]", line: item.line, known: ["Name", "Value"], sink: sink),
                    let n = d.string("Name"), let v = d.string("Value")
                else {
                    sink.add(
                        line: item.line, "\(s.path).Dimensions[\(j)] needs Name and Value",
                        "write `- {Name: TableName, Value: ...}`")
                    continue
                }
                dims.append(.init(n, v))
            }
            if dims.count > 30 { sink.add(line: s.line("Dimensions"), "at most 30 dimensions", "remove some") }
            if Set(dims.map(\.name)).count != dims.count {
                sink.add(line: s.line("Dimensions"), "\(s.path).Dimensions names a dimension twice", "keep one of each")
            }
        }
        var statistic: Statistic?
        switch (s.string("Statistic"), s.string("ExtendedStatistic")) {
        case (let st?, nil):
            statistic = Statistic(st)
            if statistic == nil || statistic!.isPercentile {
                sink.add(
                    line: s.line("Statistic"),
                    "Statistic '\(st)' is not one of \(Statistic.names.joined(separator: ", "))",
                    "for a percentile use ExtendedStatistic: p99")
                statistic = nil
            }
        case (nil, let ext?):
            statistic = Statistic.parsePercentile(ext).map { .percentile($0) }
            if statistic == nil {
                sink.add(
                    line: s.line("ExtendedStatistic"), "ExtendedStatistic '\(ext)' is not a percentile",
                    "write p0.0 to p100, such as p99 or p99.9")
            }
        case (.some, .some):
            sink.add(
                line: s.line("ExtendedStatistic"), "\(s.path) has both Statistic and ExtendedStatistic", "keep one")
        case (nil, nil):
            sink.add(
                line: s.line, "\(s.path) has neither Statistic nor ExtendedStatistic",
                "add `Statistic: Average` (or Sum, Minimum, Maximum, SampleCount)")
        }
        let period = s.int("Period", in: 1...86400)
        if let p = period, !([10, 20, 30].contains(p) || p % 60 == 0) {
            sink.add(
                line: s.line("Period"), "Period \(p) is not 10, 20, 30 or a multiple of 60",
                "use one of those (seconds)")
        }
        if period == nil && !s.has("Period") {
            sink.add(line: s.line, "\(s.path) has no Period", "add `Period: 60` (seconds)")
        }
        let n = s.int("EvaluationPeriods", in: 1...10080)
        if n == nil && !s.has("EvaluationPeriods") {
            sink.add(line: s.line, "\(s.path) has no EvaluationPeriods", "add `EvaluationPeriods: 3`")
        }
        let m = s.int("DatapointsToAlarm", in: 1...10080)
        if let m, let n, m > n {
            sink.add(
                line: s.line("DatapointsToAlarm"), "DatapointsToAlarm (\(m)) is more than EvaluationPeriods (\(n))",
                "make it at most EvaluationPeriods")
        }
        if let p = period, let n, p * n > 86400 {
            sink.add(
                line: s.line("EvaluationPeriods"), "Period x EvaluationPeriods is more than one day",
                "CloudWatch allows at most 86400 seconds")
        }
        let threshold = s.number("Threshold")
        if threshold == nil && !s.has("Threshold") {
            sink.add(line: s.line, "\(s.path) has no Threshold", "add `Threshold: ...`")
        }
        let op = s.choice("ComparisonOperator", AlarmDefinition.Comparison.allCases.map(\.rawValue)).flatMap(
            AlarmDefinition.Comparison.init)
        if op == nil && !s.has("ComparisonOperator") {
            sink.add(
                line: s.line, "\(s.path) has no ComparisonOperator", "add `ComparisonOperator: GreaterThanThreshold`")
        }
        let treat =
            s.choice("TreatMissingData", AlarmDefinition.TreatMissingData.allCases.map(\.rawValue)).flatMap(
                AlarmDefinition.TreatMissingData.init) ?? .missing
        let low = s.choice("EvaluateLowSampleCountPercentile", ["evaluate", "ignore"]) ?? "evaluate"
        _ = s.string("Unit")
        _ = s.bool("ActionsEnabled")
        guard sink.problems.count == before, let name, let namespace, let metric, let statistic, let period, let n,
            let threshold, let op
        else { return nil }
        return AlarmDefinition(
            name: name, description: s.string("AlarmDescription"), namespace: namespace, metricName: metric,
            dimensions: dims,
            statistic: statistic, period: period, evaluationPeriods: n, datapointsToAlarm: m, threshold: threshold,
            comparison: op, treatMissingData: treat, evaluateLowSampleCountPercentile: low == "evaluate")
    }
}
