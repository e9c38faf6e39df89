import WhatIfCore
import WhatIfExpiry

/// `expiry:` in agent.yaml: the Redis key-expiry policy and how sweeps run.
package struct ExpiryConfig: Sendable, Equatable {
    package struct Schedule: Sendable, Equatable {
        /// Seconds between sweeps.
        package var every: Double
        package var enforce: Bool
        package var keysPerSecond: Double?
    }

    package var policy: ExpiryPolicy
    package var sweep: SweepSettings
    package var schedule: Schedule?
}

extension ConfigLoader {
    static let expiryKeys = [
        "rules", "exclude", "maxmemory_policy", "scan_count", "keys_per_second", "batch_budget", "sample_size",
        "schedule",
    ]
    static let expiryRuleKeys = ["match", "max_ttl", "default_ttl", "action", "type"]
    static let redisTypes = ["string", "hash", "list", "set", "zset", "stream"]
    static let maxmemoryPolicies = [
        "noeviction", "allkeys-lru", "allkeys-lfu", "allkeys-random", "volatile-lru", "volatile-lfu",
        "volatile-random", "volatile-ttl",
    ]

    static func readExpiry(_ s: YAMLSection?, sink: ProblemSink) -> ExpiryConfig? {
        guard let s else { return nil }
        var rules: [ExpiryPolicy.Rule] = []
        let tenYears = 10 * 365 * 86400.0
        for (i, node) in (s.sequence("rules") ?? []).enumerated() {
            guard
                let r = YAMLSection(
                    node, path: "expiry.rules[\(i)]", line: node.line, known: expiryRuleKeys, sink: sink)
            else { continue }
            guard let match = r.string("match") else {
                sink.add(line: r.line, "expiry.rules[\(i)] has no match", "add `match: \"session:*\"` (a Redis glob)")
                continue
            }
            let maxTTL = r.duration("max_ttl", max: tenYears).map { Int($0.rounded(.up)) }
            let defaultTTL = r.duration("default_ttl", max: tenYears).map { Int($0.rounded(.up)) }
            let action = r.choice("action", ExpiryPolicy.Action.allCases.map(\.rawValue)).flatMap(
                ExpiryPolicy.Action.init)
            if action == nil && !r.has("action") {
                sink.add(line: r.line, "expiry.rules[\(i)] has no action", "add `action: report` or `action: enforce`")
            }
            let type = r.choice("type", redisTypes)
            if maxTTL == nil && defaultTTL == nil && !r.has("max_ttl") && !r.has("default_ttl") {
                sink.add(
                    line: r.line, "expiry.rules[\(i)] has neither max_ttl nor default_ttl",
                    "give max_ttl (the longest TTL allowed), default_ttl (for keys without one), or both")
            }
            if let m = maxTTL, let d = defaultTTL, d > m {
                sink.add(
                    line: r.line("default_ttl"), "expiry.rules[\(i)].default_ttl is longer than its max_ttl",
                    "make default_ttl at most max_ttl")
            }
            if let action {
                rules.append(.init(pattern: match, maxTTL: maxTTL, defaultTTL: defaultTTL, action: action, type: type))
            }
        }
        if rules.isEmpty && !s.has("rules") {
            sink.add(line: s.line, "expiry has no rules", "add `rules:` with at least one `- match: ...`")
        }
        var exclude: [String] = []
        for (i, node) in (s.sequence("exclude") ?? []).enumerated() {
            guard case .scalar(let text, _, _) = node, !node.isNull else {
                sink.add(line: node.line, "expiry.exclude[\(i)] must be a glob", "write `- \"lock:*\"`")
                continue
            }
            exclude.append(text)
        }
        var sweep = SweepSettings()
        sweep.scanCount = s.int("scan_count", in: 10...100_000) ?? 1000
        sweep.keysPerSecond = s.int("keys_per_second", in: 1...10_000_000).map(Double.init)
        sweep.batchBudget = s.duration("batch_budget", max: 10) ?? 0.001
        sweep.sampleSize = s.int("sample_size", in: 0...1000) ?? 10
        var schedule: ExpiryConfig.Schedule?
        if let sch = s.section("schedule", known: ["every", "mode", "keys_per_second"]), sch.has("every") {
            if let every = sch.duration("every", max: 30 * 86400) {
                schedule = .init(
                    every: every,
                    enforce: (sch.choice("mode", ["dry-run", "enforce"]) ?? "dry-run") == "enforce",
                    keysPerSecond: sch.int("keys_per_second", in: 1...10_000_000).map(Double.init))
            }
        }
        let policy = ExpiryPolicy(
            rules: rules, exclude: exclude, expectedMaxmemoryPolicy: s.choice("maxmemory_policy", maxmemoryPolicies))
        return ExpiryConfig(policy: policy, sweep: sweep, schedule: schedule)
    }
}
