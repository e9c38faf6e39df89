#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// `POST /v1/tables`: create the scenarios table or compare it with the expected schema.
public struct TablesSetupRequest: Codable, Sendable, Equatable {
    /// development | test | production; the agent's own when nil.
    public var environment: String?
    public var region: String?
    /// Recreate a table whose schema differs (after a backup), only with `confirm`.
    public var force: Bool
    public var confirm: Bool
    /// Compare only: a missing table is reported, not created (the maintenance window's schema check).
    public var checkOnly: Bool?
    /// Add the expected indexes the table lacks (UpdateTable, one at a time, each waited for until
    /// ACTIVE); the table and its items stay.
    public var addMissing: Bool?

    public init(
        environment: String? = nil, region: String? = nil, force: Bool = false, confirm: Bool = false,
        checkOnly: Bool? = nil, addMissing: Bool? = nil
    ) {
        self.environment = environment
        self.region = region
        self.force = force
        self.confirm = confirm
        self.checkOnly = checkOnly
        self.addMissing = addMissing
    }
}

public struct TablesReport: Codable, Sendable, Equatable {
    public var table: String
    public var region: String
    /// created | matches | differs | recreated
    public var outcome: String
    public var differences: [String]
    public var billingMode: String?
    public var indexes: [String]
    public var backupId: String?
    public var seconds: Double

    public init(
        table: String, region: String, outcome: String, differences: [String], billingMode: String?,
        indexes: [String], backupId: String?, seconds: Double
    ) {
        self.table = table
        self.region = region
        self.outcome = outcome
        self.differences = differences
        self.billingMode = billingMode
        self.indexes = indexes
        self.backupId = backupId
        self.seconds = seconds
    }
}

/// `POST /v1/migrations/scenarios`: MongoDB (mongodump or mongoexport output) into DynamoDB.
public struct StartScenarioMigrationRequest: Codable, Sendable, Equatable {
    /// An absolute path on the agent's host.
    public var from: String
    public var environment: String?
    public var dryRun: Bool
    public var backup: Bool
    public var batchSize: Int?
    public var workers: Int?
    public var skipBad: Bool
    public var jsonArray: Bool
    /// Ignore a checkpoint from an earlier run and start from the first document.
    public var restart: Bool

    public init(
        from: String, environment: String? = nil, dryRun: Bool = false, backup: Bool = false, batchSize: Int? = nil,
        workers: Int? = nil, skipBad: Bool = false, jsonArray: Bool = false, restart: Bool = false
    ) {
        self.from = from
        self.environment = environment
        self.dryRun = dryRun
        self.backup = backup
        self.batchSize = batchSize
        self.workers = workers
        self.skipBad = skipBad
        self.jsonArray = jsonArray
        self.restart = restart
    }
}

public struct MigrationSkip: Codable, Sendable, Equatable {
    public var position: String
    public var reason: String
    public init(position: String, reason: String) {
        self.position = position
        self.reason = reason
    }
}

public struct ScenarioMigrationReport: Codable, Sendable, Equatable {
    /// dry-run | write
    public var mode: String
    public var source: String
    public var format: String
    public var sourceSHA256: String?
    public var table: String
    public var documents: Int64
    /// Items written by this run (a resumed run does not count what the earlier one wrote).
    public var written: Int64
    public var rejected: Int64
    public var rejectReasons: [String: Int64]
    /// Where rejected documents are, with their reasons and bytes (nil when none were rejected).
    public var rejectFile: String?
    public var skippedBad: [MigrationSkip]
    public var derivedKeys: Int64
    public var resumedAt: Int64?
    /// Why an earlier run's checkpoint was not used and the run started over (the table was recreated,
    /// the file changed).
    public var startedOver: String?
    public var backupId: String?
    public var unprocessedRetried: Int64
    public var errorsRetried: Int64
    public var seconds: Double
    public var documentsPerSecond: Double

