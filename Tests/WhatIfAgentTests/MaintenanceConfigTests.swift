import Foundation
import Testing
import WhatIfMaintenance
import WhatIfTesting

@testable import WhatIfAgent

@Suite struct MaintenanceConfigTests {
    let dir = TempDir("whatif-config")

    func load(_ yaml: String) -> Result<AgentConfig, ConfigError> {
        let path = try! dir.write("agent.yaml", "environment: development\n" + yaml)
        return ConfigLoader.load(path: path, environment: [:])
    }

    @Test func windowsAndWhatTheyRun() throws {
        let c = try load(
            """
            alarms:
              - AlarmName: cpu-high
                Namespace: AWS/RDS
                MetricName: CPUUtilization
                Dimensions: [{Name: DBInstanceIdentifier, Value: local}]
                Statistic: Average
                Period: 60
                EvaluationPeriods: 3
                Threshold: 80
                ComparisonOperator: GreaterThanThreshold
            maintenance:
              catch_up: run
              windows:
                - name: weekly
                  when: sun:05:00-sun:06:00
                  jobs: [backup, prune, verify, restore-drill]
                  silence_alarms: [cpu-high]
                - name: nightly
                  when: "30 2 * * *"
                  duration: 45m
                  jobs: [redis-expiry, vacuum]
            """
        ).get()
        let m = try #require(c.maintenance)
        #expect(m.catchUp == .run)
        #expect(m.windows.map(\.name) == ["weekly", "nightly"])
        #expect(m.windows[0].schedule == .weekly(startMinute: 300, minutes: 60))
        #expect(m.windows[1].schedule.minutes == 45)
        #expect(m.windows[0].silenceAlarms == ["cpu-high"])
        // Wednesday 2026-11-25 10:00 UTC: nightly opens first, tomorrow at 02:30; weekly on Sunday.
        let now = 1_795_600_800.0  // 2026-11-25T10:00:00Z
        let list = Router.maintenanceList(m, now: now)
        #expect(list.windows[0].start == Date(timeIntervalSince1970: now + 4 * 86400 - 5 * 3600))
        #expect(list.windows[1].start == Date(timeIntervalSince1970: now + 16 * 3600 + 30 * 60))
        #expect(list.windows.allSatisfy { !$0.openNow })
        // Inside the nightly window it is open now, until its end.
        let inside = Router.maintenanceList(m, now: now + 16 * 3600 + 40 * 60)
        #expect(inside.windows[1].openNow)
        #expect(inside.windows[1].end == Date(timeIntervalSince1970: now + 16 * 3600 + 75 * 60))
    }

    @Test func mistakesNameTheLineAndTheFix() throws {
        guard
            case .failure(let e) = load(
                """
                maintenance:
                  catch_up: sometimes
                  windows:
                    - name: weekly
                      when: sun:25:00-sun:26:00
                      jobs: [backup]
                    - name: weekly
                      when: sun:05:00-sun:06:00
                      jobs: [backup]
                    - name: cron
                      when: "0 5 * * *"
                      jobs: [backup]
                    - name: odd
                      when: mon:01:00-mon:02:00
                      jobs: [defrag]
                """)
        else {
            Issue.record("accepted")
            return
        }
        let p = e.problems.map(\.description)
        #expect(p.contains { $0.contains("catch_up must be one of") }, "\(p)")
        #expect(p.contains { $0.contains("maintenance.windows[0].when") && $0.contains("is not ddd:hh24:mi") }, "\(p)")
        #expect(p.contains { $0.contains("window weekly is defined twice") }, "\(p)")
        #expect(p.contains { $0.contains("has no duration") }, "\(p)")
        #expect(p.contains { $0.contains("jobs[0] is not a window job") }, "\(p)")
        #expect(p.allSatisfy { $0.contains("agent.yaml:") }, "\(p)")
    }

    @Test func fleetAndTrigger() throws {
        let c = try load(
            """
            maintenance:
              fleet:
                table: leases-prod
                lease: 90s
                owner: web-1
              windows:
                - name: weekly
                  when: sun:05:00-sun:06:00
                  jobs: [backup]
                  trigger: timer
            """
        ).get()
        let m = try #require(c.maintenance)
        #expect(m.fleet == .init(table: "leases-prod", leaseSeconds: 90, heartbeatSeconds: 30, owner: "web-1"))
        #expect(m.windows[0].trigger == .timer)
        let plain = try load("maintenance:\n  windows: []\n").get()
        #expect(plain.maintenance?.fleet == nil, "no fleet: the agent runs every window itself")

        guard
            case .failure(let e) = load(
                """
                maintenance:
                  fleet:
                    table: "no spaces allowed"
                    lease: 10s
                    heartbeat: 8s
                    color: blue
                  windows:
                    - name: weekly
                      when: sun:05:00-sun:06:00
                      jobs: [backup]
                      trigger: cron
                      silence_alarms: [cpu-hihg]
                """)
        else {
            Issue.record("accepted")
            return
        }
        let p = e.problems.map(\.description)
        #expect(p.contains { $0.contains("agent.yaml:4:") && $0.contains("is not a DynamoDB table name") }, "\(p)")
        #expect(p.contains { $0.contains("agent.yaml:6:") && $0.contains("at most half the lease") }, "\(p)")
        #expect(p.contains { $0.contains("color") }, "\(p)")
        #expect(p.contains { $0.contains("trigger must be one of") }, "\(p)")
        #expect(
            p.contains { $0.contains("agent.yaml:13:") && $0.contains("silences 'cpu-hihg', which is not an alarm") },
            "\(p)")
    }
}
