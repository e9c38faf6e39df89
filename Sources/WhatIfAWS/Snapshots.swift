import WhatIfCore
import WhatIfUnits

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A snapshot AWS keeps for us: an RDS DB snapshot, a DynamoDB on-demand backup or an ElastiCache
/// snapshot, as the service last described it.
package struct HeldSnapshot: Sendable, Equatable {
    /// What names it in later calls: DBSnapshotIdentifier, BackupArn, SnapshotName.
    package var identifier: String
    package var arn: String?
    /// The instance, table or replication group it is a snapshot of.
    package var source: String
    /// The service's status, lowercased: `creating`, `available`, `failed`, `deleted`, ...
    package var status: String
    /// DynamoDB: BackupSizeBytes (RDS and ElastiCache report no size of the snapshot itself).
    package var bytes: Int64?
    package var createdAt: Date?
    package var encrypted: Bool?
    package var kmsKeyId: String?

    package var isAvailable: Bool { status == "available" }

    // memberwise-init: package
}

extension AWSError {
    /// The service says the snapshot or backup does not exist.
    package var isSnapshotNotFound: Bool {
        ["DBSnapshotNotFound", "DBSnapshotNotFoundFault", "BackupNotFoundException", "SnapshotNotFoundFault"].contains(
            code)
    }
}

/// The snapshot calls RDS and ElastiCache share in shape (query protocol): create, describe one by its
/// name (nil when the service does not know it), delete.
struct QuerySnapshots {
    var client: AWSClient
    var service: AWSService
    var version: String
    /// `DBSnapshot` or `Snapshot`: the element a create answers with; the describe answer lists them
    /// under the plural.
    var element: String
    /// `DBSnapshotIdentifier` or `SnapshotName`.
    var nameParameter: String
    var prefix: String
    var parse: (XMLElement) -> HeldSnapshot?

    func create(_ name: String, of source: [(String, String)]) throws -> HeldSnapshot {
        let action = "Create\(prefix)Snapshot"
        let root = try client.query(
            service, action: action, version: version, parameters: [(nameParameter, name)] + source)
        guard let e = root.first(element), let s = parse(e) else { throw malformed(action) }
        return s
    }

    func describe(_ name: String) throws -> HeldSnapshot? {
        let action = "Describe\(prefix)Snapshots"
        do {
            let root = try client.query(service, action: action, version: version, parameters: [(nameParameter, name)])
            guard let e = root.first(element + "s")?.children.first else { return nil }
            guard let s = parse(e) else { throw malformed(action) }
            return s
        } catch let e as AWSError where e.isSnapshotNotFound {
            return nil
        }
    }

    func delete(_ name: String) throws {
        _ = try client.query(
            service, action: "Delete\(prefix)Snapshot", version: version, parameters: [(nameParameter, name)])
    }

    func malformed(_ action: String) -> AWSError {
        AWSError(
            service: service.name, operation: action, status: 200, code: "MalformedResponse",
            serviceMessage: "the answer has no \(element)")
    }
}

extension RDS {
    var snapshots: QuerySnapshots {
        QuerySnapshots(
            client: client, service: .rds, version: "2014-10-31", element: "DBSnapshot",
            nameParameter: "DBSnapshotIdentifier", prefix: "DB"
        ) { e in
            e["DBSnapshotIdentifier"].map { id in
                HeldSnapshot(
                    identifier: id, arn: e["DBSnapshotArn"], source: e["DBInstanceIdentifier"] ?? "",
                    status: (e["Status"] ?? "").lowercased(),
                    createdAt: e["SnapshotCreateTime"].flatMap(AWSTime.parse),
                    encrypted: e["Encrypted"].map { $0 == "true" }, kmsKeyId: e["KmsKeyId"])
            }
        }
    }

    /// CreateDBSnapshot (a manual snapshot: RDS keeps it until it is deleted).
    package func createSnapshot(instance: String, snapshot: String) throws -> HeldSnapshot {
        try snapshots.create(snapshot, of: [("DBInstanceIdentifier", instance)])
    }

    /// The snapshot, nil when RDS does not know it.
    package func snapshot(_ identifier: String) throws -> HeldSnapshot? { try snapshots.describe(identifier) }

    package func deleteSnapshot(_ identifier: String) throws { try snapshots.delete(identifier) }

    /// Reads the instance every `poll` seconds until RDS reports it `available`: a Failure when RDS
    /// reports it failed, or at `timeout` (RDS goes on). `each(status)` runs before every wait (progress,
    /// cancellation).
    package func waitUntilAvailable(
        _ first: DBInstance, timeout: Double, poll: Double, each: (String) throws -> Void = { _ in }
    ) throws -> DBInstance {
        let deadline = Deadline.after(seconds: timeout)
        var db = first
        while db.status != "available" {
            guard !["failed", "incompatible-restore", "incompatible-parameters"].contains(db.status) else {
                throw Failure(
                    "RDS reports the restored instance \(db.identifier) \(db.status)",
                    hint: "see its events: aws rds describe-events --source-identifier \(db.identifier)")
            }
            guard !deadline.hasPassed else {
                throw Failure(
                    "\(db.identifier) is still \(db.status) after \(Units.duration(timeout))",
                    hint: "RDS goes on restoring it; watch it with aws rds describe-db-instances")
            }
            try each(db.status)
            sleepThread(seconds: poll)
            db = try instance(db.identifier) ?? db
        }
        return db
    }