    public init(
        mode: String, source: String, format: String, sourceSHA256: String?, table: String, documents: Int64,
        written: Int64, rejected: Int64, rejectReasons: [String: Int64], rejectFile: String?,
        skippedBad: [MigrationSkip], derivedKeys: Int64, resumedAt: Int64?, backupId: String?,
        unprocessedRetried: Int64, errorsRetried: Int64, seconds: Double, documentsPerSecond: Double
    ) {
        self.mode = mode
        self.source = source
        self.format = format
        self.sourceSHA256 = sourceSHA256
        self.table = table
        self.documents = documents
        self.written = written
        self.rejected = rejected
        self.rejectReasons = rejectReasons
        self.rejectFile = rejectFile
        self.skippedBad = skippedBad
        self.derivedKeys = derivedKeys
        self.resumedAt = resumedAt
        self.backupId = backupId
        self.unprocessedRetried = unprocessedRetried
        self.errorsRetried = errorsRetried
        self.seconds = seconds
        self.documentsPerSecond = documentsPerSecond
    }
}

/// `POST /v1/migrations/verify`: every source document's item compared with the table's, by key.
public struct StartVerifyRequest: Codable, Sendable, Equatable {
    public var from: String
    public var environment: String?
    public var skipBad: Bool
    public var jsonArray: Bool
    public init(from: String, environment: String? = nil, skipBad: Bool = false, jsonArray: Bool = false) {
        self.from = from
        self.environment = environment
        self.skipBad = skipBad
        self.jsonArray = jsonArray
    }
}

public struct VerifyDifference: Codable, Sendable, Equatable {
    public var scenarioId: String
    /// missing | extra | differs
    public var kind: String
    public var detail: String?
    public init(scenarioId: String, kind: String, detail: String?) {
        self.scenarioId = scenarioId
        self.kind = kind
        self.detail = detail
    }
}

public struct VerifyReport: Codable, Sendable, Equatable {
    public var source: String
    public var table: String
    public var documents: Int64
    /// Source documents that cannot be items (they would be in a migration's reject file).
    public var rejected: Int64
    public var matching: Int64
    public var missing: Int64
    public var extra: Int64
    public var differing: Int64
    /// The first differences (at most 100 of each kind).
    public var examples: [VerifyDifference]
    public var tableItems: Int64
    public var seconds: Double
    public var ok: Bool { missing == 0 && extra == 0 && differing == 0 }

    public init(
        source: String, table: String, documents: Int64, rejected: Int64, matching: Int64, missing: Int64,
        extra: Int64, differing: Int64, examples: [VerifyDifference], tableItems: Int64, seconds: Double
    ) {
        self.source = source
        self.table = table
        self.documents = documents
        self.rejected = rejected
        self.matching = matching
        self.missing = missing
        self.extra = extra
        self.differing = differing
        self.examples = examples
        self.tableItems = tableItems
        self.seconds = seconds
    }
}

/// `POST /v1/migrations/postgres`: the local database into RDS (pg_dump, pg_restore, then verification).
public struct StartPostgresMigrationRequest: Codable, Sendable, Equatable {
    /// The target environment, for the record (the target itself is `migration.postgres_target`).
    public var to: String?
    public var dryRun: Bool
    /// Compare source and target only (no dump, no restore).
    public var verifyOnly: Bool
    public init(to: String? = nil, dryRun: Bool = false, verifyOnly: Bool = false) {
        self.to = to
        self.dryRun = dryRun
        self.verifyOnly = verifyOnly
    }
}

public struct PostgresTableCheck: Codable, Sendable, Equatable {
    public var table: String
    public var sourceRows: Int64
    public var targetRows: Int64?
    public var sourceChecksum: String?
    public var targetChecksum: String?
    public var ok: Bool
    public init(
        table: String, sourceRows: Int64, targetRows: Int64?, sourceChecksum: String?, targetChecksum: String?,
        ok: Bool
    ) {
        self.table = table
        self.sourceRows = sourceRows
        self.targetRows = targetRows
        self.sourceChecksum = sourceChecksum
        self.targetChecksum = targetChecksum
        self.ok = ok
    }
}

