import Foundation
import Testing
import WhatIfAgentTesting
import WhatIfClient
import WhatIfCore
import WhatIfProtocol
import WhatIfTesting

#if canImport(Glibc)
    import Glibc
#endif

/// Tables, migrations and verification end to end: whatifd on the shared moto, through whatifctl.
struct MigrationFixture {
    let stack: StackInfo
    let dir = TempDir("whatif-migration")

    init() throws { stack = try Stack.shared() }

    var envFile: String { "\(stack.directory)/stack.env" }

    func ddb(_ args: [String], timeout: Double = 600) throws -> String {
        let r = try Run.command(
            ["python3", "\(TestPaths.repository)/Tests/tools/ddb_tool.py"] + args, timeout: timeout)
        guard r.status == 0 else { throw TestFailure("ddb_tool \(args.first ?? ""): \(r.output)") }
        return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// `n` documents written by pymongo's bson (with `bad`, 9 of 5,000 cannot be items: 5 without
    /// userId, 3 with a regex (one of them also without userId), 2 repeating a scenarioId).
    func generate(_ n: Int, bad: Bool = false, seed: Int = 1) throws -> String {
        let path = dir.file("scenarios-\(n)-\(seed)\(bad ? "-bad" : "").bson")
        let r = try Run.command(
            [
                "python3", "\(TestPaths.repository)/Tests/tools/bson_transform.py", "--generate", String(n), path,
                "--seed", String(seed),
            ] + (bad ? ["--bad"] : []), timeout: 300)
        guard r.status == 0 else { throw TestFailure("generate: \(r.output)") }
        return path
    }

    /// The newest finished job's result of a kind.
    func lastResult<T: Decodable>(_ a: AgentProcess, _ kind: String, as: T.Type) throws -> T {
        guard let job = try a.client.jobs().first(where: { $0.kind == kind && $0.result != nil }),
            let result = job.result
        else { throw TestFailure("no \(kind) result") }
        return try APICoding.decode(T.self, from: try APICoding.encode(result))
    }

    static func uniqueTable() -> String { "mig-\(getpid())-\(Int.random(in: 100_000...999_999))" }

    func config(table: String, backups: String? = nil, aws endpoint: String? = nil) -> TestConfig {
        var c = TestConfig.forStack(stack, table: table)
        c.postgres = nil
        c.redis = nil
        if let endpoint { c.aws = c.aws?.replacingOccurrences(of: stack.motoEndpoint, with: endpoint) }
        // moto is shared with every other suite running meanwhile: a whole-table scan page can take a while.
        c.aws = (c.aws ?? "") + "  timeout: 60s\n"
        c.backups = backups ?? "  location: \(dir.file("backups"))\n"
        return c
    }
}

@Suite(.serialized) struct TableSetupTests {
    let fx: MigrationFixture
    init() throws { fx = try MigrationFixture() }

    @Test func setupCreatesComparesAndRecreatesOnlyWithConsent() throws {
        let table = MigrationFixture.uniqueTable()
        let a = try AgentProcess(fx.config(table: table))
        let created = try a.ctl(["tables", "setup"])
        #expect(created.status == 0, "\(created.output)")
        #expect(created.stdout.contains("\(table) (us-east-1): created, PAY_PER_REQUEST"), "\(created.output)")
        let described = try fx.ddb(["describe", fx.envFile, table])
        #expect(described.contains("userId-createdAt-index") && described.contains("publicShard-createdAt-index"))
        #expect(described.contains("PAY_PER_REQUEST"))
        #expect(!described.contains("BOOL"), "no Boolean key attribute: \(described)")
        let again = try a.ctl(["tables", "setup", "--json"])
        #expect(again.status == 0, "\(again.output)")
        #expect(try fx.lastResult(a, "tables.setup", as: TablesReport.self).outcome == "matches")

        // A table made by hand with the user index only, projecting keys only: every difference is listed.
        let wrong = MigrationFixture.uniqueTable()
        _ = try fx.ddb(["wrong-table", fx.envFile, wrong])
        let b = try AgentProcess(fx.config(table: wrong))
        let differs = try b.ctl(["tables", "setup"])
        #expect(differs.status == 1, "\(differs.output)")
        #expect(differs.output.contains("index publicShard-createdAt-index is missing"), "\(differs.output)")
        #expect(differs.output.contains("projects KEYS_ONLY, expected ALL"), "\(differs.output)")
        // --force without --yes (and without a terminal) is refused; with --yes, a backup comes first.
        let refused = try b.ctl(["tables", "setup", "--force"])
        #expect(refused.status == 64, "\(refused.output)")
        let forced = try b.ctl(["tables", "setup", "--force", "--yes"])
        #expect(forced.status == 0, "\(forced.output)")
        #expect(forced.stdout.contains("recreated"), "\(forced.output)")
        #expect(forced.stdout.contains("backup taken first: dynamodb-"), "\(forced.output)")
        #expect(try b.client.backups().backups.count == 1)
        #expect(try b.ctl(["tables", "setup"]).status == 0)
    }