    /// RestoreDBInstanceFromDBSnapshot into a new instance; answers it as RDS first describes it.
    package func restoreFromSnapshot(_ snapshot: String, target: String) throws -> DBInstance {
        let root = try client.query(
            .rds, action: "RestoreDBInstanceFromDBSnapshot", version: "2014-10-31",
            parameters: [("DBInstanceIdentifier", target), ("DBSnapshotIdentifier", snapshot)])
        guard let e = root.first("DBInstance") else {
            throw AWSError(
                service: "rds", operation: "RestoreDBInstanceFromDBSnapshot", status: 200, code: "MalformedResponse",
                serviceMessage: "the answer has no DBInstance")
        }
        return Self.instance(e)
    }
}

extension ElastiCache {
    var snapshots: QuerySnapshots {
        QuerySnapshots(
            client: client, service: .elasticache, version: "2015-02-02", element: "Snapshot",
            nameParameter: "SnapshotName", prefix: ""
        ) { e in
            e["SnapshotName"].map { name in
                HeldSnapshot(
                    identifier: name, arn: e["ARN"], source: e["ReplicationGroupId"] ?? e["CacheClusterId"] ?? "",
                    status: (e["SnapshotStatus"] ?? "").lowercased(),
                    createdAt: e.path("NodeSnapshots", "NodeSnapshot", "SnapshotCreateTime").flatMap {
                        AWSTime.parse($0.text)
                    }, kmsKeyId: e["KmsKeyId"])
            }
        }
    }

    /// CreateSnapshot of a replication group (a manual snapshot: kept until it is deleted).
    package func createSnapshot(replicationGroup: String, name: String) throws -> HeldSnapshot {
        try snapshots.create(name, of: [("ReplicationGroupId", replicationGroup)])
    }

    /// The snapshot, nil when ElastiCache does not know it.
    package func snapshot(_ name: String) throws -> HeldSnapshot? { try snapshots.describe(name) }

    package func deleteSnapshot(_ name: String) throws { try snapshots.delete(name) }
}

extension DynamoDB {
    // Names are AWS's wire format.
    // swift-format-ignore: AlwaysUseLowerCamelCase
    struct BackupDetails: Decodable {
        var BackupArn: String
        var BackupName: String?
        var BackupSizeBytes: Int64?
        var BackupStatus: String
        var BackupCreationDateTime: Double?
    }

    // Names are AWS's wire format.
    // swift-format-ignore: AlwaysUseLowerCamelCase
    struct BackupArnRequest: Encodable { var BackupArn: String }

    static func held(_ d: BackupDetails, table: String) -> HeldSnapshot {
        HeldSnapshot(
            identifier: d.BackupArn, arn: d.BackupArn, source: table, status: d.BackupStatus.lowercased(),
            bytes: d.BackupSizeBytes, createdAt: d.BackupCreationDateTime.map { Date(timeIntervalSince1970: $0) })
    }

    /// CreateBackup (an on-demand backup: kept until it is deleted, whatever PITR keeps).
    package func createBackup(table: String, name: String) throws -> HeldSnapshot {
        // Names are AWS's wire format.
        // swift-format-ignore: AlwaysUseLowerCamelCase
        struct Req: Encodable {
            var TableName: String
            var BackupName: String
        }
        // swift-format-ignore: AlwaysUseLowerCamelCase
        struct Res: Decodable { var BackupDetails: BackupDetails }
        let r = try client.json(
            .dynamodb, target: Self.target, operation: "CreateBackup", Req(TableName: table, BackupName: name),
            as: Res.self)
        return Self.held(r.BackupDetails, table: table)
    }

    /// The backup, nil when DynamoDB does not know it.
    package func backup(_ arn: String) throws -> HeldSnapshot? {
        // Names are AWS's wire format.
        // swift-format-ignore: AlwaysUseLowerCamelCase
        struct Source: Decodable { var TableName: String? }
        // swift-format-ignore: AlwaysUseLowerCamelCase
        struct Description: Decodable {
            var BackupDetails: BackupDetails
            var SourceTableDetails: Source?
        }
        // swift-format-ignore: AlwaysUseLowerCamelCase
        struct Res: Decodable { var BackupDescription: Description }
        do {
            let r = try client.json(
                .dynamodb, target: Self.target, operation: "DescribeBackup", BackupArnRequest(BackupArn: arn),
                as: Res.self)
            let d = r.BackupDescription
            guard d.BackupDetails.BackupStatus != "DELETED" else { return nil }
            return Self.held(d.BackupDetails, table: d.SourceTableDetails?.TableName ?? "")
        } catch let e as AWSError where e.isSnapshotNotFound {
            return nil
        }
    }

    package func deleteBackup(_ arn: String) throws {
        struct Res: Decodable {}
        _ = try client.json(
            .dynamodb, target: Self.target, operation: "DeleteBackup", BackupArnRequest(BackupArn: arn), as: Res.self)
    }

    /// RestoreTableFromBackup into a new table; answers it as described at once (CREATING).
    package func restoreTableFromBackup(_ arn: String, target: String) throws -> TableDescription {
        // Names are AWS's wire format.
        // swift-format-ignore: AlwaysUseLowerCamelCase
        struct Req: Encodable {
            var TargetTableName: String
            var BackupArn: String
        }
        // swift-format-ignore: AlwaysUseLowerCamelCase
        struct Res: Decodable { var TableDescription: TableDescription }
        return try client.json(
            .dynamodb, target: Self.target, operation: "RestoreTableFromBackup",
            Req(TargetTableName: target, BackupArn: arn), as: Res.self
        ).TableDescription
    }
}
