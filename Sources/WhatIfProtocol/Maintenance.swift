#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// `POST /v1/maintenance/windows/{name}/run`.
public struct MaintenanceRunRequest: Codable, Sendable, Equatable {
    /// Start jobs even when their past runs say they will not finish before the window closes.
    public var ignoreEstimates: Bool?
    /// A request to run the window now.
    public init(ignoreEstimates: Bool? = nil) { self.ignoreEstimates = ignoreEstimates }
}

/// What one job of a window did.
public struct WindowStepResult: Codable, Sendable, Equatable {
    /// The window's name for it (`backup:postgres`, `vacuum`, ...).
    public var job: String
    /// The agent job kind it ran as.
    public var kind: String
    /// succeeded, failed, cancelled, or skipped (not started; `reason` says why).
    public var state: String
    /// The job it ran as, when it started one.
    public var jobId: String?
    /// How long it ran.
    public var seconds: Double?
    /// The longest of its last three successful runs, when it ran before.
    public var estimateSeconds: Double?
    /// Why it was skipped, or why it failed.
    public var reason: String?

    package init(
        job: String, kind: String, state: String, jobId: String? = nil, seconds: Double? = nil,
        estimateSeconds: Double? = nil, reason: String? = nil
    ) {
        self.job = job
        self.kind = kind
        self.state = state
        self.jobId = jobId
        self.seconds = seconds
        self.estimateSeconds = estimateSeconds
        self.reason = reason
    }

    /// "vacuum: succeeded", "backup: skipped (would not finish ...)".
    public var summary: String { "\(job): \(state)" + (reason.map { " (\($0))" } ?? "") }
}

/// The result of a `maintenance.window` job.
public struct WindowRunResult: Codable, Sendable, Equatable {
    /// The window's name, from the config.
    public var window: String
    /// scheduled (the agent opened it), catch-up (missed while the agent was down) or manual.
    public var trigger: String
    /// The occurrence's start; jobs are planned to end by `endsAt`.
    public var occurrence: Date
    /// When the occurrence closes.
    public var endsAt: Date
    /// succeeded (every job ran and succeeded), partial (some skipped or failed), failed (none
    /// succeeded), skipped (another agent of the fleet ran it, or nothing could start).
    public var outcome: String
    /// What each job of the window did, in the window's order.
    public var steps: [WindowStepResult]
    /// The fleet lease the window ran under: owner and fencing token.
    public var leaseOwner: String?
    /// See `leaseOwner`.
    public var fence: Int64?
    /// Anything else the operator should know (a lease lost, a catch-up run).
    public var note: String?

    // memberwise-init: package
}

/// A window's last run on this agent.
public struct WindowLastRun: Codable, Sendable, Equatable {
    /// The occurrence's start.
    public var occurrence: Date
    /// As `WindowRunResult.outcome`.
    public var outcome: String
    /// As `WindowRunResult.trigger`.
    public var trigger: String
    /// The `maintenance.window` job that ran it.
    public var jobId: String?
    /// When the run ended.
    public var at: Date
    // memberwise-init: package
}

/// One lease of the fleet's lease table.
public struct LeaseInfo: Codable, Sendable, Equatable {
    /// The window (or job) the lease is for.
    public var name: String
    /// Empty when nobody holds it.
    public var owner: String
    /// The fencing token: raised by every new holder, so a stale holder's writes are refused.
    public var fence: Int64
    /// How long the lease lasts without a heartbeat.
    public var leaseSeconds: Double
    /// The holder's last heartbeat.
    public var heartbeatAt: Date
    /// This agent is the owner.
    public var mine: Bool
    /// The last window occurrence a holder finished.
    public var completed: Date?
    // memberwise-init: package
}

/// `GET /v1/maintenance/leases`.
public struct LeaseList: Codable, Sendable, Equatable {
    /// The lease table, or nil when the agent is not part of a fleet.
    public var table: String?
    /// This agent's owner name in the table.
    public var owner: String?
    /// The leases.
    public var leases: [LeaseInfo]
    /// Why the table could not be read.
    public var error: String?
    // memberwise-init: package
}

/// One part of a `restore.drill` job's result: the newest backup of a kind, restored into a scratch copy, checked
/// and dropped.
public struct DrillPart: Codable, Sendable, Equatable {
    /// What kind of backup.
    public var kind: BackupKind
    /// True when the copy was restored, checked and matched the manifest.
    public var ok: Bool
    /// The backup restored, when there was one.
    public var backupId: String?
    /// The scratch database or table the backup was restored into (dropped afterwards).
    public var scratch: String
    /// From the start of the restore (its verification included) to a checked copy.
    public var secondsToRestore: Double?
    /// Rows (PostgreSQL) or items (DynamoDB) the manifest promises, and what the copy holds.
    public var expected: Int64?
    /// See `expected`.
    public var restored: Int64?
    /// PostgreSQL: tables whose row counts were compared.
    public var tablesChecked: Int?
    /// Files whose checksums were verified before the restore.
    public var filesChecked: Int?
    /// Why the drill of this kind failed.
    public var error: String?
    /// How to fix it, when the agent knows.
    public var hint: String?
    /// False when the scratch copy could not be dropped (it is named, so an operator can).
    public var dropped: Bool

    // memberwise-init: package
}

extension JobSpecs {
    /// `restore.drill`: the newest backups restored into scratch copies, checked and dropped.
    public enum RestoreDrill: JobSpec {
        public typealias Params = NoParams
        public typealias Result = DrillResult
        public static let name = "restore.drill"
        public static let summary =
            "restore the newest backups into a scratch database and table, check them, drop them"
        public static let example = "{}"
    }
}

/// The result of a `restore.drill` job: one part per configured backup kind.
public struct DrillResult: Codable, Sendable, Equatable {
    /// One part per kind.
    public var parts: [DrillPart]
    /// True when there was something to drill and every part passed.
    public var ok: Bool { !parts.isEmpty && parts.allSatisfy(\.ok) }
    package init(parts: [DrillPart]) { self.parts = parts }
}
