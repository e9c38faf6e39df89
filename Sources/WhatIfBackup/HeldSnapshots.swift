import WhatIfAWS
import WhatIfCore
import WhatIfProtocol
import WhatIfUnits

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// One service's snapshots, as the backup capability uses them: create one of the configured resource,
/// read one back, delete one.
package struct HeldSnapshots {
    package var service: String
    /// The configured instance, table or replication group (nil: cannot take one, only read and delete).
    package var resource: String?
    /// The AWS call that takes one, for messages.
    package var createCall: String
    package var create: (_ name: String) throws -> HeldSnapshot
    package var describe: (_ identifier: String) throws -> HeldSnapshot?
    package var delete: (_ identifier: String) throws -> Void

    package init(
        service: String, resource: String?, createCall: String,
        create: @escaping (_ name: String) throws -> HeldSnapshot,
        describe: @escaping (_ identifier: String) throws -> HeldSnapshot?,
        delete: @escaping (_ identifier: String) throws -> Void
    ) {
        self.service = service
        self.resource = resource
        self.createCall = createCall
        self.create = create
        self.describe = describe
        self.delete = delete
    }
}

extension BackupService {
    /// The snapshot name a backup id gives: the id in lower case (RDS keeps identifiers in lower case;
    /// every service accepts letters, digits and hyphens).
    static func snapshotName(_ id: String) -> String { id.lowercased() }

    /// The service that holds `kind`'s snapshots, from this config's clients.
    func heldSnapshots(_ kind: BackupKind) throws -> HeldSnapshots {
        switch kind {
        case .rdsSnapshot:
            guard let rds = context.rds else {
                throw Failure("RDS is not reachable: AWS is not configured", hint: "set rds.instance_id and aws:")
            }
            let instance = context.rdsInstance
            return HeldSnapshots(
                service: "rds", resource: instance, createCall: "CreateDBSnapshot",
                create: { try rds.createSnapshot(instance: instance ?? "", snapshot: $0) },
                describe: { try rds.snapshot($0) }, delete: { try rds.deleteSnapshot($0) })
        case .dynamodbBackup:
            guard let ddb = context.dynamo else {
                throw Failure("DynamoDB is not configured", hint: "configure dynamodb: in the config")
            }
            return HeldSnapshots(
                service: "dynamodb", resource: ddb.table, createCall: "CreateBackup",
                create: { try ddb.client.createBackup(table: ddb.table, name: $0) },
                describe: { try ddb.client.backup($0) }, delete: { try ddb.client.deleteBackup($0) })
        case .elasticacheSnapshot:
            guard let ec = context.elasticache else {
                throw Failure(
                    "ElastiCache is not reachable: AWS is not configured",
                    hint: "set elasticache.replication_group_id and aws:")
            }
            let group = context.replicationGroup
            return HeldSnapshots(
                service: "elasticache", resource: group, createCall: "CreateSnapshot",
                create: { try ec.createSnapshot(replicationGroup: group ?? "", name: $0) },
                describe: { try ec.snapshot($0) }, delete: { try ec.deleteSnapshot($0) })
        case .postgres, .dynamodb, .redis:
            throw Failure("\(kind.rawValue) backups are not snapshots AWS keeps")
        }
    }

    /// Takes a snapshot the service keeps and waits until it reports it available; the manifest records
    /// it as read back. One that does not become available is deleted again (it would be kept, and
    /// billed, with no catalog entry), and the backup fails.
    /// `held`: the service (default: the one this config's clients give for `kind`).
    package func takeHeld(
        _ kind: BackupKind, id: String, started: Date, reporter: any JobReporter, held: HeldSnapshots? = nil
    ) throws -> BackupManifest {
        let held = try held ?? heldSnapshots(kind)
        guard let resource = held.resource else {
            throw Failure(
                "\(kind.rawValue) has no configured source",
                hint: "see backups.snapshots in /usr/share/doc/whatif-agent/backups.md")
        }
        let name = Self.snapshotName(id)
        reporter.info("\(held.createCall) \(name) of \(resource)")
        var s = try held.create(name)
        do {
            s = try waitAvailable(s, held: held, reporter: reporter)
        } catch {
            do {
                try held.delete(s.identifier)
                reporter.log(.warning, "deleted \(s.identifier), which did not become available")
            } catch let e {
                reporter.log(
                    .error, "\(s.identifier) did not become available and cannot be deleted: \(e); delete it by hand")
            }
            throw error
        }
        let record = SnapshotRecord(
            service: held.service, identifier: s.identifier, arn: s.arn, source: s.source.isEmpty ? resource : s.source,
            region: context.region, status: s.status, bytes: s.bytes, createdAt: s.createdAt, encrypted: s.encrypted,
            kmsKeyId: s.kmsKeyId)
        var m = BackupManifest(
            id: id, kind: kind, environment: context.environmentName, agentVersion: WhatIfVersion.string,
            host: HostName.current, startedAt: started, endedAt: Date(), format: "snapshot", method: held.createCall,
            source: kind == .dynamodbBackup
                ? .init(table: resource, endpoint: context.dynamo?.endpoint, region: context.region)
                : .init(region: context.region, resource: resource),
            tool: nil, serverVersion: nil, files: [])
        m.snapshot = record
        m.totalBytes = s.bytes ?? 0
        return m
    }

