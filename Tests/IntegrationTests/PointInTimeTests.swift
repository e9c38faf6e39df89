import Foundation
import Testing
import WhatIfAgentTesting
import WhatIfCore
import WhatIfProtocol
import WhatIfTesting

/// Point-in-time recovery of the managed services through whatifctl restore --to-time, against moto,
/// with the checks AWS makes and moto does not: recovery on, the time inside the window, a new target.
@Suite(.serialized) struct PointInTimeTests {
    let fx: BackupFixture
    init() throws { fx = BackupFixture(stack: try Stack.shared()) }

    @Test func dynamoDBTableToATimeIntoANewTable() throws {
        let table = try fx.seedTable(30)
        let a = try AgentProcess(fx.config(db: nil, table: table, backups: "  location: \(TempDir().path)\n"))
        let off = try a.ctl(["restore", "dynamodb", "--to-time", "latest", "--target-table", table + "-pitr"])
        #expect(off.status == 1)
        #expect(
            off.output.contains("point-in-time recovery is off for table \(table)")
                && off.output.contains("aws dynamodb update-continuous-backups --table-name \(table)"), "\(off.output)")

        _ = try fx.ddb(["pitr", fx.envFile, table])
        let early = try a.ctl([
            "restore", "dynamodb", "--to-time", "2001-01-01T00:00:00Z", "--target-table", table + "-x",
        ])
        #expect(early.status == 1 && early.output.contains("is before the earliest restorable time"), "\(early.output)")
        let r = try a.ctl(["restore", "dynamodb", "--to-time", "latest", "--target-table", table + "-pitr", "--json"])
        #expect(r.status == 0, "\(r.output)")
        let job = try decodeJSON(JobInfo.self, r)
        let result = try #require(try job.result(as: JobSpecs.RestorePointInTime.self))
        #expect(result.status == "ACTIVE" && result.source == table && result.arn != nil, "\(result)")
        #expect(result.latestRestorable != nil && result.earliestRestorable != nil)
        #expect(try fx.ddb(["count", fx.envFile, table + "-pitr"]) == "30")
        let again = try a.ctl(["restore", "dynamodb", "--to-time", "latest", "--target-table", table + "-pitr"])
        #expect(again.status == 1 && again.output.contains("already exists"), "\(again.output)")
    }

    @Test func rdsInstanceToATimeIntoANewInstance() throws {
        let id = "whatif-pitr-\(getpid())-\(Int.random(in: 1000...9999))"
        _ = try fx.ddb(["rds-instance", fx.envFile, id, "7"])
        _ = try fx.ddb(["rds-instance", fx.envFile, id + "-nobackups", "0"])
        var config = fx.config(db: nil, table: nil, backups: "  location: \(TempDir().path)\n")
        config.rds = "  instance_id: \(id)\n"
        let a = try AgentProcess(config)
        let late = try a.ctl(["restore", "rds", "--to-time", "2099-01-01T00:00:00Z", "--target-instance", id + "-x"])
        #expect(late.status == 1 && late.output.contains("is after the latest restorable time"), "\(late.output)")
        let r = try a.ctl(["restore", "rds", "--to-time", "latest", "--target-instance", id + "-copy"])
        #expect(r.status == 0, "\(r.output)")
        #expect(r.stdout.contains("restored instance \(id) at the latest restorable time into \(id)-copy: available"))
        #expect(r.stdout.contains("endpoint "), "\(r.output)")
        let again = try a.ctl(["restore", "rds", "--to-time", "latest", "--target-instance", id + "-copy"])
        #expect(again.status == 1 && again.output.contains("already exists"), "\(again.output)")

        config.rds = "  instance_id: \(id)-nobackups\n"
        let b = try AgentProcess(config)
        let none = try b.ctl(["restore", "rds", "--to-time", "latest", "--target-instance", id + "-y"])
        #expect(none.status == 1, "\(none.output)")
        #expect(
            none.output.contains("automated backups are off") && none.output.contains("--backup-retention-period 7"),
            "\(none.output)")
    }

    @Test func usageAndThePostgresRefusal() throws {
        let a = try AgentProcess(fx.config(db: nil, table: "pitr-usage", backups: "  location: \(TempDir().path)\n"))
        let both = try a.ctl([
            "restore", "dynamodb", "dynamodb-20260101T000000Z-abcd", "--to-time", "latest", "--target-table", "t2",
        ])
        #expect(both.status == 64 && both.stderr.contains("not both"), "\(both.output)")
        let force = try a.ctl(["restore", "dynamodb", "--to-time", "latest", "--target-table", "t2", "--force"])
        #expect(force.status == 64, "\(force.output)")
        let bad = try a.ctl(["restore", "rds", "--to-time", "yesterday", "--target-instance", "x"])
        #expect(bad.status == 64 && bad.stderr.contains("--to-time"), "\(bad.output)")
        let pg = try a.ctl(["restore", "postgres", "--to-time", "latest", "--target-db", "x"])
        #expect(pg.status == 64 && pg.stderr.contains("no point-in-time recovery"), "\(pg.output)")
        let noRDS = try a.ctl(["restore", "rds", "--to-time", "latest", "--target-instance", "x"])
        #expect(noRDS.status == 78 && noRDS.output.contains("RDS is not configured"), "\(noRDS.output)")
    }
}

/// Preflight asks for what point-in-time recovery needs in test and production.
@Suite struct PointInTimePreflightTests {
    @Test func pitrOffAndShortRDSRetentionFailWithTheFix() throws {
        let fx = try MigrationFixture()
        let table = MigrationFixture.uniqueTable()
        let short = "whatif-pf-\(getpid())-\(Int.random(in: 1000...9999))"
        _ = try fx.ddb(["rds-instance", fx.envFile, short, "1"])
        var config = TestConfig.forStack(fx.stack, table: table)
        config.environment = "test"
        config.postgres = nil
        config.redis = nil
        config.rds = "  instance_id: \(short)\n"
        config.backups = "  location: \(fx.dir.file("backups"))\n"
        let a = try AgentProcess(config)
        #expect(try a.ctl(["tables", "setup"]).status == 0)
        let r = try a.ctl(["preflight"])
        #expect(PreflightTests.result(r.stdout, "dynamodb pitr") == "FAIL", "\(r.output)")
        #expect(r.output.contains("aws dynamodb update-continuous-backups --table-name \(table)"), "\(r.output)")
        #expect(PreflightTests.result(r.stdout, "rds backups") == "FAIL", "\(r.output)")
        #expect(r.output.contains("\(short) keeps 1 day of automated backups"), "\(r.output)")
        #expect(r.output.contains("--backup-retention-period 7"), "\(r.output)")

        _ = try fx.ddb(["pitr", fx.envFile, table])
        let week = short + "-w"
        _ = try fx.ddb(["rds-instance", fx.envFile, week, "7"])
        config.rds = "  instance_id: \(week)\n"
        let b = try AgentProcess(config)
        let ok = try b.ctl(["preflight"])
        #expect(PreflightTests.result(ok.stdout, "dynamodb pitr") == "PASS", "\(ok.output)")
        #expect(PreflightTests.result(ok.stdout, "rds backups") == "PASS", "\(ok.output)")
    }
}