    /// A table that only lacks an index: preflight and setup point at --add-missing, which adds it in place
    /// (UpdateTable, waited for until ACTIVE) and keeps the items; a difference it cannot fix stays named.
    @Test func missingIndexesAreAddedInPlace() throws {
        let old = MigrationFixture.uniqueTable()
        _ = try fx.ddb(["old-table", fx.envFile, old])
        let a = try AgentProcess(fx.config(table: old))
        let differs = try a.ctl(["tables", "setup"])
        #expect(differs.status == 1 && differs.output.contains("--add-missing"), "\(differs.output)")
        let preflight = try a.ctl(["preflight", "--json"])
        let record = try APICoding.decode(JobInfo.self, from: Array(preflight.stdout.utf8))
        let item = try #require(
            try record.result(as: JobSpecs.Preflight.self)?.items.first { $0.check == "table schema" })
        #expect(
            item.result == "FAIL" && item.hint?.contains("tables setup development --add-missing") == true, "\(item)")

        let added = try a.ctl(["tables", "setup", "--add-missing"])
        #expect(added.status == 0, "\(added.output)")
        #expect(
            added.stdout.contains("updated") && added.output.contains("index publicShard-createdAt-index is ACTIVE"))
        #expect(try fx.ddb(["describe", fx.envFile, old]).contains("publicShard-createdAt-index"))
        #expect(try fx.ddb(["count", fx.envFile, old]) == "3", "the items stay")
        #expect(try a.ctl(["tables", "setup"]).status == 0)

        // A projection that differs cannot be fixed in place: still named, with the recreate advice.
        let wrong = MigrationFixture.uniqueTable()
        _ = try fx.ddb(["wrong-table", fx.envFile, wrong])
        let b = try AgentProcess(fx.config(table: wrong))
        let partly = try b.ctl(["tables", "setup", "--add-missing"])
        #expect(partly.status == 1 && partly.output.contains("projects KEYS_ONLY, expected ALL"), "\(partly.output)")
        #expect(!partly.stdout.contains("difference: index publicShard-createdAt-index is missing"), "\(partly.output)")
        #expect(partly.output.contains("--force --yes"), "\(partly.output)")
        #expect(try b.ctl(["tables", "setup", "--add-missing", "--force"]).status == 64)
    }

    @Test func templatePassesCfnLint() throws {
        var config = fx.config(table: MigrationFixture.uniqueTable())
        // Alarms of AWS's namespaces become AWS::CloudWatch::Alarm pointed at the template's resources;
        // the agent's own (WhatIf/*) are listed, not created.
        config.alarms = """
              - AlarmName: rds-cpu-high
                AlarmDescription: CPU above 80% for 15 minutes
                Namespace: AWS/RDS
                MetricName: CPUUtilization
                Dimensions: [{Name: DBInstanceIdentifier, Value: local}]
                Statistic: Average
                Period: 300
                EvaluationPeriods: 3
                Threshold: 80
                ComparisonOperator: GreaterThanThreshold
              - AlarmName: ddb-latency-p99
                Namespace: AWS/DynamoDB
                MetricName: SuccessfulRequestLatency
                Dimensions: [{Name: TableName, Value: x}, {Name: Operation, Value: GetItem}]
                ExtendedStatistic: p99
                Period: 60
                EvaluationPeriods: 5
                DatapointsToAlarm: 3
                Threshold: 50
                ComparisonOperator: GreaterThanThreshold
                TreatMissingData: notBreaching
              - AlarmName: agent-collector-down
                Namespace: WhatIf/Agent
                MetricName: CollectorUp
                Statistic: Minimum
                Period: 60
                EvaluationPeriods: 1
                Threshold: 1
                ComparisonOperator: LessThanThreshold

            """
        let a = try AgentProcess(config)
        let t = try a.ctl(["tables", "template", "test"])
        #expect(t.status == 0, "\(t.output)")
        let path = fx.dir.file("template.json")
        try t.stdout.write(toFile: path, atomically: true, encoding: .utf8)
        for needle in [
            "AWS::DynamoDB::Table", "publicShard-createdAt-index", "db.t3.micro", "\"MultiAZ\"", "StorageEncrypted",
            "AtRestEncryptionEnabled", "TransitEncryptionEnabled", "\"NumCacheClusters\"",
            "AWS::CloudWatch::Dashboard", "Alarmrdscpuhigh", "AWS::CloudWatch::Alarm",
            "\"ExtendedStatistic\" : \"p99\"",
            "agent-collector-down: WhatIf/Agent",
        ] {
            #expect(t.stdout.contains(needle), "\(needle)")
        }
        let template = try APICoding.decode(JSONValue.self, from: Array(t.stdout.utf8))
        let cpu = template["Resources"]?["Alarmrdscpuhigh"]?["Properties"]
        #expect(
            cpu?["Dimensions"] == [["Name": "DBInstanceIdentifier", "Value": ["Ref": "UsersDatabase"]]],
            "\(String(describing: cpu))")
        #expect(template["Resources"]?["Alarmagentcollectordown"] == nil)
        let lint = try Run.command(["cfn-lint", "--", path], timeout: 300)
        #expect(lint.status == 0, "cfn-lint: \(lint.output)")
    }
}

@Suite(.serialized) struct ScenarioMigrationTests {
    let fx: MigrationFixture
    init() throws { fx = try MigrationFixture() }

