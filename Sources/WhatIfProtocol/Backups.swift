#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// What a backup holds.
public enum BackupKind: String, Codable, Sendable, CaseIterable, Comparable {
    case postgres, dynamodb
    /// A Redis RDB (BGSAVE of a local or self-managed server).
    case redis
    /// An RDS DB snapshot (CreateDBSnapshot of `rds.instance_id`), kept by RDS.
    case rdsSnapshot = "rds-snapshot"
    /// A DynamoDB on-demand backup (CreateBackup of the configured table), kept by DynamoDB.
    case dynamodbBackup = "dynamodb-backup"
    /// An ElastiCache snapshot (CreateSnapshot of `elasticache.replication_group_id`), kept by ElastiCache.
    case elasticacheSnapshot = "elasticache-snapshot"

    /// True for the kinds whose data AWS keeps (the catalog holds only their manifest).
    public var isHeldByAWS: Bool { [.rdsSnapshot, .dynamodbBackup, .elasticacheSnapshot].contains(self) }

    /// The kind a backup id names (`<kind>-<yyyymmdd>T<hhmmss>Z-<hex>`), nil when it names none.
    public static func named(byID id: String) -> BackupKind? {
        allCases.filter { id.hasPrefix($0.rawValue + "-") }.max { $0.rawValue.count < $1.rawValue.count }
    }

    /// Orders kinds by name.
    public static func < (a: BackupKind, b: BackupKind) -> Bool { a.rawValue < b.rawValue }
}

/// A snapshot or on-demand backup that AWS keeps, as the service last described it.
public struct SnapshotRecord: Codable, Sendable, Equatable {
    /// `rds`, `dynamodb` or `elasticache`.
    public var service: String
    /// What names it: the DBSnapshotIdentifier, the BackupArn, the SnapshotName.
    public var identifier: String
    /// Its ARN, when the service reported one.
    public var arn: String?
    /// The instance, table or replication group it was taken of.
    public var source: String
    /// The region it lives in.
    public var region: String?
    /// The service's status when the agent last read it (`available` once complete).
    public var status: String
    /// Its size as the service reports it (DynamoDB's BackupSizeBytes; RDS and ElastiCache report none).
    public var bytes: Int64?
    /// When the service says it was taken.
    public var createdAt: Date?
    /// Whether it is encrypted at rest, when the service says.
    public var encrypted: Bool?
    /// The KMS key that encrypts it, when the service says.
    public var kmsKeyId: String?

    // memberwise-init: package
}

/// One file of a backup, as the manifest records it.
public struct BackupFile: Codable, Sendable, Equatable {
    /// Relative to the backup's folder (or S3 prefix), `/`-separated.
    public var path: String
    /// Its size.
    public var bytes: Int64
    /// Lowercase hex.
    public var sha256: String

    // memberwise-init: package
}

/// How a backup's files are encrypted by the agent: AES-256-GCM in chunks (each file `WHATIFE1`, chunk
/// size, nonce prefix, then sealed chunks) under a per-backup data key, which is kept here wrapped by a
/// KMS key or by a local key file. The manifest's file sizes and SHA-256 are of the plaintext.
public struct ClientEncryption: Codable, Sendable, Equatable {
    /// `AES-256-GCM`.
    public var algorithm: String = "AES-256-GCM"
    /// Plaintext bytes per chunk.
    public var chunkBytes: Int
    /// The KMS key that wrapped the data key (its ARN, as KMS answered), for KMS-wrapped keys.
    public var kmsKeyId: String?
    /// The key file that wrapped the data key, as configured when the backup was taken.
    public var keyFile: String?
    /// SHA-256 (hex, first 16 characters) of the key file's key: which key opens the data key.
    public var keyFingerprint: String?
    /// The wrapped data key, base64: KMS's CiphertextBlob, or nonce and AES-256-GCM sealed key for a key file.
    public var wrappedKey: String

    // memberwise-init: package

    /// The key that opens it, for messages: `KMS key ARN` or `key file PATH (fingerprint F)`.
    public var keyDescription: String {
        if let k = kmsKeyId { return "KMS key \(k)" }
        return "key file \(keyFile ?? "?") (fingerprint \(keyFingerprint ?? "?"))"
    }
}

