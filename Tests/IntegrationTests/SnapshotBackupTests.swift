import Foundation
import Testing
import WhatIfAgentTesting
import WhatIfCore
import WhatIfProtocol
import WhatIfTesting

/// Snapshots AWS keeps (RDS CreateDBSnapshot, DynamoDB CreateBackup, ElastiCache CreateSnapshot) as
/// catalog entries, against moto: taken and read back, verified against the service, pruned by the same
/// retention (the snapshot deleted in AWS), restored into a new instance or table.
@Suite(.serialized) struct SnapshotBackupTests {
    let fx: BackupFixture
    init() throws { fx = BackupFixture(stack: try Stack.shared()) }

    /// What the services hold now, as `service name` lines.
    func held() throws -> Set<String> {
        Set(try fx.ddb(["snapshots", fx.envFile]).split(separator: "\n").map(String.init))
    }

    func backup(_ a: AgentProcess, _ kind: String) throws -> BackupPartResult {
        let r = try a.ctl(["backup", kind, "--json"])
        #expect(r.status == 0, "\(r.output)")
        let job = try decodeJSON(JobInfo.self, r)
        let run = try #require(try job.result(as: JobSpecs.Backup.self))
        let part = try #require(run.parts.first)
        #expect(part.ok && part.kind.rawValue == kind && part.verified == true, "\(part)")
        return part
    }

