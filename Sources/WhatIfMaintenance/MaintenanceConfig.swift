/// `maintenance:` in agent.yaml: windows (RDS weekly format or cron) and the jobs each runs, in order.
public struct MaintenanceConfig: Sendable, Equatable {
    public enum CatchUp: String, Sendable, Equatable, CaseIterable { case run, report }
    /// Who opens a window: the agent's own scheduler, or a systemd timer running `whatifctl maintenance run`.
    public enum Trigger: String, Sendable, Equatable, CaseIterable { case agent, timer }

    /// Several agents sharing singleton work through lease items in a DynamoDB table.
    public struct Fleet: Sendable, Equatable {
        public var table: String
        public var leaseSeconds: Double
        public var heartbeatSeconds: Double
        /// This agent's name in the lease table (unique across the fleet).
        public var owner: String?

        public init(table: String, leaseSeconds: Double, heartbeatSeconds: Double, owner: String?) {
            self.table = table
            self.leaseSeconds = leaseSeconds
            self.heartbeatSeconds = heartbeatSeconds
            self.owner = owner
        }
    }

    public struct Window: Sendable, Equatable {
        public var name: String
        public var when: String
        public var schedule: WindowSchedule
        public var jobs: [String]
        public var silenceAlarms: [String]
        public var trigger: Trigger = .agent

        public init(
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

    public var windows: [Window]
    public var catchUp: CatchUp
    public var fleet: Fleet?

    public init(windows: [Window], catchUp: CatchUp, fleet: Fleet?) {
        self.windows = windows
        self.catchUp = catchUp
        self.fleet = fleet
    }
}
