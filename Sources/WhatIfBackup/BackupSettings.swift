import WhatIfAWS
import WhatIfPostgres
import WhatIfProtocol

/// The `backups:` section of the config, with defaults applied.
package struct BackupSettings: Sendable, Equatable {
    /// Local backup folder: `<location>/<kind>/<id>/`.
    package var location: String
    package var s3: S3Destination?
    package var retention: [BackupKind: RetentionPolicy] = [:]
    package var postgres: PostgresDumpSettings = .init()
    package var dynamodb: DynamoExportSettings = .init()
    /// Verify every new backup before the job ends (re-read and re-hash; pg_restore --list).
    package var verifyAfterBackup: Bool = true
    /// Prune after every successful backup.
    package var pruneAfterBackup: Bool = true
    /// Client-side encryption of every file (nil: stored as written).
    package var encryption: BackupKeySource?
    /// Redis backups (nil: Redis is not backed up).
    package var redis: RedisBackupSettings?
    /// Snapshots AWS keeps (`backups.snapshots`): which services, how long to wait for one.
    package var snapshots: SnapshotSettings = .init()

    // memberwise-init: package

    package static let defaultLocation = "/var/lib/whatif/backups"
    package static let defaultRetention = RetentionPolicy(keepLast: 7, daily: 7, weekly: 4, monthly: 3)

    package func policy(for kind: BackupKind) -> RetentionPolicy { retention[kind] ?? Self.defaultRetention }
}

/// `backups.snapshots`: the services whose own snapshots are catalog entries.
package struct SnapshotSettings: Sendable, Equatable {
    /// CreateDBSnapshot of `rds.instance_id` (kind `rds-snapshot`).
    package var rds = false
    /// CreateBackup of the configured table (kind `dynamodb-backup`).
    package var dynamodb = false
    /// CreateSnapshot of `elasticache.replication_group_id` (kind `elasticache-snapshot`).
    package var elasticache = false
    /// Longest wait for a snapshot to become available (or a restored instance or table), in seconds.
    package var timeout: Double = 7200
    /// Seconds between status reads while waiting.
    package var poll: Double = 10

    package init() {}
}

package struct S3Destination: Sendable, Equatable {
    package var bucket: String
    /// No leading or trailing slash; may be empty.
    package var prefix: String
    /// Files larger than this go up in parts of this size (multipart upload).
    package var partSize: Int
    /// Parts uploaded at once.
    package var concurrency: Int
    /// Keep the local copy once the S3 copy is complete.
    package var keepLocal: Bool
    /// Server-side encryption of every object the agent writes there, and of DynamoDB exports.
    package var encryption: S3Encryption

    package init(
        bucket: String, prefix: String = "", partSize: Int = 16 << 20, concurrency: Int = 4, keepLocal: Bool = true,
        encryption: S3Encryption = .s3
    ) {
        self.bucket = bucket
        self.prefix = prefix.split(separator: "/").joined(separator: "/")
        self.partSize = partSize
        self.concurrency = concurrency
        self.keepLocal = keepLocal
        self.encryption = encryption
    }

    /// `<prefix>/<rest>` without doubled slashes.
    package func key(_ rest: String) -> String { prefix.isEmpty ? rest : "\(prefix)/\(rest)" }

    package var url: String { "s3://\(bucket)/\(prefix)" }
}

/// keep-last N, and the newest backup of each of the last N days, ISO weeks and months (UTC) that
/// have one. A policy with no rule keeps everything.
package struct RetentionPolicy: Sendable, Equatable, Codable {
    package var keepLast: Int?
    package var daily: Int?
    package var weekly: Int?
    package var monthly: Int?

    // memberwise-init: package

    package var isEmpty: Bool { keepLast == nil && daily == nil && weekly == nil && monthly == nil }
}

package struct PostgresDumpSettings: Sendable, Equatable {
    /// `custom` (pg_dump -Fc, streamed through SHA-256) or `directory` (-Fd, with `jobs` workers).
    package var format: String = "custom"
    package var jobs: Int = 1
    /// pg_dump's -Z level; nil is pg_dump's default.
    package var compression: Int?
    /// Folder holding pg_dump and pg_restore; nil: the newest /usr/lib/postgresql/*/bin, then PATH.
    package var binDirectory: String?
    /// Count each table's rows in the dump's snapshot (exact; one sequential scan per table).
    package var rowCounts: Bool = true
    /// Longest a dump may run, in seconds.
    package var timeout: Double = 6 * 3600
    /// `primary`, or `replica`: dump from the least-lagging read replica (`postgres.replicas`).
    package var from = "primary"
    /// `from: replica`: a replica lagging more than this many seconds is not dumped from.
    package var maxReplicaLag: Double = 300
}

package struct DynamoExportSettings: Sendable, Equatable {
    /// `auto`: ExportTableToPointInTime when the table has PITR, S3 is configured and the endpoint is
    /// AWS's; a parallel scan otherwise. `scan` or `export` force one.
    package var mode: String
    package var totalSegments: Int
    package var consistentRead: Bool
    /// Items per Scan page (nil: DynamoDB's 1 MB pages).
    package var pageLimit: Int?
    /// gzip level of the data files.
    package var compression: Int32
    /// A data file is closed after this many uncompressed bytes.
    package var fileBytes: Int
    /// Rounds of waiting when throttling outlasts the client's own retries.
    package var throttleRetries: Int
    /// BatchWriteItem workers when restoring.
    package var restoreWorkers: Int
    /// How often DescribeExport is polled, in seconds.
    package var exportPoll: Double
    /// Longest an export or a scan may run, in seconds.
    package var timeout: Double
    /// Native exports: a backup continues the newest export's window with an incremental export
    /// when it can (15 minutes to 24 hours, within PITR), else takes a full one.
    package var incremental = false
    /// Native exports: a full export at least every this many exports (a chain of at most
    /// `fullEvery - 1` incremental exports after it).
    package var fullEvery = 7

    package init(
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

extension S3Encryption {
    /// As a manifest records it.
    package var stored: StoredEncryption {
        switch self {
        case .s3: StoredEncryption(algorithm: algorithm)
        case .kms(let key): StoredEncryption(algorithm: algorithm, kmsKeyId: key)
        }
    }

    /// From a manifest's record; nil for an algorithm S3 does not name.
    package init?(_ stored: StoredEncryption) {
        switch stored.algorithm {
        case "AES256": self = .s3
        case "aws:kms": self = .kms(keyId: stored.kmsKeyId)
        default: return nil
        }
    }
}