/// Server-side encryption of stored objects, as S3 names it.
public struct StoredEncryption: Codable, Sendable, Equatable {
    /// `AES256` (SSE-S3) or `aws:kms` (SSE-KMS).
    public var algorithm: String
    /// The KMS key (id, ARN or alias) for `aws:kms`; nil: the account's `aws/s3` key.
    public var kmsKeyId: String?

    // memberwise-init: package
}

/// The manifest of one backup (`manifest.json` in its folder), written last: a backup is complete only
/// when its manifest exists and says `complete`.
public struct BackupManifest: Codable, Sendable, Equatable {
    /// The `formatVersion` this agent writes.
    public static let currentFormat = 1

    /// The manifest's format (`currentFormat` when written by this agent).
    public var formatVersion: Int
    /// `<kind>-<yyyymmdd>T<hhmmss>Z-<4 hex>`: unique, sorts by time within a kind, safe as a file name.
    public var id: String
    /// What the backup holds.
    public var kind: BackupKind
    /// `complete` is the only status a manifest is ever written with.
    public var status: String
    /// The environment whose data it holds.
    public var environment: String
    /// The agent version that wrote it.
    public var agentVersion: String
    /// The host whose agent wrote it.
    public var host: String?
    /// When the backup began (for PostgreSQL, about when its snapshot was taken).
    public var startedAt: Date
    /// When its last file was written.
    public var endedAt: Date
    /// `custom` or `directory` (pg_dump), `dynamodb-export` (AWS's export layout).
    public var format: String
    /// `pg_dump`, `scan` (the agent's parallel scan) or `export` (ExportTableToPointInTime).
    public var method: String
    /// What was backed up.
    public var source: Source
    /// The tool that wrote the data, when one did (`pg_dump`).
    public var tool: Tool?
    /// The source server's version.
    public var serverVersion: String?
    /// Every data file, with its size and checksum.
    public var files: [BackupFile]
    /// The files' sizes, summed.
    public var totalBytes: Int64
    /// DynamoDB: items in the export.
    public var items: Int64?
    /// PostgreSQL: exact row counts per table (schema.table), taken in the dump's snapshot.
    public var tables: [String: Int64]?
    /// PostgreSQL: TOC entries `pg_restore --list` printed.
    public var tocEntries: Int?
    /// DynamoDB: the table's schema, to recreate it on restore.
    public var tableSchema: TableSchema?
    /// DynamoDB: the export's id and where its AWS manifests are, relative to the backup's folder.
    public var export: ExportInfo?
    /// Client-side encryption of every file (`backups.encryption`): the data key, wrapped. Nil when the
    /// files are stored as written.
    public var encryption: ClientEncryption?

    /// The snapshot AWS keeps, for the kinds it holds (`rds-snapshot`, `dynamodb-backup`,
    /// `elasticache-snapshot`): these backups have no files of their own.
    public var snapshot: SnapshotRecord?

    /// How every object of the backup's S3 copy is encrypted at rest, when S3 is configured: asked for on
    /// each upload and checked against S3's answer (an object reported otherwise fails the copy), and
    /// checked again by verify. Objects a DynamoDB export wrote are covered by `export.encryption`.
    public var s3Encryption: StoredEncryption?

    /// SHA-256 (hex) of the manifest file itself, computed with this value written as 64 zeros. Verify
    /// and restore check it, so an edited row count or file hash is found. Absent in manifests written
    /// before it existed.
    public var manifestSHA256: String?

    /// What a backup was taken from (never a secret).
    public struct Source: Codable, Sendable, Equatable {
        /// PostgreSQL: the server's host.
        public var host: String?
        /// PostgreSQL: the server's port.
        public var port: Int?
        /// PostgreSQL: the database.
        public var database: String?
        /// PostgreSQL: the user that dumped it.
        public var user: String?
        /// DynamoDB: the table.
        public var table: String?
        /// DynamoDB: the table's ARN.
        public var tableArn: String?
        /// DynamoDB: the endpoint, when not AWS's own.
        public var endpoint: String?
        /// DynamoDB, RDS, ElastiCache: the region.
        public var region: String?
        /// Snapshots: the RDS instance or ElastiCache replication group.
        public var resource: String?
        /// PostgreSQL: the read replica it was dumped from (`host` and `port` are the replica's).
        public var replica: String?