    /// Through a proxy that throttles, answers 500 and leaves items unprocessed: every item arrives once,
    /// rejects are counted and filed, and verify agrees; then verify finds an item altered behind its back.
    @Test func migrateThroughFaultsThenVerify() throws {
        let source = try fx.generate(2000, bad: true)
        let table = MigrationFixture.uniqueTable()
        let proxy = try FaultProxy(upstream: fx.stack.motoEndpoint)
        let a = try AgentProcess(fx.config(table: table, aws: proxy.url))
        #expect(try a.ctl(["tables", "setup"]).status == 0)

        // A dry run reads and validates everything and writes nothing.
        let dry = try a.ctl(["migrate", "scenarios", "--from", source, "--dry-run"])
        #expect(dry.status == 0, "\(dry.output)")
        #expect(dry.stdout.contains("dry-run: 2000 documents"), "\(dry.output)")
        #expect(dry.stdout.contains("4 rejected"), "\(dry.output)")
        #expect(try fx.ddb(["count", fx.envFile, table]) == "0")

        proxy.add(
            .init(
                operation: "BatchWriteItem", fault: .throttle(code: "ProvisionedThroughputExceededException"), count: 6)
        )
        proxy.add(.init(operation: "BatchWriteItem", fault: .serverError(status: 500), count: 4))
        proxy.add(.init(operation: "BatchWriteItem", fault: .unprocessed(keep: 7), count: 40))
        let run = try a.ctl(["migrate", "scenarios", "--from", source, "--workers", "4", "--json"])
        #expect(run.status == 0, "\(run.output)")
        let report = try fx.lastResult(a, "migrate.scenarios", as: ScenarioMigrationReport.self)
        #expect(report.documents == 2000)
        #expect(report.written == 1996)
        #expect(report.rejected == 4)
        // Throttling and 500s are retried by the AWS client first, then by the writer's own rounds.
        #expect(report.unprocessedRetried > 0, "\(report)")
        #expect(proxy.injected.value == 50)
        // The throttling halved the requests in flight; they started at --workers.
        #expect(report.peakConcurrency == 4 && (report.concurrencyCuts ?? 0) > 0, "\(report)")
        #expect(run.stdout.contains("halved") || run.stdout.contains("concurrencyCuts"), "\(run.output)")
        #expect(try fx.ddb(["count", fx.envFile, table]) == "1996")
        // The reject file holds each rejected document with its reason and bytes.
        let rejects = try String(contentsOfFile: try #require(report.rejectFile), encoding: .utf8)
            .split(separator: "\n")
        #expect(rejects.count == 4)
        #expect(rejects.contains { $0.contains("no userId") })
        #expect(rejects.contains { $0.contains("regular expression") && $0.contains("\"field\":\"pattern\"") })
        #expect(rejects.contains { $0.contains("duplicate scenarioId") })
        #expect(rejects.allSatisfy { $0.contains("\"bson\":\"") && $0.contains("\"_id\":\"") })
        // A public scenario carries its shard; a private one does not.
        for key in ["scenario_1", "scenario_2", "scenario_4", "scenario_5", "scenario_7", "scenario_8"] {
            let text = try fx.ddb(["get", fx.envFile, table, key])
            let item = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
            let isPublic = (item["isPublic"] as? [String: Any])?["BOOL"] as? Bool
            #expect(isPublic != nil, "isPublic stays a BOOL")
            #expect((item["publicShard"] != nil) == (isPublic == true), "\(key): \(text)")
        }

        let verify = try a.ctl(["migrate", "verify", "--from", source])
        #expect(verify.status == 0, "\(verify.output)")
        #expect(verify.stdout.contains("1996 match, 0 missing, 0 extra, 0 differ"), "\(verify.output)")

        // A rerun writes the same keys: still no duplicates.
        let rerun = try a.ctl(["migrate", "scenarios", "--from", source])
        #expect(rerun.status == 0, "\(rerun.output)")
        #expect(try fx.ddb(["count", fx.envFile, table]) == "1996")

        let altered = try fx.ddb(["alter", fx.envFile, table])
        let bad = try a.ctl(["migrate", "verify", "--from", source])
        #expect(bad.status == 1, "\(bad.output)")
        #expect(bad.stdout.contains("1 missing, 1 extra, 1 differ"), "\(bad.output)")
        #expect(bad.stdout.contains("altered behind the migration"), "\(bad.output)")
        #expect(bad.stdout.contains("extra zz-extra"), "\(altered) \(bad.output)")
        proxy.clear()
    }

    /// Starts a migration of `source` into a new table, slowed down, and SIGKILLs whatifd once half of it
    /// is done and a checkpoint is on disk. Returns the table, the config to go on with, and the killed
    /// agent (whose folder holds the state).
    func migrateAndKill(_ source: String) throws -> (String, TestConfig, AgentProcess) {
        let table = MigrationFixture.uniqueTable()
        let proxy = try FaultProxy(upstream: fx.stack.motoEndpoint)
        var config = fx.config(table: table, aws: proxy.url)
        let a = try AgentProcess(config)
        #expect(try a.ctl(["tables", "setup"]).status == 0)
        // Each request waits 0.2 s: 50 items a request, two at a time, about 500 items a second. The
        // writer queues 64 requests (3,200 documents) ahead, so with 5,000 documents the read is still
        // going at the first checkpoint (after 2 s), when about 1,000 are written.
        proxy.add(.init(operation: "BatchWriteItem", fault: .delay(seconds: 0.2), count: 1_000_000))
        let documents = try #require(Int(source.split(separator: "-").dropLast().last ?? ""))
        let job = try a.client.startScenarioMigration(
            StartScenarioMigrationRequest(from: source, batchSize: 50, workers: 2))
        let checkpoints = a.dir.file("state") + "/checkpoints"
        let ready = eventually(timeout: 120) {
            ((try? a.client.job(job.id))?.progress?.done ?? 0) >= Double(documents / 2)
                && ((try? FileManager.default.contentsOfDirectory(atPath: checkpoints)) ?? []).contains {
                    // The checkpoint itself, not the temporary file it is written through.
                    $0.hasPrefix("migrate.scenarios") && $0.hasSuffix(".json")
                }
        }
        #expect(ready)
        #expect(((try? a.client.job(job.id))?.state) == .running)
        a.process.signal(SIGKILL)
        _ = a.process.wait(timeout: 10)
        // The rerun talks to moto directly (the proxy goes with this function).
        config = fx.config(table: table)
        return (table, config, a)
    }

    /// A write-capacity budget paces the writes: 600 items (a unit or more each) at 200 units/s take at
    /// least the two seconds past the first second's budget, and the report says how long writes waited.
    @Test func aWriteCapacityBudgetPacesTheWrites() throws {
        let source = try fx.generate(600, seed: 11)
        let table = MigrationFixture.uniqueTable()
        let a = try AgentProcess(fx.config(table: table))
        #expect(try a.ctl(["tables", "setup"]).status == 0)
        let refused = try a.ctl(["migrate", "scenarios", "--from", source, "--wcu-budget", "0"])
        #expect(refused.status == 64, "\(refused.output)")
        let watch = Stopwatch()
        let run = try a.ctl(["migrate", "scenarios", "--from", source, "--wcu-budget", "200"])
        #expect(run.status == 0, "\(run.output)")
        let report = try fx.lastResult(a, "migrate.scenarios", as: ScenarioMigrationReport.self)
        #expect(report.written == 600 && watch.elapsedSeconds >= 1.9, "\(watch.elapsedSeconds) s")
        #expect((report.waitedForBudget ?? 0) >= 1.5, "\(report)")
        #expect(run.stdout.contains("waiting for the write-capacity budget"), "\(run.output)")
    }

    /// whatifd SIGKILLed mid-migration: the rerun resumes from the checkpoint and the table ends with
    /// every item exactly once.
    @Test func killedMigrationResumes() throws {
        let source = try fx.generate(5_000, seed: 7)
        let (table, config, killed) = try migrateAndKill(source)
        let before = Int(try fx.ddb(["count", fx.envFile, table])) ?? 0
        #expect(before > 0 && before < 5_000, "\(before)")
        let b = try AgentProcess(config, stateDir: killed.dir.file("state"))
        let rerun = try b.ctl(["migrate", "scenarios", "--from", source, "--json"])
        #expect(rerun.status == 0, "\(rerun.output)")
        let report = try fx.lastResult(b, "migrate.scenarios", as: ScenarioMigrationReport.self)
        let resumedAt = try #require(report.resumedAt)
        #expect(resumedAt > 0 && resumedAt <= Int64(before), "resumed at \(resumedAt), \(before) were in the table")
        #expect(report.written < 5_000)
        #expect(try fx.ddb(["count", fx.envFile, table]) == "5000")
        let verify = try b.ctl(["migrate", "verify", "--from", source])
        #expect(verify.status == 0, "\(verify.output)")
    }

    /// A checkpoint is bound to the table it was written against: after the table is deleted and
    /// created again under its name, the rerun starts over and says so, and verify finds every item (it
    /// used to "resume at document 19601", write the rest and succeed on a table missing 19,600).
    @Test func aMigrationDoesNotResumeIntoARecreatedTable() throws {
        let source = try fx.generate(5_000, seed: 11)
        let (table, config, killed) = try migrateAndKill(source)
        // The table goes and comes back empty, under the same name.
        _ = try fx.ddb(["delete-table", fx.envFile, table])
        let b = try AgentProcess(config, stateDir: killed.dir.file("state"))
        #expect(try b.ctl(["tables", "setup"]).status == 0)
        let rerun = try b.ctl(["migrate", "scenarios", "--from", source])
        #expect(rerun.status == 0, "\(rerun.output)")
        #expect(
            rerun.stdout.contains("started over: table \(table) is not the table the checkpoint"), "\(rerun.output)")
        let report = try fx.lastResult(b, "migrate.scenarios", as: ScenarioMigrationReport.self)
        #expect(report.resumedAt == nil && report.written == 5_000, "\(report)")
        #expect(try fx.ddb(["count", fx.envFile, table]) == "5000")
        let verify = try b.ctl(["migrate", "verify", "--from", source])
        #expect(verify.status == 0, "\(verify.output)")
    }

