import Foundation
import Testing
import WhatIfAgentTesting
import WhatIfCore
import WhatIfProtocol
import WhatIfTesting

/// The IAM policies of docs/iam/ against the calls whatifd really makes: each AWS call is logged at
/// debug level with the action it needed, and every action a feature used must be in its policies.
@Suite(.serialized) struct IAMPolicyTests {
    let fx: BackupFixture
    init() throws { fx = BackupFixture(stack: try Stack.shared()) }

    /// The actions the named policy files allow.
    static func allowed(_ names: [String]) throws -> Set<String> {
        var out: Set<String> = []
        for n in names {
            let data = try Data(contentsOf: URL(fileURLWithPath: "\(TestPaths.repository)/docs/iam/\(n).json"))
            let doc = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
            for s in try #require(doc["Statement"] as? [[String: Any]]) {
                #expect(s["Effect"] as? String == "Allow")
                out.formUnion(try #require(s["Action"] as? [String]))
            }
        }
        return out
    }

    /// The actions whatifd logged.
    static func used(_ log: String) -> Set<String> {
        Set(log.matches(of: /iam_action=([a-z0-9-]+:[A-Za-z0-9]+)/).map { String($0.output.1) })
    }

    @Test func backupsWithEncryptionVerifyRestoreAndDrillStayInTheirPolicies() throws {
        let table = try fx.seedTable(40)
        let bucket = "whatif-iam-\(getpid())"
        _ = try fx.ddb(["mkbucket", fx.envFile, bucket])
        let key = try fx.ddb(["kms-key", fx.envFile])
        let location = TempDir("whatif-backups")
        var config = fx.config(
            db: nil, table: table,
            backups: """
                  location: \(location.path)
                  s3:
                    bucket: \(bucket)
                    kms_key_id: \(key)
                  encryption:
                    kms_key_id: \(key)

                """)
        config.logLevel = "debug"
        let a = try AgentProcess(config)
        for args in [
            ["status"], ["backup", "dynamodb"], ["backups", "verify", "--all"], ["backups", "prune"],
            ["maintenance", "drill"],
        ] {
            let r = try a.ctl(args)
            #expect(r.status == 0, "\(args): \(r.output)")
        }
        let id = try #require(try a.client.backups().backups.first?.id)
        let restore = try a.ctl(["restore", "dynamodb", id, "--target-table", table + "-iam", "--from", "s3"])
        #expect(restore.status == 0, "\(restore.output)")
        _ = try fx.ddb(["pitr", fx.envFile, table])
        let pitr = try a.ctl(["restore", "dynamodb", "--to-time", "latest", "--target-table", table + "-at"])
        #expect(pitr.status == 0, "\(pitr.output)")
        let used = Self.used(a.process.log)
        // The run did reach every part: the table, S3, KMS.
        #expect(
            used.isSuperset(of: ["dynamodb:Scan", "s3:PutObject", "s3:GetObject", "kms:GenerateDataKey", "kms:Decrypt"])
        )
        let allowed = try Self.allowed([
            "status", "backup-dynamodb", "backup-s3", "backup-encryption-kms", "restore-dynamodb",
            "restore-point-in-time",
        ])
        #expect(used.subtracting(allowed).isEmpty, "not in docs/iam: \(used.subtracting(allowed).sorted())")
    }

    @Test func snapshotsAndTheirRestoresStayInTheirPolicies() throws {
        let table = try fx.seedTable(10)
        let instance = "whatif-iam-\(getpid())-\(Int.random(in: 1000...9999))"
        _ = try fx.ddb(["rds-instance", fx.envFile, instance, "7"])
        _ = try fx.ddb(["replication-group", fx.envFile, instance, "off"])
        var config = fx.config(
            db: nil, table: table,
            backups: """
                  location: \(TempDir().path)
                  snapshots: {rds: true, dynamodb: true, elasticache: true, poll: 100ms}
                  retention: {keep_last: 1, daily: 0, weekly: 0, monthly: 0}

                """)
        config.rds = "  instance_id: \(instance)\n"
        config.elasticache = "  replication_group_id: \(instance)\n"
        config.logLevel = "debug"
        let a = try AgentProcess(config)
        for args in [
            ["status"], ["backup", "rds-snapshot"], ["backup", "dynamodb-backup"], ["backup", "elasticache-snapshot"],
            ["backup", "rds-snapshot"], ["backup", "dynamodb-backup"], ["backup", "elasticache-snapshot"],
            ["backups", "verify", "--all"],
        ] {
            let r = try a.ctl(args)
            #expect(r.status == 0, "\(args): \(r.output)")
        }
        let list = try a.client.backups().backups
        let rds = try #require(list.first { $0.kind == .rdsSnapshot }?.id)
        let ddb = try #require(list.first { $0.kind == .dynamodbBackup }?.id)
        #expect(try a.ctl(["restore", "rds", rds, "--target-instance", instance + "-iam"]).status == 0)
        #expect(try a.ctl(["restore", "dynamodb", ddb, "--target-table", table + "-iam"]).status == 0)
        let used = Self.used(a.process.log)
        #expect(
            used.isSuperset(of: [
                "rds:CreateDBSnapshot", "rds:DeleteDBSnapshot", "dynamodb:CreateBackup", "dynamodb:DeleteBackup",
                "elasticache:CreateSnapshot", "elasticache:DeleteSnapshot", "rds:RestoreDBInstanceFromDBSnapshot",
                "dynamodb:RestoreTableFromBackup",
            ]), "\(used.sorted())")
        let allowed = try Self.allowed(["status", "snapshots", "restore-snapshot"])
        #expect(used.subtracting(allowed).isEmpty, "not in docs/iam: \(used.subtracting(allowed).sorted())")
    }

    @Test func theMigrationStaysInItsPolicy() throws {
        let fixtures = "\(TestPaths.repository)/Tests/WhatIfMigrationTests/Fixtures/mongo"
        let table = MigrationFixture.uniqueTable()
        var config = try MigrationFixture().config(table: table)
        config.logLevel = "debug"
        let a = try AgentProcess(config)
        for args in [
            ["tables", "setup"], ["migrate", "scenarios", "--from", fixtures + "/scenarios.bson"],
            ["migrate", "verify", "--from", fixtures + "/scenarios.bson"], ["preflight", "development"],
        ] {
            _ = try a.ctl(args)
        }
        let used = Self.used(a.process.log)
        #expect(used.isSuperset(of: ["dynamodb:CreateTable", "dynamodb:BatchWriteItem", "dynamodb:Scan"]), "\(used)")
        let allowed = try Self.allowed(["status", "migration"])
        #expect(used.subtracting(allowed).isEmpty, "not in docs/iam: \(used.subtracting(allowed).sorted())")
    }
}