public struct PostgresMigrationReport: Codable, Sendable, Equatable {
    public var mode: String
    public var source: String
    public var target: String
    public var targetSSLMode: String
    public var sourceVersion: String
    public var targetVersion: String
    public var tables: [PostgresTableCheck]
    /// Tables in the target that the source does not have.
    public var extraTables: [String]
    public var dumpBytes: Int64?
    public var seconds: Double
    public var ok: Bool { extraTables.isEmpty && tables.allSatisfy(\.ok) }

    public init(
        mode: String, source: String, target: String, targetSSLMode: String, sourceVersion: String,
        targetVersion: String, tables: [PostgresTableCheck], extraTables: [String], dumpBytes: Int64?, seconds: Double
    ) {
        self.mode = mode
        self.source = source
        self.target = target
        self.targetSSLMode = targetSSLMode
        self.sourceVersion = sourceVersion
        self.targetVersion = targetVersion
        self.tables = tables
        self.extraTables = extraTables
        self.dumpBytes = dumpBytes
        self.seconds = seconds
    }
}

/// `POST /v1/preflight`: the guide's pre-migration checklist, checked.
public struct PreflightRequest: Codable, Sendable, Equatable {
    public var environment: String?
    /// The newest verified backup of each kind must be at most this old (seconds; 26 h by default).
    public var maxBackupAge: Double?
    public init(environment: String? = nil, maxBackupAge: Double? = nil) {
        self.environment = environment
        self.maxBackupAge = maxBackupAge
    }
}

public struct PreflightItem: Codable, Sendable, Equatable {
    public var check: String
    /// PASS, FAIL or SKIP (not configured, and not required in this environment).
    public var result: String
    public var detail: String
    public var hint: String?
    public init(check: String, result: String, detail: String, hint: String? = nil) {
        self.check = check
        self.result = result
        self.detail = detail
        self.hint = hint
    }
}

public struct PreflightReport: Codable, Sendable, Equatable {
    public var environment: String
    public var items: [PreflightItem]
    public var ok: Bool { !items.contains { $0.result == "FAIL" } }
    public init(environment: String, items: [PreflightItem]) {
        self.environment = environment
        self.items = items
    }
}

/// `GET /v1/maintenance/windows`: each window, its jobs and its next occurrence.
public struct MaintenanceWindowInfo: Codable, Sendable, Equatable {
    public var name: String
    /// As configured (`sun:05:00-sun:06:00`, or cron with its length).
    public var when: String
    public var jobs: [String]
    public var silenceAlarms: [String]
    /// The occurrence open now, or the next one.
    public var start: Date
    public var end: Date
    public var openNow: Bool
    /// agent (the agent opens it) or timer (a systemd timer runs `whatifctl maintenance run`).
    public var trigger: String?
    public var lastRun: WindowLastRun?

    public init(
        name: String, when: String, jobs: [String], silenceAlarms: [String], start: Date, end: Date, openNow: Bool,
        trigger: String? = nil, lastRun: WindowLastRun? = nil
    ) {
        self.trigger = trigger
        self.lastRun = lastRun
        self.name = name
        self.when = when
        self.jobs = jobs
        self.silenceAlarms = silenceAlarms
        self.start = start
        self.end = end
        self.openNow = openNow
    }
}

public struct MaintenanceWindowList: Codable, Sendable, Equatable {
    /// run | report: what happens on start to a window missed while the agent was down.
    public var catchUp: String
    public var windows: [MaintenanceWindowInfo]
    public init(catchUp: String, windows: [MaintenanceWindowInfo]) {
        self.catchUp = catchUp
        self.windows = windows
    }
}
