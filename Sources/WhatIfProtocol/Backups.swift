#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// What a backup holds.
public enum BackupKind: String, Codable, Sendable, CaseIterable, Comparable {
    case postgres, dynamodb

    public static func < (a: BackupKind, b: BackupKind) -> Bool { a.rawValue < b.rawValue }
}

/// One file of a backup, as the manifest records it.
public struct BackupFile: Codable, Sendable, Equatable {
    /// Relative to the backup's folder (or S3 prefix), `/`-separated.
    public var path: String
    public var bytes: Int64
    /// Lowercase hex.
    public var sha256: String

    public init(path: String, bytes: Int64, sha256: String) {
        self.path = path
        self.bytes = bytes
        self.sha256 = sha256
    }
}

/// The manifest of one backup (`manifest.json` in its folder), written last: a backup is complete only
/// when its manifest exists and says `complete`.
public struct BackupManifest: Codable, Sendable, Equatable {
    public static let currentFormat = 1

    public var formatVersion: Int
    public var id: String
    public var kind: BackupKind
    /// `complete` is the only status a manifest is ever written with.
    public var status: String
    public var environment: String
    public var agentVersion: String
    public var host: String?
    public var startedAt: Date
    public var endedAt: Date
    /// `custom` or `directory` (pg_dump), `dynamodb-export` (AWS's export layout).
    public var format: String
    /// `pg_dump`, `scan` (the agent's parallel scan) or `export` (ExportTableToPointInTime).
    public var method: String
    public var source: Source
    public var tool: Tool?
    public var serverVersion: String?
    public var files: [BackupFile]
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
    /// SHA-256 (hex) of the manifest file itself, computed with this value written as 64 zeros. Verify
    /// and restore check it, so an edited row count or file hash is found. Absent in manifests written
    /// before it existed.
    public var manifestSHA256: String?

    public struct Source: Codable, Sendable, Equatable {
        public var host: String?
        public var port: Int?
        public var database: String?
        public var user: String?
        public var table: String?
        public var tableArn: String?
        public var endpoint: String?
        public var region: String?

        public init(
            host: String? = nil, port: Int? = nil, database: String? = nil, user: String? = nil, table: String? = nil,
            tableArn: String? = nil, endpoint: String? = nil, region: String? = nil
        ) {
            self.host = host
            self.port = port
            self.database = database
            self.user = user
            self.table = table
            self.tableArn = tableArn
            self.endpoint = endpoint
            self.region = region
        }

        public var text: String {
            if let table {
                return "table \(table)" + (endpoint.map { " at \($0)" } ?? region.map { " in \($0)" } ?? "")
            }
            return "database \(database ?? "?") on \(host ?? "?"):\(port ?? 5432)"
        }
    }

    public struct Tool: Codable, Sendable, Equatable {
        public var name: String
        public var version: String
        public init(name: String, version: String) {
            self.name = name
            self.version = version
        }
    }

    public struct ExportInfo: Codable, Sendable, Equatable {
        public var exportId: String
        public var exportArn: String?
        /// `AWSDynamoDB/<exportId>`.
        public var path: String
        public init(exportId: String, exportArn: String?, path: String) {
            self.exportId = exportId
            self.exportArn = exportArn
            self.path = path
        }
    }

    public init(
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

    public var rows: Int64? { tables.map { $0.values.reduce(0, +) } }
}

/// A DynamoDB table's schema as CreateTable takes it (AWS's names, so it reads like the console's JSON).
public struct TableSchema: Codable, Sendable, Equatable {
    public struct Key: Codable, Sendable, Equatable {
        public var attributeName: String
        public var keyType: String
        public init(attributeName: String, keyType: String) {
            self.attributeName = attributeName
            self.keyType = keyType
        }
        enum CodingKeys: String, CodingKey {
            case attributeName = "AttributeName"
            case keyType = "KeyType"
        }
    }

    public struct Attribute: Codable, Sendable, Equatable {
        public var attributeName: String
        public var attributeType: String
        public init(attributeName: String, attributeType: String) {
            self.attributeName = attributeName
            self.attributeType = attributeType
        }
        enum CodingKeys: String, CodingKey {
            case attributeName = "AttributeName"
            case attributeType = "AttributeType"
        }
    }

    public struct Throughput: Codable, Sendable, Equatable {
        public var readCapacityUnits: Int64
        public var writeCapacityUnits: Int64
        public init(readCapacityUnits: Int64, writeCapacityUnits: Int64) {
            self.readCapacityUnits = readCapacityUnits
            self.writeCapacityUnits = writeCapacityUnits
        }
        enum CodingKeys: String, CodingKey {
            case readCapacityUnits = "ReadCapacityUnits"
            case writeCapacityUnits = "WriteCapacityUnits"
        }
    }

