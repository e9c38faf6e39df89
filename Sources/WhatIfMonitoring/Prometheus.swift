import WhatIfProtocol

/// Prometheus text exposition (format 0.0.4): `whatif_<namespace>_<metric>` in base units, dimensions as
/// snake_case labels, plus `whatif_alarm_state`. Counts per period are counters (`…_total`, the running
/// sum since the agent started: Prometheus takes a restart as a counter reset), counts kept since start
/// are counters as they are, the rest gauges; every family has its HELP and TYPE, no timestamps.
package enum PrometheusExposition {
    /// `CPUUtilization` → `cpu_utilization`, `DBInstanceIdentifier` → `db_instance_identifier`.
    package static func snake(_ s: String) -> String {
        var out = ""
        let chars = Array(s)
        for (i, c) in chars.enumerated() {
            if c.isUppercase {
                let prevLower = i > 0 && (chars[i - 1].isLowercase || chars[i - 1].isNumber)
                let nextLower = i + 1 < chars.count && chars[i + 1].isLowercase
                let prevUpper = i > 0 && chars[i - 1].isUppercase
                if i > 0 && (prevLower || (prevUpper && nextLower)) { out += "_" }
                out += c.lowercased()
            } else if c.isLetter || c.isNumber {
                out.append(c)
            } else {
                if !out.hasSuffix("_") { out += "_" }
            }
        }
        return out
    }

    /// Name suffix and multiplier to the base unit.
    static func unit(_ u: String) -> (suffix: String, scale: Double) {
        switch u {
        case MetricUnit.percent: ("_ratio", 0.01)
        case MetricUnit.bytes: ("_bytes", 1)
        case MetricUnit.seconds: ("_seconds", 1)
        case MetricUnit.milliseconds: ("_seconds", 0.001)
        case MetricUnit.countPerSecond: ("_per_second", 1)
        default: ("", 1)
        }
    }

    package static func name(namespace: String, metric: String, unit u: String) -> String {
        let ns = namespace.split(separator: "/").last.map(String.init) ?? namespace
        // Namespaces are one lower-case word: elasticache, rds, dynamodb, host, agent.
        let word = ns.lowercased().filter { $0.isLetter || $0.isNumber }
        var base = "whatif_\(word)_\(snake(metric))"
        let (suffix, _) = unit(u)
        // A metric already named for its unit (…Percentage → _ratio) keeps one suffix.
        for drop in ["_percentage", "_percent", "_bytes", "_seconds", "_ratio"] where base.hasSuffix(drop) {
            base.removeLast(drop.count)
        }
        return base + suffix
    }

    /// A label value escapes backslash, double quote and newline; HELP text (`quote` false) only
    /// backslash and newline.
    static func escape(_ v: String, quote: Bool = true) -> String {
        var out = ""
        for c in v {
            switch c {
            case "\\": out += "\\\\"
            case "\"" where quote: out += "\\\""
            case "\n": out += "\\n"
            default: out.append(c)
            }
        }
        return out
    }

    static func number(_ v: Double) -> String {
        if v.isNaN { return "NaN" }
        if v.isInfinite { return v > 0 ? "+Inf" : "-Inf" }
        if v == v.rounded(), abs(v) < 1e15 { return String(Int64(v)) }
        return "\(v)"
    }

    package static func render(
        latest: [(key: MetricKey, time: Double, value: Double)], totals: [MetricKey: Double] = [:],
        alarms: [AlarmInfo]
    ) -> String {
        var groups: [String: [(labels: String, value: Double, time: Double)]] = [:]
        var help: [String: String] = [:]
        var types: [String: String] = [:]
        func add(_ key: MetricKey, _ n: String, _ value: Double, _ time: Double, type: String, help text: String) {
            let labels = key.dimensions.map { "\(snake($0.name))=\"\(escape($0.value))\"" }.joined(separator: ",")
            groups[n, default: []].append((labels, value * unit(key.unit).scale, time))
            help[n] = text
            types[n] = type
        }
        for (key, time, value) in latest {
            let n = name(namespace: key.namespace, metric: key.name, unit: key.unit)
            switch key.kind {
            case .gauge:
                add(
                    key, n, value, time, type: "gauge",
                    help: "\(key.namespace) \(key.name) (\(key.unit)), as the agent last collected it.")
            case .totalCounter:
                add(
                    key, n + "_total", value, time, type: "counter",
                    help: "\(key.namespace) \(key.name) since the agent started.")
            case .deltaCounter:
                guard let total = totals[key] else { continue }
                add(
                    key, n + "_total", total, time, type: "counter",
                    help: "\(key.namespace) \(key.name), summed over every period since the agent started.")
            }
        }
        var out = ""
        for n in groups.keys.sorted() {
            out += "# HELP \(n) \(escape(help[n]!, quote: false))\n# TYPE \(n) \(types[n]!)\n"
            for s in groups[n]!.sorted(by: { $0.labels < $1.labels }) {
                out += s.labels.isEmpty ? n : "\(n){\(s.labels)}"
                // No timestamps: node_exporter's textfile collector refuses them.
                out += " \(number(s.value))\n"
            }
        }
        if !alarms.isEmpty {
            out += "# HELP whatif_alarm_state 1 for the state each alarm is in, 0 for the others.\n"
            out += "# TYPE whatif_alarm_state gauge\n"
            for a in alarms.sorted(by: { $0.alarmName < $1.alarmName }) {
                for s in AlarmState.allCases {
                    out +=
                        "whatif_alarm_state{alarm_name=\"\(escape(a.alarmName))\",state=\"\(s.rawValue)\"} \(a.stateValue == s.rawValue ? 1 : 0)\n"
                }
            }
        }
        return out
    }
}
