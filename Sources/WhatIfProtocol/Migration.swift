#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

extension JobSpecs {
    /// `tables.setup`: the scenarios table created or compared with its expected schema.
    public enum TablesSetup: JobSpec {
        public static let endpoint = Endpoint.setupTables
        public typealias Params = TablesSetupRequest
        public typealias Result = TablesReport
        public static let name = "tables.setup"
        public static let summary = "create the scenarios table (or compare it with the expected schema)"
        public static let example = #"{"environment": "test", "force": false, "confirm": false}"#
    }
}

/// `POST /v1/tables`: create the scenarios table or compare it with the expected schema.
public struct TablesSetupRequest: Codable, Sendable, Equatable {
    /// development | test | production; the agent's own when nil.
    public var environment: String?
    /// The AWS region; the agent's own when nil.
    public var region: String?
    /// Recreate a table whose schema differs (after a backup), only with `confirm`.
    public var force: Bool = false
    /// Says yes to `force` (a recreate deletes the table's items once they are backed up).
    public var confirm: Bool = false
    /// Compare only: a missing table is reported, not created (the maintenance window's schema check).
    public var checkOnly: Bool?
    /// Add the expected indexes the table lacks (UpdateTable, one at a time, each waited for until
    /// ACTIVE); the table and its items stay.
    public var addMissing: Bool?

    // memberwise-init: public
    // decodable: defaults
}

/// What `tables.setup` did.
public struct TablesReport: Codable, Sendable, Equatable {
    /// The table's name.
    public var table: String
    /// Its region.
    public var region: String
    /// created | matches | differs | recreated
    public var outcome: String
    /// How the table differs from the expected schema, one line each.
    public var differences: [String]
    /// `PAY_PER_REQUEST` or `PROVISIONED`.
    public var billingMode: String?
    /// The table's global secondary indexes.
    public var indexes: [String]
    /// The backup taken before a recreate.
    public var backupId: String?
    /// How long it took.
    public var seconds: Double

    // memberwise-init: package
}

extension JobSpecs {
    /// `migrate.scenarios`: a MongoDB dump into the scenarios table.
    public enum MigrateScenarios: JobSpec {
        public static let endpoint = Endpoint.migrateScenarios
        public typealias Params = StartScenarioMigrationRequest
        public typealias Result = ScenarioMigrationReport
        public static let name = "migrate.scenarios"
        public static let summary = "migrate MongoDB scenarios (mongodump or mongoexport output) into DynamoDB"
        public static let example = #"{"from": "/path/to/scenarios.bson", "environment": "test"}"#
    }
}

/// `POST /v1/migrations/scenarios`: MongoDB (mongodump or mongoexport output) into DynamoDB.
public struct StartScenarioMigrationRequest: Codable, Sendable, Equatable {
    /// An absolute path on the agent's host.
    public var from: String
    /// The target environment (its table); the agent's own when nil.
    public var environment: String?
    /// Read, transform and count only: nothing is written.
    public var dryRun: Bool = false
    /// Back the table up first.
    public var backup: Bool = false
    /// Items per BatchWriteItem (at most 25).
    public var batchSize: Int?
    /// Parallel writers.
    public var workers: Int?
    /// Skip malformed BSON or JSON (each skip is reported) instead of stopping at the first.
    public var skipBad: Bool = false
    /// The file is one JSON array (mongoexport --jsonArray) rather than one document per line.
    public var jsonArray: Bool = false
    /// Ignore a checkpoint from an earlier run and start from the first document.
    public var restart: Bool = false
    /// Write capacity units per second the writes may use at most (one per started KiB of each item);
    /// nil: no budget (throttling alone sets the pace).
    public var wcuBudget: Double?
    /// Apply the dump as a delta against what the previous finished run wrote to the table (its record
    /// under the state directory): new and changed documents are written, items of documents gone from
    /// the dump deleted, unchanged ones left alone.
    public var sync: Bool = false

    // memberwise-init: public
    // decodable: defaults
}

/// What a `sync` found against the record of the previous run, key by key. `added`, `changed` and
/// `unchanged` classify every document of the dump (a resumed run counts the whole dump; `written` says
/// what this run wrote); `deleted` is what DynamoDB acknowledged (in a dry run: what would be deleted).
public struct MigrationSyncSummary: Codable, Sendable, Equatable {
    /// The dump the record was written from.
    public var baselineSource: String
    /// When the run that wrote the record finished (UTC).
    public var baselineRecorded: String
    /// Documents whose key the record does not have: written.
    public var added: Int64
    /// Documents whose item differs from the recorded one: written.
    public var changed: Int64
    /// Documents whose item is byte for byte the recorded one: not written.
    public var unchanged: Int64
    /// Items of recorded keys the dump no longer has: deleted.
    public var deleted: Int64
    /// Such items kept because documents were rejected or skipped (a rejected document's key is not
    /// known, so its item cannot be told from a deleted one's); they stay in the record for the next sync.
    public var deletesHeld: Int64

    // memberwise-init: package
}