    public struct Index: Codable, Sendable, Equatable {
        public var indexName: String
        public var keySchema: [Key]
        public var projectionType: String
        public var nonKeyAttributes: [String]?
        public var provisionedThroughput: Throughput?
        public init(
            indexName: String, keySchema: [Key], projectionType: String, nonKeyAttributes: [String]? = nil,
            provisionedThroughput: Throughput? = nil
        ) {
            self.indexName = indexName
            self.keySchema = keySchema
            self.projectionType = projectionType
            self.nonKeyAttributes = nonKeyAttributes
            self.provisionedThroughput = provisionedThroughput
        }
        enum CodingKeys: String, CodingKey {
            case indexName = "IndexName"
            case keySchema = "KeySchema"
            case projectionType = "ProjectionType"
            case nonKeyAttributes = "NonKeyAttributes"
            case provisionedThroughput = "ProvisionedThroughput"
        }
    }

    public var tableName: String
    public var keySchema: [Key]
    public var attributeDefinitions: [Attribute]
    /// PAY_PER_REQUEST or PROVISIONED.
    public var billingMode: String
    public var provisionedThroughput: Throughput?
    public var globalSecondaryIndexes: [Index]?
    public var localSecondaryIndexes: [Index]?

    public init(
        tableName: String, keySchema: [Key], attributeDefinitions: [Attribute], billingMode: String,
        provisionedThroughput: Throughput? = nil, globalSecondaryIndexes: [Index]? = nil,
        localSecondaryIndexes: [Index]? = nil
    ) {
        self.tableName = tableName
        self.keySchema = keySchema
        self.attributeDefinitions = attributeDefinitions
        self.billingMode = billingMode
        self.provisionedThroughput = provisionedThroughput
        self.globalSecondaryIndexes = globalSecondaryIndexes
        self.localSecondaryIndexes = localSecondaryIndexes
    }

    enum CodingKeys: String, CodingKey {
        case tableName = "TableName"
        case keySchema = "KeySchema"
        case attributeDefinitions = "AttributeDefinitions"
        case billingMode = "BillingMode"
        case provisionedThroughput = "ProvisionedThroughput"
        case globalSecondaryIndexes = "GlobalSecondaryIndexes"
        case localSecondaryIndexes = "LocalSecondaryIndexes"
    }
}

/// Where a copy of a backup is.
public enum BackupLocation: String, Codable, Sendable, CaseIterable {
    case local, s3
}

/// The outcome of the latest verification of one copy.
public struct BackupVerification: Codable, Sendable, Equatable {
    public var at: Date
    public var location: BackupLocation
    public var ok: Bool
    public var problems: [BackupProblem]
    public var seconds: Double?

    public init(at: Date, location: BackupLocation, ok: Bool, problems: [BackupProblem], seconds: Double? = nil) {
        self.at = at
        self.location = location
        self.ok = ok
        self.problems = problems
        self.seconds = seconds
    }
}

public struct BackupProblem: Codable, Sendable, Equatable, CustomStringConvertible {
    /// The file, relative to the backup's folder; nil for the backup as a whole.
    public var file: String?
    public var message: String

    public init(file: String?, message: String) {
        self.file = file
        self.message = message
    }

    public var description: String { file.map { "\($0): \(message)" } ?? message }
}

public struct BackupPin: Codable, Sendable, Equatable {
    public var at: Date
    public var by: String?
    public var note: String?
    public init(at: Date, by: String?, note: String? = nil) {
        self.at = at
        self.by = by
        self.note = note
    }
}

/// One backup in the catalog, with its copies, pin and latest verification.
public struct BackupEntry: Codable, Sendable, Equatable {
    public var manifest: BackupManifest
    public var locations: [BackupLocation]
    public var pin: BackupPin?
    /// Latest verification per copy.
    public var verifications: [BackupVerification]

    public init(
        manifest: BackupManifest, locations: [BackupLocation], pin: BackupPin?, verifications: [BackupVerification]
    ) {
        self.manifest = manifest
        self.locations = locations
        self.pin = pin
        self.verifications = verifications
    }

    public var id: String { manifest.id }
    public var kind: BackupKind { manifest.kind }
    /// Every copy verified, and the latest verification of each passed.
    public var verified: Bool {
        !verifications.isEmpty && locations.allSatisfy { l in verifications.contains { $0.location == l && $0.ok } }
    }
    public var failedVerification: Bool { verifications.contains { !$0.ok } }
}

public struct BackupList: Codable, Sendable {
    public var backups: [BackupEntry]
    /// Copies that could not be listed (S3 unreachable, say): the list is then incomplete.
    public var warnings: [String]
    /// Backups whose manifest is unreadable, incomplete or fails its own checksum: not restorable, not
    /// counted by retention, moved aside (quarantined) by the next prune.
    public var damaged: [DamagedBackup]
    /// Backup folders without a manifest (a copy by hand, a damaged disk): never restorable, their data
    /// stays on disk until `backups prune --orphans`.
    public var orphans: [OrphanBackup]

