/// `maintenance:` in agent.yaml: windows (RDS weekly format or cron) and the jobs each runs, in order.
package struct MaintenanceConfig: Sendable, Equatable {
    package enum CatchUp: String, Sendable, Equatable, CaseIterable { case run, report }
    /// Who opens a window: the agent's own scheduler, or a systemd timer running `whatifctl maintenance run`.
    package enum Trigger: String, Sendable, Equatable, CaseIterable { case agent, timer }

    /// Several agents sharing singleton work through lease items in a DynamoDB table.
    package struct Fleet: Sendable, Equatable {
        package var table: String
        package var leaseSeconds: Double
        package var heartbeatSeconds: Double
        /// This agent's name in the lease table (unique across the fleet).
        package var owner: String?

        package init(table: String, leaseSeconds: Double, heartbeatSeconds: Double, owner: String?) {
            self.table = table
            self.leaseSeconds = leaseSeconds
            self.heartbeatSeconds = heartbeatSeconds
            self.owner = owner
        }
    }

    package struct Window: Sendable, Equatable {
        package var name: String
        package var when: String
        package var schedule: WindowSchedule
        package var jobs: [String]
        package var silenceAlarms: [String]
        package var trigger: Trigger = .agent

        package init(
            name: String, when: String, schedule: WindowSchedule, jobs: [String], silenceAlarms: [String],
            trigger: Trigger = .agent
        ) {
            self.name = name
            self.when = when
            self.schedule = schedule
            self.jobs = jobs
            self.silenceAlarms = silenceAlarms
            self.trigger = trigger
        }
    }

    package var windows: [Window]
    package var catchUp: CatchUp
    package var fleet: Fleet?

    package init(windows: [Window], catchUp: CatchUp, fleet: Fleet?) {
        self.windows = windows
        self.catchUp = catchUp
        self.fleet = fleet
    }
}