    /// Reads the snapshot again until the service reports it available, within `backups.snapshots.timeout`.
    package func waitAvailable(_ first: HeldSnapshot, held: HeldSnapshots, reporter: any JobReporter) throws
        -> HeldSnapshot
    {
        let watch = Stopwatch()
        let timeout = settings.snapshots.timeout
        let deadline = Deadline.after(seconds: timeout)
        var s = first
        while !s.isAvailable {
            guard ["creating", "pending", "copying", "snapshotting", "backing-up"].contains(s.status) else {
                throw Failure(
                    "\(held.service) reports the snapshot \(s.identifier) \(s.status.isEmpty ? "without a status" : s.status)",
                    hint: "see the service's events for the reason")
            }
            try reporter.checkCancelled()
            guard !deadline.hasPassed else {
                throw Failure(
                    "the snapshot \(s.identifier) is still \(s.status) after \(Units.duration(timeout))",
                    hint: "raise backups.snapshots.timeout, or take it at a quieter time")
            }
            reporter.progress(
                done: watch.elapsedSeconds, total: nil, unit: "seconds", phase: "\(s.identifier) is \(s.status)")
            sleepThread(seconds: settings.snapshots.poll)
            guard let again = try held.describe(s.identifier) else {
                throw Failure("the snapshot \(s.identifier) disappeared while it was being taken")
            }
            s = again
        }
        return s
    }

    /// What verify finds wrong with a snapshot: gone, not available, or not the one the manifest names.
    func snapshotProblems(_ m: BackupManifest, _ r: SnapshotRecord) -> [BackupProblem] {
        let held: HeldSnapshots
        do { held = try heldSnapshots(m.kind) } catch {
            return [BackupProblem(file: nil, message: "cannot read the snapshot \(r.identifier): \(error)")]
        }
        let s: HeldSnapshot?
        do { s = try held.describe(r.identifier) } catch {
            return [BackupProblem(file: nil, message: "cannot read the snapshot \(r.identifier): \(error)")]
        }
        guard let s else {
            return [BackupProblem(file: nil, message: "the snapshot \(r.identifier) no longer exists in \(r.service)")]
        }
        var problems: [BackupProblem] = []
        if !s.isAvailable {
            problems.append(BackupProblem(file: nil, message: "the snapshot \(r.identifier) is \(s.status)"))
        }
        if !s.source.isEmpty, s.source != r.source {
            problems.append(
                BackupProblem(
                    file: nil,
                    message: "the snapshot \(r.identifier) is of \(s.source); the manifest says \(r.source)"))
        }
        if let a = s.arn, let b = r.arn, a != b {
            problems.append(
                BackupProblem(file: nil, message: "the snapshot \(r.identifier) has ARN \(a); the manifest says \(b)"))
        }
        return problems
    }

    /// Deletes the snapshot a pruned backup names; one the service no longer knows counts as deleted.
    func deleteSnapshot(_ m: BackupManifest, _ r: SnapshotRecord) throws {
        let held = try heldSnapshots(m.kind)
        do { try held.delete(r.identifier) } catch let e as AWSError where e.isSnapshotNotFound {
            context.logger.notice(
                "the pruned backup's snapshot was already gone", metadata: ["snapshot": "\(r.identifier)"])
        }
    }

    // MARK: Restore