        // memberwise-init: package

        /// `database app on host:5432`, `table scenarios in us-east-1`.
        public var text: String {
            let place = endpoint.map { " at \($0)" } ?? region.map { " in \($0)" } ?? ""
            if let table { return "table \(table)" + place }
            if let resource { return resource + place }
            if database == nil, let host { return "\(host)" + (port.map { ":\($0)" } ?? "") }
            return "database \(database ?? "?") on \(host ?? "?"):\(port ?? 5432)"
                + (replica.map { " (replica \($0))" } ?? "")
        }
    }

    /// A tool that wrote a backup's data.
    public struct Tool: Codable, Sendable, Equatable {
        /// Its name (`pg_dump`).
        public var name: String
        /// Its version, as it reports it.
        public var version: String
        // memberwise-init: package
    }

    /// Where a DynamoDB export's own files are.
    public struct ExportInfo: Codable, Sendable, Equatable {
        /// AWS's export id.
        public var exportId: String
        /// AWS's export ARN.
        public var exportArn: String?
        /// `AWSDynamoDB/<exportId>`.
        public var path: String
        /// The export's server-side encryption as DynamoDB reported it (`S3SseAlgorithm`, `S3SseKmsKeyId`);
        /// nil when it reported none.
        public var encryption: StoredEncryption?
        /// `FULL_EXPORT` or `INCREMENTAL_EXPORT` (nil in manifests written before it was recorded, and for
        /// the agent's own scan: a full export).
        public var exportType: String?
        /// A full export: the point in time its data is of (ExportTime).
        public var exportTime: Date?
        /// An incremental export: the changes from `fromTime` (inclusive) to `toTime` (exclusive).
        public var fromTime: Date?
        /// An incremental export: the end of its window (where the next one starts).
        public var toTime: Date?
        /// An incremental export: `NEW_AND_OLD_IMAGES` or `NEW_IMAGE`.
        public var viewType: String?
        /// An incremental export: the backup whose window it continues (a full export or an incremental).
        public var previous: String?
        /// An incremental export: the full export its chain starts from.
        public var base: String?

        // memberwise-init: package

        /// True for an incremental export (its data are changes, restorable only after its chain).
        public var isIncremental: Bool { exportType == "INCREMENTAL_EXPORT" }
        /// The point in time the chain reaches with this export: `toTime`, or a full export's `exportTime`.
        public var end: Date? { isIncremental ? toTime : exportTime }
    }

    package init(
        id: String, kind: BackupKind, environment: String, agentVersion: String, host: String?, startedAt: Date,
        endedAt: Date, format: String, method: String, source: Source, tool: Tool?, serverVersion: String?,
        files: [BackupFile], items: Int64? = nil, tables: [String: Int64]? = nil, tocEntries: Int? = nil,
        tableSchema: TableSchema? = nil, export: ExportInfo? = nil
    ) {
        formatVersion = Self.currentFormat
        self.id = id
        self.kind = kind
        status = "complete"
        self.environment = environment
        self.agentVersion = agentVersion
        self.host = host
        self.startedAt = startedAt
        self.endedAt = endedAt
        self.format = format
        self.method = method
        self.source = source
        self.tool = tool
        self.serverVersion = serverVersion
        self.files = files
        totalBytes = files.reduce(0) { $0 + $1.bytes }
        self.items = items
        self.tables = tables
        self.tocEntries = tocEntries
        self.tableSchema = tableSchema
        self.export = export
    }

    /// PostgreSQL: rows in every table, summed.
    public var rows: Int64? { tables.map { $0.values.reduce(0, +) } }
}

/// A DynamoDB table's schema as CreateTable takes it (AWS's names, so it reads like the console's JSON).
public struct TableSchema: Codable, Sendable, Equatable {
    /// One element of a key schema.
    public struct Key: Codable, Sendable, Equatable {
        /// The attribute.
        public var attributeName: String
        /// `HASH` or `RANGE`.
        public var keyType: String
        // memberwise-init: package
        // coding-keys: PascalCase
    }

    /// One attribute definition.
    public struct Attribute: Codable, Sendable, Equatable {
        /// The attribute.
        public var attributeName: String
        /// `S`, `N` or `B`.
        public var attributeType: String
        // memberwise-init: package
        // coding-keys: PascalCase
    }