    public init(
        backups: [BackupEntry], warnings: [String] = [], damaged: [DamagedBackup] = [], orphans: [OrphanBackup] = []
    ) {
        self.backups = backups
        self.warnings = warnings
        self.damaged = damaged
        self.orphans = orphans
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        backups = try c.decode([BackupEntry].self, forKey: .backups)
        warnings = try c.decodeIfPresent([String].self, forKey: .warnings) ?? []
        damaged = try c.decodeIfPresent([DamagedBackup].self, forKey: .damaged) ?? []
        orphans = try c.decodeIfPresent([OrphanBackup].self, forKey: .orphans) ?? []
    }
}

/// A backup whose manifest cannot be trusted.
public struct DamagedBackup: Codable, Sendable, Equatable {
    public var id: String
    public var location: BackupLocation
    /// Where the manifest is (a path, or an s3:// URL).
    public var manifest: String
    public var reason: String
    public var hint: String
    /// Where the backup was moved aside to, once quarantined.
    public var quarantinedTo: String?

    public init(
        id: String, location: BackupLocation, manifest: String, reason: String, hint: String,
        quarantinedTo: String? = nil
    ) {
        self.id = id
        self.location = location
        self.manifest = manifest
        self.reason = reason
        self.hint = hint
        self.quarantinedTo = quarantinedTo
    }
}

/// A backup folder (or S3 prefix) without a manifest.
public struct OrphanBackup: Codable, Sendable, Equatable {
    /// The folder, or `s3://bucket/prefix`.
    public var path: String
    public var location: BackupLocation
    public var bytes: Int64
    /// The backup id its name carries.
    public var id: String?

    public init(path: String, location: BackupLocation, bytes: Int64, id: String? = nil) {
        self.path = path
        self.location = location
        self.bytes = bytes
        self.id = id
    }
}

/// `POST /v1/backups`.
public struct StartBackupRequest: Codable, Sendable {
    /// Empty or absent: every configured kind.
    public var kinds: [BackupKind]
    public init(kinds: [BackupKind]) { self.kinds = kinds }
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        kinds = try c.decodeIfPresent([BackupKind].self, forKey: .kinds) ?? []
    }
}

/// `POST /v1/backups/{id}/pin`.
public struct PinRequest: Codable, Sendable {
    public var note: String?
    public init(note: String?) { self.note = note }
}

/// `POST /v1/backups/verify`.
public struct VerifyRequest: Codable, Sendable {
    /// Empty or absent: every backup.
    public var ids: [String]
    public init(ids: [String]) { self.ids = ids }
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        ids = try c.decodeIfPresent([String].self, forKey: .ids) ?? []
    }
}

public struct PruneDecision: Codable, Sendable, Equatable {
    public var id: String
    public var kind: BackupKind
    public var keep: Bool
    /// Why it is kept: `keep_last`, `daily`, `weekly`, `monthly`, `pinned`, `newest verified`, `in use`.
    public var reasons: [String]
    public init(id: String, kind: BackupKind, keep: Bool, reasons: [String]) {
        self.id = id
        self.kind = kind
        self.keep = keep
        self.reasons = reasons
    }
}

/// The answer to `POST /v1/backups/prune`.
public struct PruneResult: Codable, Sendable {
    public var dryRun: Bool
    public var decisions: [PruneDecision]
    public var deleted: [String]
    public var errors: [String]
    /// Damaged backups found (and, unless a dry run, moved aside); they do not stop the prune.
    public var quarantined: [DamagedBackup]
    /// Orphaned folders removed (`--orphans`), or that would be (dry run).
    public var orphansRemoved: [OrphanBackup]

    public init(
        dryRun: Bool, decisions: [PruneDecision], deleted: [String], errors: [String],
        quarantined: [DamagedBackup] = [], orphansRemoved: [OrphanBackup] = []
    ) {
        self.dryRun = dryRun
        self.decisions = decisions
        self.deleted = deleted
        self.errors = errors
        self.quarantined = quarantined
        self.orphansRemoved = orphansRemoved
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        dryRun = try c.decode(Bool.self, forKey: .dryRun)
        decisions = try c.decode([PruneDecision].self, forKey: .decisions)
        deleted = try c.decode([String].self, forKey: .deleted)
        errors = try c.decode([String].self, forKey: .errors)
        quarantined = try c.decodeIfPresent([DamagedBackup].self, forKey: .quarantined) ?? []
        orphansRemoved = try c.decodeIfPresent([OrphanBackup].self, forKey: .orphansRemoved) ?? []
    }
}