    @Test func rdsAndDynamoDBSnapshotsAreCatalogEntriesKeptByRetention() throws {
        let instance = "whatif-snap-\(getpid())-\(Int.random(in: 1000...9999))"
        _ = try fx.ddb(["rds-instance", fx.envFile, instance, "7"])
        let table = try fx.seedTable(25)
        var config = fx.config(
            db: nil, table: table,
            backups: """
                  location: \(TempDir().path)
                  snapshots:
                    rds: true
                    dynamodb: true
                    poll: 100ms
                  retention:
                    keep_last: 1
                    daily: 0
                    weekly: 0
                    monthly: 0

                """)
        config.rds = "  instance_id: \(instance)\n"
        let a = try AgentProcess(config)

        // Taken, waited for and recorded as the service reads it back.
        let first = try backup(a, "rds-snapshot")
        let firstName = try #require(first.id).lowercased()
        #expect(try held().contains("rds \(firstName)"))
        let shown = try a.ctl(["backups", "show", try #require(first.id)])
        #expect(shown.stdout.contains("snapshot   \(firstName) in rds"), "\(shown.output)")
        #expect(shown.stdout.contains("kind       rds-snapshot (CreateDBSnapshot, snapshot)"), "\(shown.output)")

        // The same retention as every kind: keep_last 1 deletes the older snapshot in RDS too.
        let second = try backup(a, "rds-snapshot")
        let secondName = try #require(second.id).lowercased()
        var now = try held()
        #expect(now.contains("rds \(secondName)") && !now.contains("rds \(firstName)"), "\(now)")
        let list = try decodeJSON(BackupList.self, try a.ctl(["backups", "list", "--kind", "rds-snapshot", "--json"]))
        #expect(list.backups.map(\.id) == [second.id], "\(list.backups.map(\.id))")

        // Restored into a new instance, which must not exist; the endpoint is reported.
        let target = instance + "-restored"
        let r = try a.ctl(["restore", "rds", try #require(second.id), "--target-instance", target])
        #expect(r.status == 0, "\(r.output)")
        #expect(r.stdout.contains("into \(target)") && r.stdout.contains("endpoint "), "\(r.output)")
        let again = try a.ctl(["restore", "rds", try #require(second.id), "--target-instance", target])
        #expect(again.status == 1 && again.output.contains("\(target) already exists"), "\(again.output)")
        let wrong = try a.ctl(["restore", "rds", "postgres-20260101T000000Z-abcd", "--target-instance", target])
        #expect(wrong.status == 64 && wrong.stderr.contains("is not an rds-snapshot backup"), "\(wrong.output)")

        // A snapshot deleted behind the agent's back fails verify, naming it.
        _ = try fx.ddb(["delete-rds-snapshot", fx.envFile, secondName])
        let v = try a.ctl(["backups", "verify", try #require(second.id)])
        #expect(v.status == 1 && v.output.contains("the snapshot \(secondName) no longer exists in rds"), "\(v.output)")
        // Pruning a backup whose snapshot is gone still removes its manifest.
        _ = try backup(a, "rds-snapshot")
        let afterPrune = try decodeJSON(
            BackupList.self, try a.ctl(["backups", "list", "--kind", "rds-snapshot", "--json"]))
        #expect(afterPrune.backups.count == 1 && afterPrune.backups.first?.id != second.id)

        // DynamoDB on-demand backups: the same, restored by DynamoDB into a new table.
        let ddbBackup = try backup(a, "dynamodb-backup")
        let entry = try decodeJSON(
            BackupEntry.self, try a.ctl(["backups", "show", try #require(ddbBackup.id), "--json"]))
        let arn = try #require(entry.manifest.snapshot?.arn, "the manifest records the backup's ARN")
        now = try held()
        #expect(now.contains("dynamodb \(arn)"), "\(now)")
        let restored = try a.ctl([
            "restore", "dynamodb", try #require(ddbBackup.id), "--target-table", table + "-from-backup", "--json",
        ])
        #expect(restored.status == 0, "\(restored.output)")
        let result = try #require(try decodeJSON(JobInfo.self, restored).result(as: JobSpecs.Restore.self))
        #expect(result.kind == .dynamodbBackup && result.created && result.target == table + "-from-backup")
        #expect(try fx.ddb(["count", fx.envFile, table + "-from-backup"]) == "25")
        let force = try a.ctl([
            "restore", "dynamodb", try #require(ddbBackup.id), "--target-table", table, "--force", "--yes",
        ])
        #expect(force.status == 1 && force.output.contains("only into a new table"), "\(force.output)")
        _ = try backup(a, "dynamodb-backup")
        #expect(!(try held()).contains("dynamodb \(arn)"), "keep_last 1 deleted the older DynamoDB backup")
    }

    @Test func elastiCacheSnapshotsAndWhatTheConfigMustSay() throws {
        let group = "whatif-snap-\(getpid())-\(Int.random(in: 1000...9999))"
        _ = try fx.ddb(["replication-group", fx.envFile, group, "on"])
        var config = fx.config(
            db: nil, table: nil,
            backups: "  location: \(TempDir().path)\n  snapshots:\n    elasticache: true\n    poll: 100ms\n")
        config.elasticache = "  replication_group_id: \(group)\n"
        config.dynamodb = nil
        let a = try AgentProcess(config)
        let part = try backup(a, "elasticache-snapshot")
        let id = try #require(part.id)
        #expect(try held().contains("elasticache \(id.lowercased())"))
        let restore = try a.ctl(["backups", "verify", id])
        #expect(restore.status == 0, "\(restore.output)")
        // The drill leaves AWS's snapshots to AWS; nothing else is configured, so it says so.
        let drill = try a.ctl(["maintenance", "drill"])
        #expect(drill.status == 78 && drill.output.contains("only snapshots AWS keeps"), "\(drill.output)")
        // A kind not turned on is refused naming the setting.
        let rds = try a.ctl(["backup", "rds-snapshot"])
        #expect(rds.status == 78 && rds.output.contains("backups.snapshots.rds: true"), "\(rds.output)")

        // The config refuses a snapshot of a service it does not configure, naming the line.
        var bad = fx.config(db: nil, table: nil, backups: "  location: /tmp\n  snapshots:\n    rds: true\n")
        bad.dynamodb = nil
        let dir = TempDir()
        let path = try dir.write("bad.yaml", bad.render(socket: dir.file("s.sock"), stateDir: dir.path))
        let check = try Run.command([TestPaths.binary("whatifd"), "--check-config", "--config", path])
        #expect(check.status == 78, "\(check.output)")
        #expect(check.output.contains("backups.snapshots.rds is on but rds is not configured"), "\(check.output)")
    }
}