    /// A corrupt dump stops at the byte it names, with what came before written; --skip-bad goes on.
    @Test func corruptInputStopsWithThePlace() throws {
        let fixtures = "\(TestPaths.repository)/Tests/WhatIfMigrationTests/Fixtures/mongo"
        let table = MigrationFixture.uniqueTable()
        let a = try AgentProcess(fx.config(table: table))
        #expect(try a.ctl(["tables", "setup"]).status == 0)
        let stop = try a.ctl(["migrate", "scenarios", "--from", fixtures + "/corrupt-length.bson"])
        #expect(stop.status == 1, "\(stop.output)")
        #expect(stop.output.contains("malformed BSON at byte"), "\(stop.output)")
        #expect(stop.output.contains("--skip-bad"), "\(stop.output)")
        // Only the first document comes before the damage.
        #expect(try fx.ddb(["count", fx.envFile, table]) == "1")
        let skip = try a.ctl([
            "migrate", "scenarios", "--from", fixtures + "/corrupt-length.bson", "--skip-bad", "--restart",
        ])
        #expect(skip.status == 0, "\(skip.output)")
        #expect(skip.output.contains("skipped byte"), "\(skip.output)")
        #expect(try fx.ddb(["count", fx.envFile, table]) == "19")
        // Verify reads the dump as the migration did: stopped by the damage, or past it with --skip-bad.
        let damaged = try a.ctl(["migrate", "verify", "--from", fixtures + "/corrupt-length.bson"])
        #expect(damaged.status == 1 && damaged.output.contains("malformed BSON at byte"), "\(damaged.output)")
        let past = try a.ctl(["migrate", "verify", "--from", fixtures + "/corrupt-length.bson", "--skip-bad"])
        #expect(past.status == 0 && past.stdout.contains("19 match, 0 missing"), "\(past.output)")
        // Extended JSON, relaxed and as an array, lands the same items.
        let v = try a.ctl(["migrate", "verify", "--from", fixtures + "/scenarios.array.json"])
        #expect(v.status == 1 && v.stdout.contains("19 match, 1 missing"), "\(v.output)")
        let line = try a.ctl(["migrate", "scenarios", "--from", fixtures + "/broken-line.json"])
        #expect(line.status == 1 && line.output.contains("line 2"), "\(line.output)")
        let relative = try a.ctl(["migrate", "scenarios", "--from", fixtures + "/scenarios.relaxed.json"])
        #expect(relative.status == 0, "\(relative.output)")
        #expect(try a.ctl(["migrate", "verify", "--from", fixtures + "/dump"]).status == 0)
    }
}

