import Foundation
import Testing
import WhatIfMonitoring
import WhatIfTesting

@testable import WhatIfAgent

@Suite struct MonitoringConfigTests {
    let dir = TempDir("whatif-config")

    func load(_ yaml: String) -> Result<AgentConfig, ConfigError> {
        let path = try! dir.write("agent.yaml", "environment: development\n" + yaml)
        return ConfigLoader.load(path: path, environment: [:])
    }

    func problems(_ yaml: String) -> [String] {
        switch load(yaml) {
        case .success: return []
        case .failure(let e): return e.problems.map(\.description)
        }
    }

    @Test func alarmsUsePutMetricAlarmNames() throws {
        let token = try dir.write("token", "t\n", mode: 0o640)
        let c = try load(
            """
            metrics: { interval: 10s, retention: 48h }
            hooks:
              timeout: 5s
              repeat_interval: off
              webhooks:
                - url: "https://u:pw-in-url@alerts.example.com/hook?token=tok-in-query"
                  headers: { X-Team: header-value-secret }
                  header_files: { Authorization: \(token) }
            alarms:
              - AlarmName: rds-cpu
                Namespace: AWS/RDS
                MetricName: CPUUtilization
                Dimensions:
                  - Name: DBInstanceIdentifier
                    Value: what-if-db
                ExtendedStatistic: p99.5
                Period: 300
                EvaluationPeriods: 3
                DatapointsToAlarm: 2
                Threshold: 80.5
                ComparisonOperator: GreaterThanOrEqualToThreshold
                TreatMissingData: breaching
                EvaluateLowSampleCountPercentile: ignore
            """
        ).get()
        let m = c.monitoring
        #expect(m.settings.interval == 10 && m.settings.retention == 172_800)
        #expect(m.source == .local)
        #expect(m.hooks.repeatInterval == nil && m.hooks.timeout == 5)
        #expect(m.hooks.webhooks.first?.headerFiles["Authorization"] == token)
        // GET /v1/config shows the hooks without credentials.
        let view = "\(ConfigView.report(c))"
        #expect(view.contains("https://***@alerts.example.com/hook"))
        for secret in ["pw-in-url", "tok-in-query", "header-value-secret"] { #expect(!view.contains(secret)) }
        #expect(view.contains("rds-cpu"))
        let a = try #require(m.alarms.first)
        #expect(a.name == "rds-cpu" && a.statistic == .percentile(99.5) && a.period == 300)
        #expect(a.evaluationPeriods == 3 && a.datapointsToAlarm == 2 && a.threshold == 80.5)
        #expect(a.comparison == .greaterThanOrEqualToThreshold && a.treatMissingData == .breaching)
        #expect(!a.evaluateLowSampleCountPercentile)
        #expect(a.dimensions == [.init("DBInstanceIdentifier", "what-if-db")])
    }

    @Test(arguments: [
        ("Statistic: Avg", "Statistic 'Avg' is not one of"),
        ("Statistic: Average\n    ExtendedStatistic: p99", "both Statistic and ExtendedStatistic"),
        ("ExtendedStatistic: p101", "ExtendedStatistic 'p101' is not a percentile"),
        ("Statistic: Average\n    Period: 45", "Period 45 is not 10, 20, 30 or a multiple of 60"),
        ("Statistic: Average\n    DatapointsToAlarm: 5", "DatapointsToAlarm (5) is more than EvaluationPeriods (3)"),
        ("Statistic: Average\n    TreatMissingData: zero", "TreatMissingData must be one of"),
        ("Statistic: Average\n    Threshhold: 3", "unknown key 'alarms[0].Threshhold'"),
    ])
    func badAlarmsAreNamedWithTheFix(_ extra: String, _ expected: String) {
        var base = """
            alarms:
              - AlarmName: a
                Namespace: AWS/RDS
                MetricName: CPUUtilization
                EvaluationPeriods: 3
                Threshold: 1
                ComparisonOperator: LessThanThreshold
                \(extra)

            """
        if !extra.contains("Period:") { base += "    Period: 60\n" }
        let p = problems(base)
        #expect(p.contains { $0.contains(expected) }, "\(p)")
        #expect(p.allSatisfy { $0.contains("agent.yaml:") })
    }

    @Test func duplicateNamesAndMissingFieldsAreReported() {
        let p = problems(
            """
            alarms:
              - AlarmName: a
                Namespace: N
                MetricName: M
                Statistic: Sum
                Period: 60
                EvaluationPeriods: 1
                Threshold: 1
                ComparisonOperator: GreaterThanThreshold
              - AlarmName: a
                Namespace: N
                MetricName: M
                Statistic: Sum
                Period: 60
                EvaluationPeriods: 1
                Threshold: 1
                ComparisonOperator: GreaterThanThreshold
              - Namespace: N
            metrics: { retention: 10m, publish_namespace: AWS/Mine }
            """)
        #expect(p.contains { $0.contains("two alarms are named 'a'") })
        #expect(p.contains { $0.contains("has no AlarmName") })
        #expect(p.contains { $0.contains("has no MetricName") })
        #expect(p.contains { $0.contains("metrics.retention must be at least 1h") })
        #expect(p.contains { $0.contains("reserved for AWS") })
    }
}