    /// Provisioned read and write capacity.
    public struct Throughput: Codable, Sendable, Equatable {
        /// Read capacity units.
        public var readCapacityUnits: Int64
        /// Write capacity units.
        public var writeCapacityUnits: Int64
        // memberwise-init: package
        // coding-keys: PascalCase
    }

    /// A secondary index.
    public struct Index: Codable, Sendable, Equatable {
        /// The index's name.
        public var indexName: String
        /// Its key schema.
        public var keySchema: [Key]
        /// `ALL`, `KEYS_ONLY` or `INCLUDE`.
        public var projectionType: String
        /// For `INCLUDE`: the attributes projected.
        public var nonKeyAttributes: [String]?
        /// Its capacity, for a provisioned table.
        public var provisionedThroughput: Throughput?
        // memberwise-init: package
        // coding-keys: PascalCase
    }

    /// The table's name.
    public var tableName: String
    /// Its key schema.
    public var keySchema: [Key]
    /// The key attributes' types.
    public var attributeDefinitions: [Attribute]
    /// PAY_PER_REQUEST or PROVISIONED.
    public var billingMode: String
    /// Its capacity, for a provisioned table.
    public var provisionedThroughput: Throughput?
    /// Its global secondary indexes.
    public var globalSecondaryIndexes: [Index]?
    /// Its local secondary indexes.
    public var localSecondaryIndexes: [Index]?

    // memberwise-init: package

    // coding-keys: PascalCase
}

/// Where a copy of a backup is.
public enum BackupLocation: String, Codable, Sendable, CaseIterable {
    case local, s3
}

/// The outcome of the latest verification of one copy.
public struct BackupVerification: Codable, Sendable, Equatable {
    /// When it ran.
    public var at: Date
    /// Which copy it checked.
    public var location: BackupLocation
    /// True when every file matched the manifest and the manifest its own checksum.
    public var ok: Bool
    /// What did not match.
    public var problems: [BackupProblem]
    /// How long it took.
    public var seconds: Double?

    // memberwise-init: package
}

/// One thing wrong with a backup, naming the file.
public struct BackupProblem: Codable, Sendable, Equatable, CustomStringConvertible {
    /// The file, relative to the backup's folder; nil for the backup as a whole.
    public var file: String?
    /// What is wrong.
    public var message: String

    // memberwise-init: package

    /// `file: message`, or the message alone.
    public var description: String { file.map { "\($0): \(message)" } ?? message }
}

/// A pin: the backup is kept whatever the retention policy says.
public struct BackupPin: Codable, Sendable, Equatable {
    /// When it was pinned.
    public var at: Date
    /// Who pinned it.
    public var by: String?
    /// Why, in the operator's words.
    public var note: String?
    // memberwise-init: package
}

/// One backup in the catalog, with its copies, pin and latest verification.
public struct BackupEntry: Codable, Sendable, Equatable {
    /// The backup's manifest.
    public var manifest: BackupManifest
    /// Where its copies are.
    public var locations: [BackupLocation]
    /// Its pin, when pinned.
    public var pin: BackupPin?
    /// Latest verification per copy.
    public var verifications: [BackupVerification]

    // memberwise-init: package

    /// The backup's id.
    public var id: String { manifest.id }
    /// What the backup holds.
    public var kind: BackupKind { manifest.kind }
    /// Every copy verified, and the latest verification of each passed.
    public var verified: Bool {
        !verifications.isEmpty && locations.allSatisfy { l in verifications.contains { $0.location == l && $0.ok } }
    }
    /// True when a copy's latest verification failed.
    public var failedVerification: Bool { verifications.contains { !$0.ok } }
}

/// `GET /v1/backups`: the catalog, newest first.
public struct BackupList: Codable, Sendable {
    /// The backups with a trusted manifest.
    public var backups: [BackupEntry]
    /// Copies that could not be listed (S3 unreachable, say): the list is then incomplete.
    public var warnings: [String] = []
    /// Backups whose manifest is unreadable, incomplete or fails its own checksum: not restorable, not
    /// counted by retention, moved aside (quarantined) by the next prune.
    public var damaged: [DamagedBackup] = []
    /// Backup folders without a manifest (a copy by hand, a damaged disk): never restorable, their data
    /// stays on disk until `backups prune --orphans`.
    public var orphans: [OrphanBackup] = []

