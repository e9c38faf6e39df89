import Foundation
import Testing
import WhatIfAgentTesting
import WhatIfCore
import WhatIfProtocol
import WhatIfTesting

/// PostgreSQL read replicas against a real streaming replica (scripts/stack start --only pg-replica:
/// pg_basebackup -R of the stack's server): status and ReplicaLag from the replica itself, an alarm on
/// the lag, and backups taken from the replica, refused while it lags. Lag is made by pausing replay on
/// the replica while the primary writes, and ends when replay resumes.
@Suite(.serialized) struct ReplicaTests {
    let fx: BackupFixture
    init() throws { fx = BackupFixture(stack: try Stack.shared()) }

    /// Starts the stack's replica (once; it stays up until `scripts/stack stop`); its port.
    func replicaPort() throws -> Int {
        let r = try Run.command(
            ["\(TestPaths.repository)/scripts/stack", "start", "--dir", fx.stack.directory, "--only", "pg-replica"],
            timeout: 180)
        guard r.status == 0 else { throw TestFailure("the replica did not start: \(r.output)") }
        let env = try String(contentsOfFile: "\(fx.stack.directory)/stack.env", encoding: .utf8)
        let line = try #require(env.split(separator: "\n").first { $0.hasPrefix("WHATIF_PG_REPLICA_PORT=") })
        return try #require(Int(line.dropFirst("WHATIF_PG_REPLICA_PORT=".count)))
    }