/// PostgreSQL → "RDS": the shared stack's cluster into a second, private PostgreSQL 15 cluster.
@Suite(.serialized) struct PostgresMigrationTests {
    static let pgBin = "/usr/lib/postgresql/15/bin"

    func psql(_ info: StackInfo, _ db: String, _ sql: String) throws -> String {
        let env = [
            "PGPASSWORD": (try? String(contentsOfFile: info.pgPasswordFile, encoding: .utf8))?
                .trimmingCharacters(in: .whitespacesAndNewlines) ?? "",
            "PGHOST": "127.0.0.1", "PGPORT": String(info.pgPort), "PGUSER": "postgres",
        ]
        let r = try Run.command(
            ["\(Self.pgBin)/psql", "-X", "-At", "-v", "ON_ERROR_STOP=1", "-d", db, "-c", sql], environment: env)
        guard r.status == 0 else { throw TestFailure("psql \(db): \(r.output)") }
        return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// An agent config for `db` of the shared stack migrating into `targetDB` (created here) of `target`.
    func migrationConfig(_ shared: StackInfo, _ db: String, _ target: PrivateStack, _ targetDB: String) throws
        -> TestConfig
    {
        try _ = psql(target.info, "postgres", "CREATE DATABASE \(targetDB)")
        var config = TestConfig.forStack(shared)
        config.postgres = config.postgres?.replacingOccurrences(of: "database: what_if_users", with: "database: \(db)")
        config.dynamodb = nil
        config.redis = nil
        config.aws = nil
        // No TLS on the local cluster: the test says so explicitly (the default is verify-full).
        config.migration = """
              postgres_target:
                host: 127.0.0.1
                port: \(target.info.pgPort)
                database: \(targetDB)
                user: postgres
                password_file: \(target.info.pgPasswordFile)
                sslmode: disable

            """
        return config
    }

    @Test func dumpRestoreAndVerifyIntoASecondCluster() throws {
        let shared = try Stack.shared()
        let target = try Stack.startPrivate(["pg"])
        let db = "mig_src_\(getpid())_\(Int.random(in: 1000...9999))"
        try _ = psql(shared, "postgres", "CREATE DATABASE \(db)")
        try _ = psql(
            shared, db,
            """
            CREATE TABLE users (id bigserial PRIMARY KEY, email text UNIQUE NOT NULL, created timestamptz DEFAULT now(),
              prefs jsonb, balance numeric(20,6));
            INSERT INTO users (email, prefs, balance)
              SELECT 'u' || g || '@example.invalid', jsonb_build_object('n', g), g * 1.5 FROM generate_series(1, 5000) g;
            CREATE SCHEMA app;
            CREATE TABLE app.sessions (token uuid PRIMARY KEY, user_id bigint REFERENCES users(id), data bytea);
            INSERT INTO app.sessions SELECT gen_random_uuid(), g, decode(md5(g::text), 'hex') FROM generate_series(1, 800) g;
            -- A hostile schema: columns named like the aliases a checksum query might use, quoted mixed-case
            -- names, a partitioned table.
            CREATE SCHEMA "Odd Schema";
            CREATE TABLE "Odd Schema"."MixedCase" (t text, s int, h text, x int, "Quo""ted" text, "row" text, id int PRIMARY KEY);
            INSERT INTO "Odd Schema"."MixedCase" SELECT 'same', g, 'h', g, 'q' || g, 'r', g FROM generate_series(1, 300) g;
            CREATE TABLE events (id int, at timestamptz, t text) PARTITION BY RANGE (id);
            CREATE TABLE events_a PARTITION OF events FOR VALUES FROM (0) TO (500);
            CREATE TABLE events_b PARTITION OF events FOR VALUES FROM (500) TO (1000);
            INSERT INTO events SELECT g, '2026-01-01 00:00:00+00'::timestamptz + g * interval '1 hour', 'same' FROM generate_series(0, 999) g;
            """)
        let targetDB = "what_if_users_rds"
        let config = try migrationConfig(shared, db, target, targetDB)
        let a = try AgentProcess(config)
        let dry = try a.ctl(["migrate", "postgres", "--to", "test", "--dry-run"])
        #expect(dry.status == 0, "\(dry.output)")
        #expect(dry.stdout.contains("dry-run:") && dry.stdout.contains("\"app\".\"sessions\""), "\(dry.output)")
        #expect(
            try psql(
                target.info, targetDB,
                "SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog','information_schema')") == "0")

        let run = try a.ctl(["migrate", "postgres", "--to", "test"])
        #expect(run.status == 0, "\(run.output)")
        func row(_ out: String, _ table: String) -> String {
            out.split(separator: "\n").first { $0.hasPrefix(table + " ") }.map {
                $0.split(separator: " ").joined(separator: " ")
            } ?? ""
        }
        #expect(row(run.stdout, "\"public\".\"users\"").hasPrefix("\"public\".\"users\" 5000"), "\(run.output)")
        #expect(!run.stdout.contains("NO"), "\(run.output)")
        #expect(try psql(target.info, targetDB, "SELECT count(*) FROM app.sessions") == "800")
        #expect(
            try psql(target.info, targetDB, "SELECT sum(balance) FROM users")
                == psql(shared, db, "SELECT sum(balance) FROM users"))