    // memberwise-init: package
    // decodable: defaults
}

/// A backup whose manifest cannot be trusted.
public struct DamagedBackup: Codable, Sendable, Equatable {
    /// The backup's id (its folder's name).
    public var id: String
    /// Which copy.
    public var location: BackupLocation
    /// Where the manifest is (a path, or an s3:// URL).
    public var manifest: String
    /// Why the manifest is not trusted.
    public var reason: String
    /// What to do about it.
    public var hint: String
    /// Where the backup was moved aside to, once quarantined.
    public var quarantinedTo: String?

    // memberwise-init: package
}

/// A backup folder (or S3 prefix) without a manifest.
public struct OrphanBackup: Codable, Sendable, Equatable {
    /// The folder, or `s3://bucket/prefix`.
    public var path: String
    /// Which copy.
    public var location: BackupLocation
    /// The data it holds, in bytes.
    public var bytes: Int64
    /// The backup id its name carries.
    public var id: String?

    // memberwise-init: package
}

extension JobSpecs {
    /// `backup`: pg_dump and DynamoDB exports, each verified, then retention.
    public enum Backup: JobSpec {
        public static let endpoint = Endpoint.startBackup
        public typealias Params = StartBackupRequest
        public typealias Result = BackupRunResult
        public static let name = "backup"
        public static let summary = "back up PostgreSQL (pg_dump) and DynamoDB (export), verify, prune"
        public static let example = #"{"kinds": ["postgres", "dynamodb"]}"#
    }
}

/// `POST /v1/backups`.
public struct StartBackupRequest: Codable, Sendable {
    /// Empty or absent: every configured kind.
    public var kinds: [BackupKind] = []
    /// DynamoDB native exports: true asks for an incremental export continuing the newest export's
    /// window, false for a full export; nil lets `backups.dynamodb.incremental` decide.
    public var incremental: Bool?
    /// DynamoDB native exports: a full export of the table as it was at this time (inside its
    /// point-in-time recovery window) instead of now.
    public var exportTime: Date?

    // memberwise-init: public
    // decodable: defaults
}

/// `POST /v1/backups/{id}/pin`.
public struct PinRequest: Codable, Sendable {
    /// Why it is pinned.
    public var note: String?
    /// A pin with a note.
    public init(note: String?) { self.note = note }
}

extension JobSpecs {
    /// `backup.verify`: backups re-read and checked against their manifests.
    public enum BackupVerify: JobSpec {
        public static let endpoint = Endpoint.verifyBackups
        public typealias Params = VerifyRequest
        public typealias Result = VerifyOutcomes
        public static let name = "backup.verify"
        public static let summary = "re-read backups and check them against their manifests"
        public static let example = #"{"ids": []}"#
    }
}

/// `POST /v1/backups/verify`.
public struct VerifyRequest: Codable, Sendable {
    /// Empty or absent: every backup.
    public var ids: [String] = []

    // memberwise-init: public
    // decodable: defaults
}

/// What retention decided for one backup.
public struct PruneDecision: Codable, Sendable, Equatable {
    /// The backup.
    public var id: String
    /// Its kind.
    public var kind: BackupKind
    /// True when it stays.
    public var keep: Bool
    /// Why it is kept: `keep_last`, `daily`, `weekly`, `monthly`, `pinned`, `newest verified`, `in use`,
    /// `chain of ID` (an incremental export that is kept needs it).
    public var reasons: [String]
    // memberwise-init: package
}

extension JobSpecs {
    /// `backup.prune`: retention, with the catalog's damaged and orphaned folders named.
    public enum BackupPrune: JobSpec {
        public typealias Params = NoParams
        public typealias Result = PruneResult
        public static let name = "backup.prune"
        public static let summary = "delete backups the retention policy no longer keeps"
        public static let example = "{}"
    }
}

