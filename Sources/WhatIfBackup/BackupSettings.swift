import WhatIfPostgres
import WhatIfProtocol

/// The `backups:` section of the config, with defaults applied.
public struct BackupSettings: Sendable, Equatable {
    /// Local backup folder: `<location>/<kind>/<id>/`.
    public var location: String
    public var s3: S3Destination?
    public var retention: [BackupKind: RetentionPolicy]
    public var postgres: PostgresDumpSettings
    public var dynamodb: DynamoExportSettings
    /// Verify every new backup before the job ends (re-read and re-hash; pg_restore --list).
    public var verifyAfterBackup: Bool
    /// Prune after every successful backup.
    public var pruneAfterBackup: Bool

    public init(
        location: String, s3: S3Destination? = nil, retention: [BackupKind: RetentionPolicy] = [:],
        postgres: PostgresDumpSettings = .init(), dynamodb: DynamoExportSettings = .init(),
        verifyAfterBackup: Bool = true, pruneAfterBackup: Bool = true
    ) {
        self.location = location
        self.s3 = s3
        self.retention = retention
        self.postgres = postgres
        self.dynamodb = dynamodb
        self.verifyAfterBackup = verifyAfterBackup
        self.pruneAfterBackup = pruneAfterBackup
    }

    public static let defaultLocation = "/var/lib/whatif/backups"
    public static let defaultRetention = RetentionPolicy(keepLast: 7, daily: 7, weekly: 4, monthly: 3)

    public func policy(for kind: BackupKind) -> RetentionPolicy { retention[kind] ?? Self.defaultRetention }
}

public struct S3Destination: Sendable, Equatable {
    public var bucket: String
    /// No leading or trailing slash; may be empty.
    public var prefix: String
    /// Files larger than this go up in parts of this size (multipart upload).
    public var partSize: Int
    /// Parts uploaded at once.
    public var concurrency: Int
    /// Keep the local copy once the S3 copy is complete.
    public var keepLocal: Bool

    public init(
        bucket: String, prefix: String = "", partSize: Int = 16 << 20, concurrency: Int = 4, keepLocal: Bool = true
    ) {
        self.bucket = bucket
        self.prefix = prefix.split(separator: "/").joined(separator: "/")
        self.partSize = partSize
        self.concurrency = concurrency
        self.keepLocal = keepLocal
    }

    /// `<prefix>/<rest>` without doubled slashes.
    public func key(_ rest: String) -> String { prefix.isEmpty ? rest : "\(prefix)/\(rest)" }

    public var url: String { "s3://\(bucket)/\(prefix)" }
}

/// keep-last N, and the newest backup of each of the last N days, ISO weeks and months (UTC) that
/// have one. A policy with no rule keeps everything.
public struct RetentionPolicy: Sendable, Equatable, Codable {
    public var keepLast: Int?
    public var daily: Int?
    public var weekly: Int?
    public var monthly: Int?

    public init(keepLast: Int? = nil, daily: Int? = nil, weekly: Int? = nil, monthly: Int? = nil) {
        self.keepLast = keepLast
        self.daily = daily
        self.weekly = weekly
        self.monthly = monthly
    }

    public var isEmpty: Bool { keepLast == nil && daily == nil && weekly == nil && monthly == nil }
}

public struct PostgresDumpSettings: Sendable, Equatable {
    /// `custom` (pg_dump -Fc, streamed through SHA-256) or `directory` (-Fd, with `jobs` workers).
    public var format: String
    public var jobs: Int
    /// pg_dump's -Z level; nil is pg_dump's default.
    public var compression: Int?
    /// Folder holding pg_dump and pg_restore; nil: the newest /usr/lib/postgresql/*/bin, then PATH.
    public var binDirectory: String?
    /// Count each table's rows in the dump's snapshot (exact; one sequential scan per table).
    public var rowCounts: Bool
    /// Longest a dump may run, in seconds.
    public var timeout: Double

    public init(
        format: String = "custom", jobs: Int = 1, compression: Int? = nil, binDirectory: String? = nil,
        rowCounts: Bool = true, timeout: Double = 6 * 3600
    ) {
        self.format = format
        self.jobs = jobs
        self.compression = compression
        self.binDirectory = binDirectory
        self.rowCounts = rowCounts
        self.timeout = timeout
    }
}

public struct DynamoExportSettings: Sendable, Equatable {
    /// `auto`: ExportTableToPointInTime when the table has PITR, S3 is configured and the endpoint is
    /// AWS's; a parallel scan otherwise. `scan` or `export` force one.
    public var mode: String
    public var totalSegments: Int
    public var consistentRead: Bool
    /// Items per Scan page (nil: DynamoDB's 1 MB pages).
    public var pageLimit: Int?
    /// gzip level of the data files.
    public var compression: Int32
    /// A data file is closed after this many uncompressed bytes.
    public var fileBytes: Int
    /// Rounds of waiting when throttling outlasts the client's own retries.
    public var throttleRetries: Int
    /// BatchWriteItem workers when restoring.
    public var restoreWorkers: Int
    /// How often DescribeExport is polled, in seconds.
    public var exportPoll: Double
    /// Longest an export or a scan may run, in seconds.
    public var timeout: Double

    public init(
        mode: String = "auto", totalSegments: Int = 4, consistentRead: Bool = false, pageLimit: Int? = nil,
        compression: Int32 = 6, fileBytes: Int = 128 << 20, throttleRetries: Int = 10, restoreWorkers: Int = 4,
        exportPoll: Double = 10, timeout: Double = 6 * 3600
    ) {
        self.mode = mode
        self.totalSegments = totalSegments
        self.consistentRead = consistentRead
        self.pageLimit = pageLimit
        self.compression = compression
        self.fileBytes = fileBytes
        self.throttleRetries = throttleRetries
        self.restoreWorkers = restoreWorkers
        self.exportPoll = exportPoll
        self.timeout = timeout
    }
}
