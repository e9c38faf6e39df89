import WhatIfProtocol

/// Jobs' outcomes as metrics that alarms can watch, recorded when the job ends.
extension MonitoringService {
    /// A sweep's keys without a TTL and violations per rule, and the keys it scanned (WhatIf/Redis).
    package func record(_ r: ExpiryReport, now: Double) {
        var samples: [Sample] = []
        for rule in r.rules {
            let dims = [MetricKey.Dimension("Rule", rule.pattern)]
            func add(_ name: String, _ v: Int64) {
                samples.append(
                    Sample(
                        key: MetricKey(namespace: "WhatIf/Redis", name: name, dimensions: dims, unit: MetricUnit.count),
                        value: Double(v), time: now))
            }
            add("KeysWithoutTTL", max(0, rule.withoutTTL - rule.fixed))
            add("ExpiryViolations", max(0, rule.withoutTTL + rule.overMax - rule.fixed))
            add("ExpiryFixed", rule.fixed)
        }
        samples.append(
            Sample(
                key: MetricKey(namespace: "WhatIf/Redis", name: "KeysScanned", dimensions: [], unit: MetricUnit.count),
                value: Double(r.scanned), time: now))
        store.append(samples, now: now)
    }

    /// A restore drill's pass (1) or fail (0) and time to restore, per kind (WhatIf/Maintenance).
    package func record(_ r: DrillResult, now: Double) {
        func sample(_ name: String, _ unit: String, _ kind: BackupKind, _ value: Double) -> Sample {
            Sample(
                key: MetricKey(
                    namespace: "WhatIf/Maintenance", name: name,
                    dimensions: [MetricKey.Dimension("Kind", kind.rawValue)],
                    unit: unit), value: value, time: now)
        }
        var samples: [Sample] = []
        for p in r.parts {
            samples.append(sample("RestoreDrillSuccess", MetricUnit.count, p.kind, p.ok ? 1 : 0))
            if let s = p.secondsToRestore {
                samples.append(sample("RestoreDrillSeconds", MetricUnit.seconds, p.kind, s))
            }
        }
        store.append(samples, now: now)
    }
}