/// `POST /v1/restores`.
public struct RestoreRequest: Codable, Sendable {
    public var kind: BackupKind
    public var id: String
    /// PostgreSQL: the database to restore into.
    public var targetDatabase: String?
    /// DynamoDB: the table to restore into.
    public var targetTable: String?
    /// PostgreSQL: create the target database.
    public var create: Bool
    /// PostgreSQL: drop the target's objects first (pg_restore --clean --if-exists).
    public var clean: Bool
    /// Restore over the live database or table (a fresh backup is taken first).
    public var force: Bool
    /// Parallel workers (pg_restore -j, or BatchWriteItem workers).
    public var jobs: Int?
    /// Read the backup from this copy (default: local when present, else S3).
    public var from: BackupLocation?
    /// Keep a database or table the restore created when the restore fails its checks (it is dropped
    /// otherwise).
    public var keepOnFailure: Bool

    public init(
        kind: BackupKind, id: String, targetDatabase: String? = nil, targetTable: String? = nil, create: Bool = false,
        clean: Bool = false, force: Bool = false, jobs: Int? = nil, from: BackupLocation? = nil,
        keepOnFailure: Bool = false
    ) {
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

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        kind = try c.decode(BackupKind.self, forKey: .kind)
        id = try c.decode(String.self, forKey: .id)
        targetDatabase = try c.decodeIfPresent(String.self, forKey: .targetDatabase)
        targetTable = try c.decodeIfPresent(String.self, forKey: .targetTable)
        create = try c.decodeIfPresent(Bool.self, forKey: .create) ?? false
        clean = try c.decodeIfPresent(Bool.self, forKey: .clean) ?? false
        force = try c.decodeIfPresent(Bool.self, forKey: .force) ?? false
        jobs = try c.decodeIfPresent(Int.self, forKey: .jobs)
        from = try c.decodeIfPresent(BackupLocation.self, forKey: .from)
        keepOnFailure = try c.decodeIfPresent(Bool.self, forKey: .keepOnFailure) ?? false
    }
}

// MARK: Job results (the agent returns them, whatifctl and other clients decode them)

/// The outcome of one part of a `backup` job.
public struct BackupPartResult: Codable, Sendable, Equatable {
    public var kind: BackupKind
    public var ok: Bool
    public var id: String?
    public var error: String?
    public var hint: String?
    public var bytes: Int64?
    public var items: Int64?
    public var rows: Int64?
    public var seconds: Double
    public var locations: [BackupLocation]
    public var verified: Bool?

    public init(
        kind: BackupKind, ok: Bool, id: String? = nil, error: String? = nil, hint: String? = nil,
        bytes: Int64? = nil, items: Int64? = nil, rows: Int64? = nil, seconds: Double,
        locations: [BackupLocation] = [], verified: Bool? = nil
    ) {
        self.kind = kind
        self.ok = ok
        self.id = id
        self.error = error
        self.hint = hint
        self.bytes = bytes
        self.items = items
        self.rows = rows
        self.seconds = seconds
        self.locations = locations
        self.verified = verified
    }
}

/// The result of a `backup` job.
public struct BackupRunResult: Codable, Sendable {
    public var parts: [BackupPartResult]
    public var pruned: [String]
    public var pruneErrors: [String]
    public var ok: Bool { parts.allSatisfy(\.ok) && pruneErrors.isEmpty }

    public init(parts: [BackupPartResult], pruned: [String], pruneErrors: [String]) {
        self.parts = parts
        self.pruned = pruned
        self.pruneErrors = pruneErrors
    }
}

/// One backup's verification, every copy.
public struct VerifyOutcome: Codable, Sendable, Equatable {
    public var id: String
    public var kind: BackupKind
    public var verifications: [BackupVerification]
    public var ok: Bool { !verifications.isEmpty && verifications.allSatisfy(\.ok) }

    public init(id: String, kind: BackupKind, verifications: [BackupVerification]) {
        self.id = id
        self.kind = kind
        self.verifications = verifications
    }
}

/// The result of a `backup.verify` job.
public struct VerifyOutcomes: Codable, Sendable {
    public var backups: [VerifyOutcome]
    public init(backups: [VerifyOutcome]) { self.backups = backups }
}

/// The result of a `restore` job.
public struct RestoreResult: Codable, Sendable {
    public var kind: BackupKind
    public var id: String
    public var target: String
    public var from: BackupLocation
    public var seconds: Double
    /// DynamoDB: items written; PostgreSQL: rows in the restored tables.
    public var items: Int64?
    public var rows: Int64?
    public var tablesChecked: Int?
    /// The backup taken of the live database or table before restoring over it.
    public var safetyBackup: String?
    public var created: Bool

    public init(
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