        // A second run refuses a target that is no longer empty.
        let again = try a.ctl(["migrate", "postgres", "--to", "test"])
        #expect(again.status == 1 && again.output.contains("already holds 4 tables"), "\(again.output)")

        // Verification alone (after the cutover, say) agrees, then catches a row changed in the target.
        let verified = try a.ctl(["migrate", "postgres", "--to", "test", "--verify-only"])
        #expect(verified.status == 0, "\(verified.output)")
        _ = try psql(target.info, targetDB, "UPDATE users SET email = 'changed' WHERE id = 7")
        let differs = try a.ctl(["migrate", "postgres", "--to", "test", "--verify-only"])
        #expect(differs.status == 1, "\(differs.output)")
        #expect(
            row(differs.stdout, "\"public\".\"users\"").hasPrefix("\"public\".\"users\" 5000")
                && differs.stdout.contains("differs"),
            "\(differs.output)")
        #expect(differs.output.contains("does not match the source"), "\(differs.output)")
        var report = try result(a)
        #expect(report.tables.first { $0.table == "\"public\".\"users\"" }?.ok == false)
        #expect(report.tables.first { $0.table == "\"app\".\"sessions\"" }?.ok == true)
        #expect(report.tables.first { $0.table == "\"Odd Schema\".\"MixedCase\"" }?.ok == true, "\(report.tables)")
        #expect(report.tables.first { $0.table == "\"public\".\"events\"" }?.ok == true, "\(report.tables)")

        // A change in a column beside one named like an alias is caught, in a plain table and in a
        // partition (the checksum used to hash the column `t` alone), and so is one in a quoted column.
        _ = try psql(target.info, targetDB, #"UPDATE "Odd Schema"."MixedCase" SET x = x + 1 WHERE id = 5"#)
        _ = try psql(target.info, targetDB, "UPDATE events SET at = at + interval '1 second' WHERE id = 700")
        _ = try psql(target.info, targetDB, "UPDATE users SET email = 'u7@example.invalid' WHERE id = 7")
        #expect(try a.ctl(["migrate", "postgres", "--to", "test", "--verify-only"]).status == 1)
        report = try result(a)
        #expect(report.tables.first { $0.table == "\"Odd Schema\".\"MixedCase\"" }?.ok == false, "\(report.tables)")
        #expect(report.tables.first { $0.table == "\"public\".\"events\"" }?.ok == false, "\(report.tables)")
        #expect(report.tables.first { $0.table == "\"public\".\"users\"" }?.ok == true, "\(report.tables)")
        _ = try psql(target.info, targetDB, #"UPDATE "Odd Schema"."MixedCase" SET x = x - 1 WHERE id = 5"#)
        _ = try psql(target.info, targetDB, #"UPDATE "Odd Schema"."MixedCase" SET "Quo""ted" = 'z' WHERE id = 9"#)
        _ = try psql(target.info, targetDB, "UPDATE events SET at = at - interval '1 second' WHERE id = 700")
        #expect(try a.ctl(["migrate", "postgres", "--to", "test", "--verify-only"]).status == 1)
        report = try result(a)
        #expect(report.tables.first { $0.table == "\"Odd Schema\".\"MixedCase\"" }?.ok == false, "\(report.tables)")
        #expect(report.tables.first { $0.table == "\"public\".\"events\"" }?.ok == true, "\(report.tables)")
    }

    /// whatifd killed while pg_dump runs for `migrate postgres`: pg_dump dies with it, the next start removes
    /// the partial dump and both password files (0600 while they lived), and a new run copies everything.
    /// pg_dump is held deterministically: another session holds an exclusive lock on a source table, so
    /// pg_dump waits in LOCK TABLE with its files already created.
    @Test func agentKilledMidMigrationLeavesNothingBehind() throws {
        let shared = try Stack.shared()
        let target = try Stack.startPrivate(["pg"])
        let db = "mig_kill_\(getpid())_\(Int.random(in: 1000...9999))"
        try _ = psql(shared, "postgres", "CREATE DATABASE \(db)")
        defer { _ = try? psql(shared, "postgres", "DROP DATABASE IF EXISTS \(db) WITH (FORCE)") }
        try _ = psql(
            shared, db,
            "CREATE TABLE users (id int PRIMARY KEY, email text); INSERT INTO users SELECT g, 'u' || g FROM generate_series(1, 2000) g"
        )
        let targetDB = "what_if_users_rds"
        let config = try migrationConfig(shared, db, target, targetDB)
        let locker = TempDir("whatif-locker")
        let lock = try BackgroundProcess(
            [
                "\(Self.pgBin)/psql", "-X", "-h", "127.0.0.1", "-p", String(shared.pgPort), "-U", "postgres", "-d", db,
                "-c", "BEGIN; LOCK TABLE users IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(300); COMMIT",
            ],
            environment: [
                "PGPASSWORD": (try String(contentsOfFile: shared.pgPasswordFile, encoding: .utf8))
                    .trimmingCharacters(in: .whitespacesAndNewlines)
            ], logPath: locker.file("psql.log"))
        defer {
            lock.signal(SIGKILL)
            _ = try? psql(
                shared, "postgres",
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '\(db)' AND query LIKE '%pg_sleep(300)%'"
            )
        }
        let granted =
            "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database WHERE d.datname = '\(db)' AND l.mode = 'AccessExclusiveLock' AND l.granted"
        #expect(eventually(timeout: 30) { (try? psql(shared, "postgres", granted)) == "1" }, "\(lock.log)")

        let a = try AgentProcess(config)
        let tmp = a.dir.file("state") + "/tmp"
        let job = try a.client.start(JobSpecs.MigratePostgres.self, .init(to: "test"))
        let waiting =
            "SELECT count(*) FROM pg_stat_activity WHERE datname = '\(db)' AND application_name = 'whatifd-backup' AND wait_event_type = 'Lock'"
        #expect(eventually(timeout: 60) { (try? psql(shared, "postgres", waiting)) == "1" }, "\(a.process.log)")
        let files = try FileManager.default.contentsOfDirectory(atPath: tmp).sorted()
        #expect(files.filter { $0.hasPrefix("pgpass-") }.count == 2, "\(files)")
        #expect(files.filter { $0.hasPrefix("migrate-") && $0.hasSuffix(".dump") }.count == 1, "\(files)")
        for f in files {
            let mode = try #require(
                try FileManager.default.attributesOfItem(atPath: "\(tmp)/\(f)")[.posixPermissions] as? Int)
            #expect(mode == 0o600, "\(f) is \(String(mode, radix: 8))")
        }
        // pg_dump is whatifd's child: it must not outlive it.
        let children = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(a.process.pid)/task")) ?? []
        let dumpPid = try #require(
            children.flatMap { task in
                ((try? String(contentsOfFile: "/proc/\(a.process.pid)/task/\(task)/children", encoding: .utf8)) ?? "")
                    .split(separator: " ").compactMap { Int32($0) }
            }.first { pid in
                ((try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8)) ?? "").hasPrefix("pg_dump")
            })
        a.process.signal(SIGKILL)
        #expect(a.process.wait(timeout: 10) != nil)
        func gone(_ pid: Int32) -> Bool {
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return true }
            return stat.split(separator: ")").last?.trimmingCharacters(in: .whitespaces).hasPrefix("Z") == true
        }
        #expect(eventually(timeout: 10) { gone(dumpPid) }, "pg_dump \(dumpPid) outlived whatifd")
        // Release the lock. pg_dump's session notices its client is gone once it has the lock (a backend
        // waiting for a lock does not read from its socket) and ends.
        lock.signal(SIGKILL)
        _ = try psql(
            shared, "postgres",
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '\(db)' AND query LIKE '%pg_sleep(300)%'"
        )
        #expect(eventually(timeout: 20) { (try? psql(shared, "postgres", waiting)) == "0" })

        let b = try AgentProcess(config, stateDir: a.dir.file("state"))
        #expect(b.process.log.contains("removed a password file left by a crash"), "\(b.process.log)")
        #expect(b.process.log.contains("removed a partial migration dump left by a crash"), "\(b.process.log)")
        #expect((try? FileManager.default.contentsOfDirectory(atPath: tmp)) ?? [] == [])
        #expect((try? b.client.job(job.id))?.state.isFinal != false)
        // Nothing reached the target (pg_restore never ran), so the migration runs again from the start.
        let run = try b.ctl(["migrate", "postgres", "--to", "test"])
        #expect(run.status == 0, "\(run.output)")
        #expect(try psql(target.info, targetDB, "SELECT count(*) FROM users") == "2000")
        #expect((try? FileManager.default.contentsOfDirectory(atPath: tmp)) ?? [] == [])
    }

    func result(_ a: AgentProcess) throws -> PostgresMigrationReport {
        guard let job = try a.client.jobs().first(where: { $0.kind == "migrate.postgres" && $0.result != nil }),
            let result = job.result
        else { throw TestFailure("no result") }
        return try APICoding.decode(PostgresMigrationReport.self, from: try APICoding.encode(result))
    }
}