/// The answer to `POST /v1/backups/prune`.
public struct PruneResult: Codable, Sendable {
    /// True when nothing was deleted, only decided.
    public var dryRun: Bool
    /// One decision per backup.
    public var decisions: [PruneDecision]
    /// Backups deleted.
    public var deleted: [String]
    /// Backups that could not be deleted, and why.
    public var errors: [String]
    /// Damaged backups found (and, unless a dry run, moved aside); they do not stop the prune.
    public var quarantined: [DamagedBackup] = []
    /// Orphaned folders removed (`--orphans`), or that would be (dry run).
    public var orphansRemoved: [OrphanBackup] = []

    // memberwise-init: package
    // decodable: defaults
}

extension JobSpecs {
    /// `restore`: a backup into a PostgreSQL database or a DynamoDB table.
    public enum Restore: JobSpec {
        public static let endpoint = Endpoint.startRestore
        public typealias Params = RestoreRequest
        public typealias Result = RestoreResult
        public static let name = "restore"
        public static let summary = "restore a backup into a PostgreSQL database or a DynamoDB table"
        public static let example =
            #"{"kind": "postgres", "id": "...", "targetDatabase": "...", "create": true, "clean": false, "force": false}"#
    }
}

/// `POST /v1/restores`.
public struct RestoreRequest: Codable, Sendable {
    /// The kind of backup to restore.
    public var kind: BackupKind
    /// The backup's id.
    public var id: String
    /// PostgreSQL: the database to restore into.
    public var targetDatabase: String?
    /// DynamoDB: the table to restore into.
    public var targetTable: String?
    /// `rds-snapshot`: the new RDS instance (it must not exist).
    public var targetInstance: String?
    /// PostgreSQL: create the target database.
    public var create: Bool = false
    /// PostgreSQL: drop the target's objects first (pg_restore --clean --if-exists).
    public var clean: Bool = false
    /// Restore over the live database or table (a fresh backup is taken first).
    public var force: Bool = false
    /// Parallel workers (pg_restore -j, or BatchWriteItem workers).
    public var jobs: Int?
    /// Read the backup from this copy (default: local when present, else S3).
    public var from: BackupLocation?
    /// Keep a database or table the restore created when the restore fails its checks (it is dropped
    /// otherwise).
    public var keepOnFailure: Bool = false

    /// A restore of backup `id`; by default into a new target, checked, dropped if the checks fail.
    public init(
        kind: BackupKind, id: String, targetDatabase: String? = nil, targetTable: String? = nil, create: Bool = false,
        clean: Bool = false, force: Bool = false, jobs: Int? = nil, from: BackupLocation? = nil,
        keepOnFailure: Bool = false, targetInstance: String? = nil
    ) {
        self.targetInstance = targetInstance
        self.keepOnFailure = keepOnFailure
        self.kind = kind
        self.id = id
        self.targetDatabase = targetDatabase
        self.targetTable = targetTable
        self.create = create
        self.clean = clean
        self.force = force
        self.jobs = jobs
        self.from = from
    }

    // decodable: defaults
}

// MARK: Job results (the agent returns them, whatifctl and other clients decode them)

/// The outcome of one part of a `backup` job.
public struct BackupPartResult: Codable, Sendable, Equatable {
    /// The kind backed up.
    public var kind: BackupKind
    /// True when the backup was written and verified.
    public var ok: Bool
    /// The new backup's id.
    public var id: String?
    /// Why it failed.
    public var error: String?
    /// How to fix it, when the agent knows.
    public var hint: String?
    /// Bytes written.
    public var bytes: Int64?
    /// DynamoDB: items exported.
    public var items: Int64?
    /// PostgreSQL: rows dumped (exact counts in the dump's snapshot).
    public var rows: Int64?
    /// How long it took.
    public var seconds: Double
    /// Where its copies went.
    public var locations: [BackupLocation] = []
    /// True when every copy was read back and matched.
    public var verified: Bool?

    // memberwise-init: package
}

/// The result of a `backup` job.
public struct BackupRunResult: Codable, Sendable {
    /// One part per kind.
    public var parts: [BackupPartResult]
    /// Backups deleted by the retention run that followed.
    public var pruned: [String]
    /// Retention problems; a backup job with any is not ok.
    public var pruneErrors: [String]
    /// True when every part succeeded and retention had no problem.
    public var ok: Bool { parts.allSatisfy(\.ok) && pruneErrors.isEmpty }