/// A malformed stretch of the dump that was skipped.
public struct MigrationSkip: Codable, Sendable, Equatable {
    /// Where, as `byte N` or `line N`.
    public var position: String
    /// Why it could not be read.
    public var reason: String
    // memberwise-init: package
}

/// The result of a `migrate.scenarios` job.
public struct ScenarioMigrationReport: Codable, Sendable, Equatable {
    /// dry-run | write
    public var mode: String
    /// The dump it read.
    public var source: String
    /// `bson` (mongodump), `json-lines` or `json-array` (mongoexport), as detected.
    public var format: String
    /// SHA-256 of the dump, binding a checkpoint to the file.
    public var sourceSHA256: String?
    /// The table written to.
    public var table: String
    /// Documents read.
    public var documents: Int64
    /// Items written by this run (a resumed run does not count what the earlier one wrote).
    public var written: Int64
    /// Documents that cannot be items (the reasons by count in `rejectReasons`).
    public var rejected: Int64
    /// Rejected documents by reason.
    public var rejectReasons: [String: Int64]
    /// Where rejected documents are, with their reasons and bytes (nil when none were rejected).
    public var rejectFile: String?
    /// Malformed stretches skipped (`skipBad`), at most 1,000 listed.
    public var skippedBad: [MigrationSkip]
    /// Items whose scenarioId was derived from `_id`.
    public var derivedKeys: Int64
    /// The document a resumed run started at.
    public var resumedAt: Int64?
    /// Why an earlier run's checkpoint was not used and the run started over (the table was recreated,
    /// the file changed).
    public var startedOver: String?
    /// The backup taken first (`backup`).
    public var backupId: String?
    /// Items DynamoDB returned as UnprocessedItems and were written again.
    public var unprocessedRetried: Int64
    /// Batches retried after a throttle or a server error.
    public var errorsRetried: Int64
    /// The most BatchWriteItem requests in flight at once (they start at `workers`, are halved when
    /// DynamoDB throttles, and grow back one at a time).
    public var peakConcurrency: Int?
    /// Times throttling or unprocessed items halved the requests in flight.
    public var concurrencyCuts: Int?
    /// Seconds writes waited for the write-capacity budget.
    public var waitedForBudget: Double?
    /// A sync's delta (nil for a full migration).
    public var sync: MigrationSyncSummary?
    /// Where the record of what this run wrote was put, for the next `sync` (nil for a dry run or a run
    /// that did not finish).
    public var recorded: String?
    /// How long it ran.
    public var seconds: Double
    /// Documents per second over the run.
    public var documentsPerSecond: Double

    // memberwise-init: package
}

extension JobSpecs {
    /// `migrate.verify`: a MongoDB dump compared with the scenarios table.
    public enum MigrateVerify: JobSpec {
        public static let endpoint = Endpoint.migrateVerify
        public typealias Params = StartVerifyRequest
        public typealias Result = VerifyReport
        public static let name = "migrate.verify"
        public static let summary = "compare a MongoDB dump with the scenarios table, item by item"
        public static let example = #"{"from": "/path/to/scenarios.bson"}"#
    }
}

/// `POST /v1/migrations/verify`: every source document's item compared with the table's, by key.
public struct StartVerifyRequest: Codable, Sendable, Equatable {
    /// An absolute path on the agent's host.
    public var from: String
    /// The environment whose table is compared; the agent's own when nil.
    public var environment: String?
    /// As in `StartScenarioMigrationRequest`.
    public var skipBad: Bool = false
    /// As in `StartScenarioMigrationRequest`.
    public var jsonArray: Bool = false
    // memberwise-init: public
    // decodable: defaults
}

/// One difference between the dump and the table.
public struct VerifyDifference: Codable, Sendable, Equatable {
    /// How an item and its document differ.
    public enum Kind: String, Codable, Sendable {
        /// A document without an item.
        case missing
        /// An item without a document.
        case extra
        /// An item unlike its document (`detail` says where).
        case differs
    }

    /// The item's key.
    public var scenarioId: String
    /// `missing`, `extra` or `differs`.
    public var kind: Kind
    /// What differs, for `differs`.
    public var detail: String?
    // memberwise-init: package
}

/// The result of a `migrate.verify` job.
public struct VerifyReport: Codable, Sendable, Equatable {
    /// The dump compared.
    public var source: String
    /// The table compared.
    public var table: String
    /// Documents read.
    public var documents: Int64
    /// Source documents that cannot be items (they would be in a migration's reject file).
    public var rejected: Int64
    /// Items equal to their document.
    public var matching: Int64
    /// Documents without an item.
    public var missing: Int64
    /// Items without a document.
    public var extra: Int64
    /// Items that differ from their document.
    public var differing: Int64
    /// The first differences (at most 100 of each kind).
    public var examples: [VerifyDifference]
    /// Items in the table.
    public var tableItems: Int64
    /// How long it ran.
    public var seconds: Double
    /// True when the table holds exactly the dump.
    public var ok: Bool { missing == 0 && extra == 0 && differing == 0 }

    // memberwise-init: package
}