@Suite(.serialized) struct PreflightTests {
    /// The RESULT column of a check's row in the table whatifctl prints.
    static func result(_ table: String, _ check: String) -> String? {
        for line in table.split(separator: "\n") where line.hasPrefix(check + " ") {
            return line.dropFirst(check.count).split(separator: " ").first.map(String.init)
        }
        return nil
    }

    @Test func checklistFailsUntilBackupsAndTableExist() throws {
        let fx = try MigrationFixture()
        let table = MigrationFixture.uniqueTable()
        var config = TestConfig.forStack(fx.stack, table: table)
        config.backups = "  location: \(fx.dir.file("backups"))\n"
        let a = try AgentProcess(config)
        let first = try a.ctl(["preflight"])
        #expect(first.status == 1, "\(first.output)")
        for (check, result) in [
            ("backup postgres", "FAIL"), ("backup dynamodb", "FAIL"), ("table schema", "FAIL"), ("redis", "PASS"),
            ("aws credentials", "PASS"), ("postgres", "PASS"), ("elasticache encryption", "SKIP"),
        ] {
            #expect(Self.result(first.stdout, check) == result, "\(check)\n\(first.output)")
        }
        #expect(first.output.contains("whatifctl tables setup"), "\(first.output)")
        // --json: one document, the job's final record; a FAIL is a failed check with its report, not an
        // internal error.
        let failed = try a.ctl(["preflight", "--json"])
        #expect(failed.status == 1, "\(failed.output)")
        let record = try APICoding.decode(JobInfo.self, from: Array(failed.stdout.utf8))
        #expect(record.state == .failed && record.error?.code == .failed, "\(failed.stdout)")
        #expect(try record.result(as: JobSpecs.Preflight.self)?.ok == false)

        #expect(try a.ctl(["tables", "setup"]).status == 0)
        let backup = try a.ctl(["backup"])
        #expect(backup.status == 0, "\(backup.output)")
        let second = try a.ctl(["preflight", "--json"])
        #expect(second.status == 0, "\(second.output)")
        let report = try #require(
            try APICoding.decode(JobInfo.self, from: Array(second.stdout.utf8)).result(as: JobSpecs.Preflight.self))
        #expect(report.ok)
        #expect(
            report.items.filter { $0.result == "PASS" }.map(\.check).sorted() == [
                "aws credentials", "backup dynamodb", "backup postgres", "backup space", "dynamodb", "postgres",
                "redis",
                "table schema",
            ])
        // A test environment asks more: TLS everywhere and ElastiCache's settings.
        let strict = try a.ctl(["preflight", "test", "--max-backup-age", "1h"])
        #expect(strict.status == 1, "\(strict.output)")
        #expect(Self.result(strict.stdout, "elasticache encryption") == "FAIL", "\(strict.output)")
        #expect(strict.output.contains("TLS is required in test"), "\(strict.output)")
        #expect(strict.output.contains("what-if-generator-scenarios-test"), "\(strict.output)")
    }

    @Test func elastiCacheEncryptionIsRead() throws {
        let fx = try MigrationFixture()
        var results: [String: String] = [:]
        for on in ["on", "off"] {
            let group = "whatif-\(on)-\(getpid())-\(Int.random(in: 1000...9999))"
            _ = try fx.ddb(["replication-group", fx.envFile, group, on])
            var config = TestConfig.forStack(fx.stack, table: MigrationFixture.uniqueTable())
            config.postgres = nil
            config.redis = nil
            config.elasticache = "  replication_group_id: \(group)\n"
            let a = try AgentProcess(config)
            let r = try a.ctl(["preflight"])
            results[on] = Self.result(r.stdout, "elasticache encryption")
            if on == "off" {
                #expect(r.stdout.contains("at rest OFF, in transit OFF"), "\(r.output)")
                #expect(r.output.contains("enable encryption at rest and in transit"), "\(r.output)")
            }
        }
        #expect(results == ["on": "PASS", "off": "FAIL"])
    }
}
