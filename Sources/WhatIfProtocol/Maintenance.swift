#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// `POST /v1/maintenance/windows/{name}/run`.
public struct MaintenanceRunRequest: Codable, Sendable, Equatable {
    /// Start jobs even when their past runs say they will not finish before the window closes.
    public var ignoreEstimates: Bool?
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
    public var jobId: String?
    public var seconds: Double?
    /// The longest of its last three successful runs, when it ran before.
    public var estimateSeconds: Double?
    public var reason: String?

    public init(
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
    public var window: String
    /// scheduled (the agent opened it), catch-up (missed while the agent was down) or manual.
    public var trigger: String
    /// The occurrence's start; jobs are planned to end by `endsAt`.
    public var occurrence: Date
    public var endsAt: Date
    /// succeeded (every job ran and succeeded), partial (some skipped or failed), failed (none
    /// succeeded), skipped (another agent of the fleet ran it, or nothing could start).
    public var outcome: String
    public var steps: [WindowStepResult]
    /// The fleet lease the window ran under: owner and fencing token.
    public var leaseOwner: String?
    public var fence: Int64?
    public var note: String?

    public init(
        window: String, trigger: String, occurrence: Date, endsAt: Date, outcome: String, steps: [WindowStepResult],
        leaseOwner: String? = nil, fence: Int64? = nil, note: String? = nil
    ) {
        self.window = window
        self.trigger = trigger
        self.occurrence = occurrence
        self.endsAt = endsAt
        self.outcome = outcome
        self.steps = steps
        self.leaseOwner = leaseOwner
        self.fence = fence
        self.note = note
    }
}

/// A window's last run on this agent.
public struct WindowLastRun: Codable, Sendable, Equatable {
    public var occurrence: Date
    public var outcome: String
    public var trigger: String
    public var jobId: String?
    public var at: Date
    public init(occurrence: Date, outcome: String, trigger: String, jobId: String?, at: Date) {
        self.occurrence = occurrence
        self.outcome = outcome
        self.trigger = trigger
        self.jobId = jobId
        self.at = at
    }
}

/// One lease of the fleet's lease table.
public struct LeaseInfo: Codable, Sendable, Equatable {
    public var name: String
    /// Empty when nobody holds it.
    public var owner: String
    public var fence: Int64
    public var leaseSeconds: Double
    public var heartbeatAt: Date
    /// This agent is the owner.
    public var mine: Bool
    /// The last window occurrence a holder finished.
    public var completed: Date?
    public init(
        name: String, owner: String, fence: Int64, leaseSeconds: Double, heartbeatAt: Date, mine: Bool,
        completed: Date?
    ) {
        self.name = name
        self.owner = owner
        self.fence = fence
        self.leaseSeconds = leaseSeconds
        self.heartbeatAt = heartbeatAt
        self.mine = mine
        self.completed = completed
    }
}

/// `GET /v1/maintenance/leases`.
public struct LeaseList: Codable, Sendable, Equatable {
    /// The lease table, or nil when the agent is not part of a fleet.
    public var table: String?
    /// This agent's owner name in the table.
    public var owner: String?
    public var leases: [LeaseInfo]
    public var error: String?
    public init(table: String?, owner: String?, leases: [LeaseInfo], error: String? = nil) {
        self.table = table
        self.owner = owner
        self.leases = leases
        self.error = error
    }
}

/// One part of a `restore.drill` job's result: the newest backup of a kind, restored into a scratch copy, checked
/// and dropped.
public struct DrillPart: Codable, Sendable, Equatable {
    public var kind: BackupKind
    public var ok: Bool
    public var backupId: String?
    /// The scratch database or table the backup was restored into (dropped afterwards).
    public var scratch: String
    /// From the start of the restore (its verification included) to a checked copy.
    public var secondsToRestore: Double?
    /// Rows (PostgreSQL) or items (DynamoDB) the manifest promises, and what the copy holds.
    public var expected: Int64?
    public var restored: Int64?
    public var tablesChecked: Int?
    public var filesChecked: Int?
    public var error: String?
    public var hint: String?
    /// False when the scratch copy could not be dropped (it is named, so an operator can).
    public var dropped: Bool

    public init(
        kind: BackupKind, ok: Bool, backupId: String?, scratch: String, secondsToRestore: Double? = nil,
        expected: Int64? = nil, restored: Int64? = nil, tablesChecked: Int? = nil, filesChecked: Int? = nil,
        error: String? = nil, hint: String? = nil, dropped: Bool
    ) {
        self.kind = kind
        self.ok = ok
        self.backupId = backupId
        self.scratch = scratch
        self.secondsToRestore = secondsToRestore
        self.expected = expected
        self.restored = restored
        self.tablesChecked = tablesChecked
        self.filesChecked = filesChecked
        self.error = error
        self.hint = hint
        self.dropped = dropped
    }
}

public struct DrillResult: Codable, Sendable, Equatable {
    public var parts: [DrillPart]
    public var ok: Bool { !parts.isEmpty && parts.allSatisfy(\.ok) }
    public init(parts: [DrillPart]) { self.parts = parts }
}
