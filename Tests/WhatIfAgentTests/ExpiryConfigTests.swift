import Foundation
import Testing
import WhatIfExpiry
import WhatIfTesting

@testable import WhatIfAgent

@Suite struct ExpiryConfigTests {
    let dir = TempDir("whatif-config")

    func load(_ yaml: String) -> Result<AgentConfig, ConfigError> {
        let path = try! dir.write("agent.yaml", "environment: development\n" + yaml)
        return ConfigLoader.load(path: path, environment: [:])
    }

    @Test func policyAndSweepSettings() throws {
        let c = try load(
            """
            expiry:
              maxmemory_policy: volatile-lru
              exclude: ["lock:*", "queue:*"]
              scan_count: 500
              keys_per_second: 20000
              batch_budget: 20ms
              schedule: { every: 6h, mode: enforce, keys_per_second: 1000 }
              rules:
                - match: "session:*"
                  max_ttl: 24h
                  default_ttl: 1h
                  action: enforce
                - match: "cache:*"
                  type: hash
                  default_ttl: 5m
                  action: report
            """
        ).get()
        let e = try #require(c.expiry)
        #expect(e.policy.rules.count == 2)
        #expect(e.policy.rules[0] == .init(pattern: "session:*", maxTTL: 86400, defaultTTL: 3600, action: .enforce))
        #expect(e.policy.rules[1].type == "hash" && e.policy.rules[1].action == .report)
        #expect(e.policy.exclude == ["lock:*", "queue:*"] && e.policy.expectedMaxmemoryPolicy == "volatile-lru")
        #expect(e.sweep.scanCount == 500 && e.sweep.keysPerSecond == 20000 && e.sweep.batchBudget == 0.02)
        #expect(e.schedule == .init(every: 21600, enforce: true, keysPerSecond: 1000))
        #expect(try load("").get().expiry == nil)
        let view = "\(ConfigView.report(c))"
        #expect(view.contains("session:*") && view.contains("volatile-lru"))
    }

    @Test func mistakesAreNamed() {
        guard
            case .failure(let e) = load(
                """
                expiry:
                  maxmemory_policy: volatile-lfru
                  rules:
                    - max_ttl: 1h
                      action: enforce
                    - match: "a:*"
                      max_ttl: 1m
                      default_ttl: 1h
                      action: enforce
                    - match: "b:*"
                      type: json
                      action: fix
                    - match: "c:*"
                      action: report
                """)
        else {
            Issue.record("accepted")
            return
        }
        let p = e.problems.map(\.description)
        #expect(p.contains { $0.contains("expiry.maxmemory_policy must be one of") })
        #expect(p.contains { $0.contains("expiry.rules[0] has no match") })
        #expect(p.contains { $0.contains("default_ttl is longer than its max_ttl") })
        #expect(p.contains { $0.contains("expiry.rules[2].type must be one of") })
        #expect(p.contains { $0.contains("expiry.rules[2].action must be one of report, enforce") })
        #expect(p.contains { $0.contains("expiry.rules[3] has neither max_ttl nor default_ttl") })
    }
}