    func onReplica(_ port: Int, _ db: String, _ sql: String) throws -> String {
        let r = try Run.command(
            [
                "\(BackupFixture.pgBin)/psql", "-X", "-At", "-v", "ON_ERROR_STOP=1", "-p", String(port), "-d", db, "-c",
                sql,
            ],
            environment: fx.pgEnv)
        guard r.status == 0 else { throw TestFailure("psql on the replica: \(r.output)") }
        return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func replicaState(_ a: AgentProcess) throws -> PostgresReplicaState? {
        let r = try a.ctl(["status", "--fresh", "--json"])
        let report = try decodeJSON(StatusReport.self, r)
        return report.services.first { $0.service == .postgres }?.postgres?.replicas?.first
    }

    @Test func statusLagAlarmAndBackupsFromTheReplica() throws {
        let port = try replicaPort()
        let db = try fx.makeDatabase()
        defer {
            _ = try? onReplica(port, "postgres", "SELECT pg_wal_replay_resume()")
            fx.dropDatabase(db)
        }
        // The database reaches the replica.
        #expect(eventually(timeout: 30) { (try? onReplica(port, db, "SELECT count(*) FROM app.kinds")) == "5000" })

        var config = fx.config(
            db: db, table: nil,
            backups: "  location: \(TempDir().path)\n  postgres:\n    from: replica\n    max_replica_lag: 3s\n")
        config.postgres =
            (config.postgres ?? "")
            + "  replicas:\n    - name: users-replica-1\n      host: 127.0.0.1\n      port: \(port)\n"
        config.metrics = "  interval: 1s\n  evaluation_interval: 1s\n"
        config.alarms = """
              - AlarmName: replica-lag
                Namespace: AWS/RDS
                MetricName: ReplicaLag
                Dimensions: [{Name: DBInstanceIdentifier, Value: users-replica-1}]
                Statistic: Maximum
                Period: 10
                EvaluationPeriods: 1
                Threshold: 3
                ComparisonOperator: GreaterThanThreshold
                TreatMissingData: notBreaching

            """
        let a = try AgentProcess(config)

        // In step: listed with no lag; the primary lists its standby; a backup comes from the replica.
        let fresh = try #require(try replicaState(a))
        #expect(fresh.reachable && fresh.inRecovery == true && fresh.error == nil, "\(fresh)")
        #expect((fresh.lagSeconds ?? 99) < 3, "\(fresh)")
        let text = try a.ctl(["status", "--fresh"])
        #expect(text.stdout.contains("replica users-replica-1 (127.0.0.1:\(port)"), "\(text.output)")
        #expect(text.stdout.contains("standby walreceiver"), "\(text.output)")
        let b = try a.ctl(["backup", "postgres", "--json"])
        #expect(b.status == 0, "\(b.output)")
        let part = try #require(try decodeJSON(JobInfo.self, b).result(as: JobSpecs.Backup.self)?.parts.first)
        let entry = try decodeJSON(BackupEntry.self, try a.ctl(["backups", "show", try #require(part.id), "--json"]))
        #expect(entry.manifest.source.replica == "users-replica-1" && entry.manifest.source.port == port)
        #expect(entry.manifest.tables?["app.kinds"] == 5000)

        // Replay paused while the primary writes: the lag grows, status and ReplicaLag say so, the alarm
        // fires, and a backup from the replica is refused naming it.
        _ = try onReplica(port, "postgres", "SELECT pg_wal_replay_pause()")
        let writer = Thread {
            for i in 0..<40 {
                _ = try? fx.psql(db, "INSERT INTO app.kinds (t) VALUES ('lag \(i)')")
                Thread.sleep(forTimeInterval: 0.25)
            }
        }
        writer.start()
        #expect(
            eventually(timeout: 30) {
                ((try? replicaState(a))??.lagSeconds ?? 0) > 3
            }, "the lag never showed")
        let lagging = try #require(try replicaState(a))
        #expect(lagging.replayPaused == true)
        #expect(
            eventually(timeout: 30) {
                (try? a.client.alarmHistory("replica-lag"))?.items.contains { $0.to == "ALARM" } == true
            }, "the ReplicaLag alarm never fired")
        let refused = try a.ctl(["backup", "postgres"])
        #expect(refused.status == 1, "\(refused.output)")
        #expect(
            refused.output.contains("no replica to back up from") && refused.output.contains("users-replica-1 lags"),
            "\(refused.output)")

        // Replay resumes: back in step, backups from the replica again.
        _ = try onReplica(port, "postgres", "SELECT pg_wal_replay_resume()")
        #expect(eventually(timeout: 30) { ((try? replicaState(a))??.lagSeconds ?? 99) < 3 })
        #expect(try a.ctl(["backup", "postgres"]).status == 0)
    }

    /// RDS lists an instance's read replicas (ReadReplicaDBInstanceIdentifiers); status shows them.
    @Test func rdsReadReplicasAreListed() throws {
        let id = "whatif-rr-\(getpid())-\(Int.random(in: 1000...9999))"
        _ = try fx.ddb(["rds-instance", fx.envFile, id, "7"])
        _ = try fx.ddb(["rds-replica", fx.envFile, id, id + "-replica"])
        var config = fx.config(db: nil, table: nil, backups: "  location: \(TempDir().path)\n")
        config.rds = "  instance_id: \(id)\n"
        let a = try AgentProcess(config)
        let report = try decodeJSON(StatusReport.self, try a.ctl(["status", "--fresh", "--json"]))
        let rds = try #require(report.services.first { $0.service == .rds }?.rds)
        #expect(rds.readReplicas == [id + "-replica"], "\(rds)")
        let text = try a.ctl(["status"])
        #expect(text.stdout.contains("read replicas \(id)-replica"), "\(text.output)")
    }

    @Test func aReplicaWithoutAHostAndDumpsFromNoReplicaAreConfigErrors() throws {
        let dir = TempDir()
        var bad = fx.config(db: nil, table: nil, backups: "  location: /tmp\n  postgres:\n    from: replica\n")
        bad.postgres = (bad.postgres ?? "") + "  replicas:\n    - name: x\n"
        let path = try dir.write("bad.yaml", bad.render(socket: dir.file("s.sock"), stateDir: dir.path))
        let r = try Run.command([TestPaths.binary("whatifd"), "--check-config", "--config", path])
        #expect(r.status == 78, "\(r.output)")
        #expect(r.stderr.contains("postgres.replicas[0] has no host"), "\(r.output)")
        #expect(r.stderr.contains("backups.postgres.from is replica but postgres.replicas lists none"), "\(r.output)")
    }
}
