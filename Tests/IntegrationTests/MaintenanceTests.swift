import Foundation
import Testing
import WhatIfAgentTesting
import WhatIfProtocol
import WhatIfTesting

/// `whatifctl maintenance list|next` against whatifd (windows and their next occurrence).
@Suite struct MaintenanceListTests {
    @Test func listAndNextThroughWhatifctl() throws {
        var config = TestConfig()
        config.maintenance = """
              windows:
                - name: weekly
                  when: sun:05:00-sun:06:00
                  jobs: [backup, prune, verify]
                - name: always
                  when: "* * * * *"
                  duration: 10m
                  jobs: [schema-check]

            """
        let a = try AgentProcess(config)
        let list = try a.ctl(["maintenance", "list"])
        #expect(list.status == 0, "\(list.output)")
        #expect(list.stdout.contains("sun:05:00-sun:06:00") && list.stdout.contains("backup, prune, verify"))
        #expect(list.stdout.contains("open now"), "a window every minute is open: \(list.output)")
        let next = try a.ctl(["maintenance", "next", "weekly", "--json"])
        #expect(next.status == 0, "\(next.output)")
        let w = try APICoding.decode(MaintenanceWindowInfo.self, from: Array(next.stdout.utf8))
        #expect(w.end.timeIntervalSince(w.start) == 3600)
        // The next occurrence, or the current one while it is open (Sundays 05:00-06:00 UTC): not over,
        // and within a week.
        #expect(w.end > Date() && w.start.timeIntervalSinceNow <= 7 * 86400, "\(w)")
        let missing = try a.ctl(["maintenance", "next", "nope"])
        #expect(missing.status == 66, "\(missing.output)")
    }
}