    // memberwise-init: package
}

/// One backup's verification, every copy.
public struct VerifyOutcome: Codable, Sendable, Equatable {
    /// The backup's id.
    public var id: String
    /// Its kind.
    public var kind: BackupKind
    /// One verification per copy.
    public var verifications: [BackupVerification]
    /// True when there was a copy to check and every copy passed.
    public var ok: Bool { !verifications.isEmpty && verifications.allSatisfy(\.ok) }

    // memberwise-init: package
}

/// The result of a `backup.verify` job.
public struct VerifyOutcomes: Codable, Sendable {
    /// One outcome per backup.
    public var backups: [VerifyOutcome]
    package init(backups: [VerifyOutcome]) { self.backups = backups }
}

/// The result of a `restore` job.
public struct RestoreResult: Codable, Sendable {
    /// The kind restored.
    public var kind: BackupKind
    /// The backup restored.
    public var id: String
    /// What it was restored into (a database or table name).
    public var target: String
    /// The copy it was read from.
    public var from: BackupLocation
    /// How long it took.
    public var seconds: Double
    /// DynamoDB: items written; PostgreSQL: rows in the restored tables.
    public var items: Int64?
    /// PostgreSQL: rows in the restored tables.
    public var rows: Int64?
    /// PostgreSQL: tables whose row counts were checked against the manifest.
    public var tablesChecked: Int?
    /// The backup taken of the live database or table before restoring over it.
    public var safetyBackup: String?
    /// True when the restore created its target.
    public var created: Bool
    /// `rds-snapshot`: the restored instance's endpoint (host:port).
    public var endpoint: String?

    package init(
        kind: BackupKind, id: String, target: String, from: BackupLocation, seconds: Double, items: Int64?,
        rows: Int64?, tablesChecked: Int?, safetyBackup: String?, created: Bool
    ) {
        self.kind = kind
        self.id = id
        self.target = target
        self.from = from
        self.seconds = seconds
        self.items = items
        self.rows = rows
        self.tablesChecked = tablesChecked
        self.safetyBackup = safetyBackup
        self.created = created
    }
}

/// What a managed service restores to a point in time.
public enum PointInTimeService: String, Codable, Sendable, CaseIterable {
    /// The configured DynamoDB table (RestoreTableToPointInTime).
    case dynamodb
    /// The configured RDS instance (RestoreDBInstanceToPointInTime).
    case rds
}

extension JobSpecs {
    /// `restore.pitr`: a managed service's own point-in-time recovery into a new table or instance.
    public enum RestorePointInTime: JobSpec {
        public typealias Params = PointInTimeRestoreRequest
        public typealias Result = PointInTimeRestoreResult
        public static let name = "restore.pitr"
        public static let summary =
            "restore the DynamoDB table or the RDS instance as it was at a time, into a new table or instance"
        public static let example =
            #"{"service": "dynamodb", "toTime": "2026-12-01T02:00:00Z", "target": "scenarios-at-2am"}"#
    }
}

/// `restore.pitr`'s parameters.
public struct PointInTimeRestoreRequest: Codable, Sendable, Equatable {
    /// Which service restores its own data.
    public var service: PointInTimeService
    /// The time to restore to; nil: the latest restorable time. It must be inside the service's window.
    public var toTime: Date?
    /// The new table or instance; it must not exist.
    public var target: String

    // memberwise-init: package
}

/// `restore.pitr`'s result: what the service reported once the target was ready.
public struct PointInTimeRestoreResult: Codable, Sendable, Equatable {
    /// Which service restored.
    public var service: PointInTimeService
    /// The table or instance restored from.
    public var source: String
    /// The new table or instance.
    public var target: String
    /// The time asked for (nil: the latest restorable time).
    public var toTime: Date?
    /// The service's restorable window when the restore started.
    public var earliestRestorable: Date?
    /// The end of that window.
    public var latestRestorable: Date?
    /// The target's status as last described: ACTIVE (DynamoDB), available (RDS).
    public var status: String
    /// RDS: the new instance's endpoint (`host:port`).
    public var endpoint: String?
    /// DynamoDB: the target's ARN.
    public var arn: String?
    /// How long the restore took, waiting included.
    public var seconds: Double

    // memberwise-init: package
}