    /// Restores a snapshot into a new instance or table (the service creates it; it must not exist), and
    /// waits until it is available.
    func restoreSnapshot(_ req: RestoreRequest, reporter: any JobReporter) throws -> RestoreResult {
        let watch = Stopwatch()
        leases.hold([req.id])
        defer { leases.release([req.id]) }
        let e = try entry(req.id)
        guard e.kind == req.kind, let r = e.manifest.snapshot else {
            throw Failure(
                "backup \(req.id) is a \(e.kind.rawValue) backup", hint: "use `whatifctl restore` for its kind")
        }
        let problems = snapshotProblems(e.manifest, r)
        guard problems.isEmpty else {
            throw Failure(
                "backup \(req.id) does not verify, so it is not restored: \(problems.map(\.description).joined(separator: "; "))",
                hint: "restore another backup (`whatifctl backups list`)")
        }
        let location = e.locations.contains(.local) ? BackupLocation.local : .s3
        switch req.kind {
        case .rdsSnapshot:
            guard let rds = context.rds else { throw Failure("RDS is not reachable: AWS is not configured") }
            guard let target = req.targetInstance, PointInTimeRestore.isInstanceIdentifier(target) else {
                throw Failure(
                    "the target instance is missing or not an RDS instance identifier",
                    hint: "pass --target-instance NAME (1-63 letters, digits and hyphens, starting with a letter)")
            }
            if try rds.instance(target) != nil {
                throw Failure(
                    "RDS instance \(target) already exists; a restore from a snapshot creates its target",
                    hint: "name a new instance, or delete \(target) first")
            }
            reporter.info("RestoreDBInstanceFromDBSnapshot \(r.identifier) → \(target)")
            let db = try rds.waitUntilAvailable(
                try rds.restoreFromSnapshot(r.identifier, target: target), timeout: settings.snapshots.timeout,
                poll: settings.snapshots.poll
            ) { status in
                try reporter.checkCancelled()
                reporter.progress(
                    done: watch.elapsedSeconds, total: nil, unit: "seconds", phase: "instance \(target) is \(status)")
            }
            var result = RestoreResult(
                kind: req.kind, id: req.id, target: target, from: location, seconds: watch.elapsedSeconds, items: nil,
                rows: nil, tablesChecked: nil, safetyBackup: nil, created: true)
            result.endpoint = db.endpointAddress.map { "\($0):\(db.endpointPort ?? 5432)" }
            return result
        case .dynamodbBackup:
            guard let ddb = context.dynamo?.client else { throw Failure("DynamoDB is not configured") }
            guard let target = req.targetTable, DynamoDB.isValidName(target) else {
                throw Failure(
                    "the target table name is missing or not a DynamoDB table name",
                    hint: "pass --target-table NAME (\(DynamoDB.nameRule))")
            }
            guard !req.force else {
                throw Failure(
                    "a DynamoDB backup restores only into a new table (RestoreTableFromBackup creates it)",
                    hint: "drop --force and name a table that does not exist")
            }
            do {
                _ = try ddb.describeTable(target)
                throw Failure(
                    "table \(target) already exists; a restore from an on-demand backup creates its target",
                    hint: "name a new table, or delete \(target) first")
            } catch let e as AWSError where e.code == "ResourceNotFoundException" {}
            reporter.info("RestoreTableFromBackup \(r.identifier) → \(target)")
            _ = try ddb.restoreTableFromBackup(r.identifier, target: target)
            reporter.progress(done: 0, total: nil, unit: "seconds", phase: "waiting for \(target) to be ACTIVE")
            let t = try ddb.waitUntilActive(
                target, timeout: settings.snapshots.timeout, poll: settings.snapshots.poll)
            return RestoreResult(
                kind: req.kind, id: req.id, target: target, from: location, seconds: watch.elapsedSeconds,
                items: t.itemCount, rows: nil, tablesChecked: nil, safetyBackup: nil, created: true)
        default:
            throw elastiCacheRestore(r.identifier)
        }
    }
}

/// An ElastiCache snapshot is restored by creating a replication group from it, which the agent leaves to
/// the operator (it chooses node types, subnets and security groups).
func elastiCacheRestore(_ snapshot: String) -> APIError {
    APIError(
        .unprocessable,
        "an ElastiCache snapshot is restored into a new replication group, which the agent does not create",
        hint:
            "aws elasticache create-replication-group --replication-group-id NEW --replication-group-description restore --snapshot-name \(snapshot) (plus your node type, subnet group and security groups); /usr/share/doc/whatif-agent/backups.md"
    )
}