extension JobSpecs {
    /// `migrate.postgres`: the PostgreSQL database into RDS.
    public enum MigratePostgres: JobSpec {
        public static let endpoint = Endpoint.migratePostgres
        public typealias Params = StartPostgresMigrationRequest
        public typealias Result = PostgresMigrationReport
        public static let name = "migrate.postgres"
        public static let summary = "copy the PostgreSQL database into RDS (pg_dump, pg_restore, verification)"
        public static let example = #"{"to": "test", "dryRun": true}"#
    }
}

/// `POST /v1/migrations/postgres`: the local database into RDS (pg_dump, pg_restore, then verification).
public struct StartPostgresMigrationRequest: Codable, Sendable, Equatable {
    /// The target environment, for the record (the target itself is `migration.postgres_target`).
    public var to: String?
    /// Check both sides and the tools only: no dump, no restore.
    public var dryRun: Bool = false
    /// Compare source and target only (no dump, no restore).
    public var verifyOnly: Bool = false
    // memberwise-init: public
    // decodable: defaults
}

/// One table of the PostgreSQL migration, compared on both sides.
public struct PostgresTableCheck: Codable, Sendable, Equatable {
    /// `schema.table`.
    public var table: String
    /// Exact row count in the source.
    public var sourceRows: Int64
    /// Exact row count in the target.
    public var targetRows: Int64?
    /// md5 over the sorted md5s of each source row's text.
    public var sourceChecksum: String?
    /// The same over the target.
    public var targetChecksum: String?
    /// True when the counts and the checksums match.
    public var ok: Bool
    // memberwise-init: package
}

/// The result of a `migrate.postgres` job.
public struct PostgresMigrationReport: Codable, Sendable, Equatable {
    /// `dry-run`, `write` or `verify` (verify only).
    public var mode: String
    /// The source, `host:port/database` (no secret).
    public var source: String
    /// The target, `host:port/database` (no secret).
    public var target: String
    /// The sslmode used for the target.
    public var targetSSLMode: String
    /// The source's `server_version`.
    public var sourceVersion: String
    /// The target's `server_version`.
    public var targetVersion: String
    /// Every source table, compared.
    public var tables: [PostgresTableCheck]
    /// Tables in the target that the source does not have.
    public var extraTables: [String]
    /// Size of the dump, when one was taken.
    public var dumpBytes: Int64?
    /// How long it ran.
    public var seconds: Double
    /// True when every table matched and the target has none extra.
    public var ok: Bool { extraTables.isEmpty && tables.allSatisfy(\.ok) }

    // memberwise-init: package
}

extension JobSpecs {
    /// `preflight`: the pre-migration checklist.
    public enum Preflight: JobSpec {
        public static let endpoint = Endpoint.preflight
        public typealias Params = PreflightRequest
        public typealias Result = PreflightReport
        public static let name = "preflight"
        public static let summary = "check the pre-migration checklist (PASS/FAIL per item)"
        public static let example = #"{"environment": "test"}"#
    }
}

/// `POST /v1/preflight`: the guide's pre-migration checklist, checked.
public struct PreflightRequest: Codable, Sendable, Equatable {
    /// The environment checked; the agent's own when nil.
    public var environment: String?
    /// The newest verified backup of each kind must be at most this old (seconds; 26 h by default).
    public var maxBackupAge: Double?
    // memberwise-init: public
}

/// One check of the checklist.
public struct PreflightItem: Codable, Sendable, Equatable {
    /// What was checked, in a few words.
    public var check: String
    /// PASS, FAIL or SKIP (not configured, and not required in this environment).
    public var result: String
    /// What was found.
    public var detail: String
    /// How to fix a FAIL, when the agent knows.
    public var hint: String?
    // memberwise-init: package
}

/// The result of a `preflight` job.
public struct PreflightReport: Codable, Sendable, Equatable {
    /// The environment checked.
    public var environment: String
    /// Every check, in the checklist's order.
    public var items: [PreflightItem]
    /// True when no check failed.
    public var ok: Bool { !items.contains { $0.result == "FAIL" } }
    // memberwise-init: package
}

/// `GET /v1/maintenance/windows`: each window, its jobs and its next occurrence.
public struct MaintenanceWindowInfo: Codable, Sendable, Equatable {
    /// The window's name.
    public var name: String
    /// As configured (`sun:05:00-sun:06:00`, or cron with its length).
    public var when: String
    /// The jobs it runs, in order.
    public var jobs: [String]
    /// Alarms whose notifications it holds back while open.
    public var silenceAlarms: [String]
    /// The occurrence open now, or the next one.
    public var start: Date
    /// That occurrence's end.
    public var end: Date
    /// True when an occurrence is open now.
    public var openNow: Bool
    /// agent (the agent opens it) or timer (a systemd timer runs `whatifctl maintenance run`).
    public var trigger: String?
    /// Its last run on this agent.
    public var lastRun: WindowLastRun?

    // memberwise-init: package
}

/// `GET /v1/maintenance/windows`.
public struct MaintenanceWindowList: Codable, Sendable, Equatable {
    /// run | report: what happens on start to a window missed while the agent was down.
    public var catchUp: String
    /// Every configured window.
    public var windows: [MaintenanceWindowInfo]
    // memberwise-init: package
}
