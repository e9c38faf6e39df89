import Testing
import WhatIfAgentTesting
import WhatIfBackup
import WhatIfClient
import WhatIfCore
import WhatIfProtocol
import WhatIfTesting
import WhatIfUnits

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
#if canImport(Glibc)
    import Glibc
#endif

/// PostgreSQL and DynamoDB helpers for the backup tests, on a stack's real services.
struct BackupFixture {
    let stack: StackInfo
    static let pgBin = "/usr/lib/postgresql/15/bin"
    static let counter = Locked(0)

    static func unique(_ prefix: String) -> String {
        let n = counter.withLock { c -> Int in
            c += 1
            return c
        }
        return "\(prefix)\(getpid())_\(n)_\(Int.random(in: 1000...9999))"
    }

    var pgEnv: [String: String] {
        ["PGPASSWORD": stack.pgPassword, "PGHOST": "127.0.0.1", "PGPORT": String(stack.pgPort), "PGUSER": "postgres"]
    }

    @discardableResult
    func psql(_ db: String, _ sql: String) throws -> String {
        let r = try Run.command(
            ["\(Self.pgBin)/psql", "-X", "-At", "-v", "ON_ERROR_STOP=1", "-d", db, "-c", sql], environment: pgEnv)
        guard r.status == 0 else { throw TestFailure("psql \(db): \(r.output)") }
        return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A database with pgbench's tables and a table of awkward column types.
    func makeDatabase(scale: Int = 1, randomMiB: Int = 0) throws -> String {
        try dropLeftovers()
        let db = Self.unique("bk_")
        try psql("postgres", "CREATE DATABASE \(db)")
        let r = try Run.command(
            ["\(Self.pgBin)/pgbench", "-i", "-q", "-s", String(scale), db], environment: pgEnv, timeout: 300)
        guard r.status == 0 else { throw TestFailure("pgbench: \(r.output)") }
        try psql(
            db,
            """
            CREATE SCHEMA app;
            CREATE TYPE app.mood AS ENUM ('sad', 'ok', 'happy');
            CREATE TABLE app.kinds (
              id bigserial PRIMARY KEY, t text, b bytea, j jsonb, n numeric(30,10), ts timestamptz, d date,
              arr int[], u uuid, m app.mood, f double precision, flag boolean, iv interval, inet_ inet);
            INSERT INTO app.kinds (t, b, j, n, ts, d, arr, u, m, f, flag, iv, inet_)
            SELECT CASE WHEN g % 10 = 0 THEN NULL ELSE 'row ' || g || E' tab\\t newline\\n quote '' é 🌍' END,
                   decode(md5(g::text), 'hex'), jsonb_build_object('g', g, 'nested', jsonb_build_array(g, 'x', null)),
                   g * 3.1415926535, '2026-01-01T00:00:00Z'::timestamptz + g * interval '1 hour', '2026-01-01'::date + g,
                   ARRAY[g, g + 1, NULL], md5(g::text)::uuid, (ARRAY['sad','ok','happy'])[g % 3 + 1]::app.mood,
                   CASE WHEN g % 7 = 0 THEN 'NaN'::float8 ELSE g / 3.0 END, g % 2 = 0, g * interval '1 minute',
                   ('10.0.' || (g % 256) || '.1')::inet
            FROM generate_series(1, 5000) g;
            """)
        if randomMiB > 0 {
            try psql(
                db,
                """
                CREATE TABLE app.noise (id int PRIMARY KEY, data bytea);
                INSERT INTO app.noise SELECT g, decode(string_agg(md5(random()::text || g || s), ''), 'hex')
                FROM generate_series(1, \(randomMiB * 64)) g, generate_series(1, 1024) s GROUP BY g;
                """)
        }
        return db
    }

    /// Drops a database a test made; a failure is the test's (a database left behind is a leak).
    func dropDatabase(_ db: String, sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            try drop(db)
        } catch {
            Issue.record("\(db) was not dropped: \(error)", sourceLocation: sourceLocation)
        }
    }

    func drop(_ db: String) throws { try psql("postgres", "DROP DATABASE IF EXISTS \(db) WITH (FORCE)") }

    static let leftoversSwept = Locked(false)

    /// Databases this fixture made in test processes that have since ended (killed, or stopped at a
    /// crash before their drop), dropped once per process before the first new one. Only names of the
    /// form bk_<pid>_… whose pid is no longer a process are touched.
    func dropLeftovers() throws {
        let first = Self.leftoversSwept.withLock { swept -> Bool in
            defer { swept = true }
            return !swept
        }
        guard first else { return }
        let names = try psql("postgres", "SELECT datname FROM pg_database WHERE datname LIKE 'bk\\_%'")
        for name in names.split(separator: "\n") {
            let parts = name.split(separator: "_")
            guard parts.count == 4, let pid = pid_t(parts[1]), pid != getpid(), kill(pid, 0) != 0, errno == ESRCH
            else { continue }
            try psql("postgres", "DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
        }
    }

    /// Per table: row count and an MD5 of every row's text, in order.
    func digests(_ db: String) throws -> [String: String] {
        let tables = try psql(
            db,
            "SELECT schemaname || '.' || tablename FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1"
        ).split(separator: "\n").map(String.init)
        var out: [String: String] = [:]
        for t in tables {
            out[t] = try psql(
                db,
                "SELECT count(*) || ':' || coalesce(md5(string_agg(x::text, E'\\n' ORDER BY x::text)), '') FROM \(t) x")
        }
        return out
    }

    func ddb(_ args: [String], timeout: Double = 600) throws -> String {
        let r = try Run.command(
            ["python3", "\(TestPaths.repository)/Tests/tools/ddb_tool.py"] + args, timeout: timeout)
        guard r.status == 0 else { throw TestFailure("ddb_tool \(args.first ?? ""): \(r.output)") }
        return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    var envFile: String { "\(stack.directory)/stack.env" }

    /// A table of `count` items (awkward types, some large); `pad` adds that many bytes to each (bytes of
    /// export for fewer items: moto spends its time per item).
    func seedTable(_ count: Int, pad: Int = 0) throws -> String {
        let table = Self.unique("bk-").replacingOccurrences(of: "_", with: "-")
        _ = try ddb(["seed", envFile, table, String(count), String(pad)])
        return table
    }

    func tableDigest(_ table: String) throws -> String { try ddb(["digest-table", envFile, table]) }

    /// A config copying backups to `bucket` (made here) in 5 MiB parts through a fault proxy in front of
    /// moto, and the same config without the proxy; `s3` adds a line to the `s3:` section.
    func s3ThroughProxy(db: String, bucket: String, location: TempDir, s3: String = "") throws -> (
        direct: TestConfig, proxied: TestConfig, proxy: FaultProxy
    ) {
        _ = try ddb(["mkbucket", envFile, bucket])
        let proxy = try FaultProxy(upstream: stack.motoEndpoint)
        let direct = config(
            db: db, table: nil,
            backups: "  location: \(location.path)\n  s3:\n    bucket: \(bucket)\n    part_size: 5MiB\n"
                + (s3.isEmpty ? "" : "    \(s3)\n"))
        var proxied = direct
        proxied.aws = direct.aws?.replacingOccurrences(of: stack.motoEndpoint, with: proxy.url)
        return (direct, proxied, proxy)
    }

    func config(db: String?, table: String?, backups: String) -> TestConfig {
        var c = TestConfig.forStack(stack, table: table ?? "unused")
        if let db {
            c.postgres = c.postgres?.replacingOccurrences(of: "database: what_if_users", with: "database: \(db)")
        }
        if db == nil { c.postgres = nil }
        if table == nil { c.dynamodb = nil }
        c.redis = nil
        if !FileManager.default.fileExists(atPath: stack.awsCredentialsFile) { c.aws = nil }
        c.backups = backups
        return c
    }
}

func decodeJSON<T: Decodable>(_ type: T.Type, _ r: CommandResult) throws -> T {
    do { return try APICoding.decode(type, from: Array(r.stdout.utf8)) } catch {
        throw TestFailure("not \(T.self): \(error)\n\(r.output)")
    }
}

func sha256File(_ path: String) throws -> String {
    let r = try Run.command(["sha256sum", path])
    guard r.status == 0 else { throw TestFailure(r.output) }
    return String(r.stdout.prefix(64))
}

/// A pg_dump stand-in in its own bin_dir: records its argv and environment, then runs the real one.
/// With `holdAfter`, the dump stops after that many bytes until `release` exists (two minutes at most,
/// so nothing outlives a test), so a test can crash things mid-dump.
struct PgDumpWrapper {
    let dir: TempDir
    var bin: String { dir.file("bin") }
    var record: String { dir.file("record") }
    var pidFile: String { dir.file("pid") }
    var release: String { dir.file("release") }

    init(holdAfter: Int? = nil, version: String? = nil) throws {
        dir = TempDir("whatif-pgdump")
        chmod(dir.path, 0o755)
        try FileManager.default.createDirectory(atPath: dir.file("bin"), withIntermediateDirectories: true)
        let real = "\(BackupFixture.pgBin)/pg_dump"
        var script = "#!/bin/bash\n"
        if let version {
            script += "if [ \"$1\" = --version ]; then echo 'pg_dump (PostgreSQL) \(version)'; exit 0; fi\n"
            script += "echo \"ran: $*\" >> \(record)\nexit 0\n"
        } else {
            script += """
                if [ "$1" = --version ]; then exec \(real) --version; fi
                echo $$ > \(pidFile)
                { echo "argv: $*"; echo "PGPASSWORD=${PGPASSWORD-unset}"; echo "PGPASSFILE=$PGPASSFILE"
                  echo "PGSSLMODE=$PGSSLMODE"
                  stat -c 'mode=%a' "$PGPASSFILE"; } >> \(record)

                """
            if let holdAfter {
                script += """
                    set -o pipefail
                    \(real) "$@" | { head -c \(holdAfter); for _ in $(seq 1200); do [ -e \(release) ] && break; sleep 0.1; done; cat; }

                    """
            } else {
                script += "exec \(real) \"$@\"\n"
            }
        }
        let path = try dir.write("bin/pg_dump", script, mode: 0o755)
        chmod(path, 0o755)
        for tool in ["pg_restore", "psql"] {
            symlink("\(BackupFixture.pgBin)/\(tool)", dir.file("bin/\(tool)"))
        }
    }

    var recorded: String { (try? String(contentsOfFile: record, encoding: .utf8)) ?? "" }

    /// pg_dump's pid, once the wrapper has written it (the file exists before its content does).
    var pid: Int32? {
        (try? String(contentsOfFile: pidFile, encoding: .utf8)).flatMap {
            Int32($0.trimmingCharacters(in: .whitespacesAndNewlines))
        }
    }

    /// Waits for the wrapper to start: up to two minutes, since on two busy cores a job can take more than one to
    /// reach pg_dump while the whole suite runs.
    func waitUntilHolding() -> Bool { eventually(timeout: 120) { pid != nil } }

    func releaseDump() { _ = FileManager.default.createFile(atPath: release, contents: nil) }
}

@Suite(.serialized) struct PostgresBackupTests {
    let fx: BackupFixture
    init() throws { fx = BackupFixture(stack: try Stack.shared()) }

    /// pg_dump -Fc of a database with pgbench's tables and every awkward column type; the manifest's
    /// SHA-256 matches the file; the password never reaches argv; the restore is row-for-row identical.
    @Test func dumpVerifyAndRestoreRowForRow() throws {
        let db = try fx.makeDatabase()
        let restored = db + "_r"
        defer {
            fx.dropDatabase(db)
            fx.dropDatabase(restored)
        }
        let wrapper = try PgDumpWrapper()
        let location = TempDir("whatif-backups")
        let a = try AgentProcess(
            fx.config(
                db: db, table: nil, backups: "  location: \(location.path)\n  postgres:\n    bin_dir: \(wrapper.bin)\n")
        )
        let run = try a.ctl(["backup", "postgres"])
        #expect(run.status == 0, "\(run.output)")
        #expect(run.stdout.contains("postgres: postgres-") && run.stdout.contains("verified"), "\(run.output)")

        let list = try decodeJSON(BackupList.self, try a.ctl(["backups", "list", "--json"]))
        try #require(list.backups.count == 1)
        let e = list.backups[0]
        #expect(e.manifest.status == "complete" && e.manifest.format == "custom" && e.manifest.method == "pg_dump")
        #expect(e.manifest.tool?.name == "pg_dump" && e.manifest.serverVersion?.hasPrefix("15") == true)
        #expect(e.verified && e.locations == [.local])
        #expect(e.manifest.tables?["app.kinds"] == 5000 && e.manifest.tables?["public.pgbench_accounts"] == 100_000)
        for f in e.manifest.files {
            let path = "\(location.path)/postgres/\(e.id)/\(f.path)"
            #expect(try sha256File(path) == f.sha256, "\(f.path)")
            var st = stat()
            #expect(stat(path, &st) == 0 && Int64(st.st_size) == f.bytes)
        }
        // Nothing but complete backups in the location.
        let names = try FileManager.default.contentsOfDirectory(atPath: "\(location.path)/postgres")
        #expect(names == [e.id], "\(names)")

        // The password went through a 0600 PGPASSFILE only.
        let record = wrapper.recorded
        #expect(record.contains("PGPASSWORD=unset") && record.contains("mode=600"), "\(record)")
        #expect(record.contains("PGSSLMODE=prefer"), "sslmode as configured: \(record)")
        #expect(!record.contains(fx.stack.pgPassword))
        #expect(
            record.contains("--snapshot") && record.contains("--format=custom") || record.contains("-Fc"), "\(record)")
        let passfile = record.split(separator: "\n").first { $0.hasPrefix("PGPASSFILE=") }.map {
            String($0.dropFirst(11))
        }
        #expect(passfile.map { !FileManager.default.fileExists(atPath: $0) } == true, "the password file is removed")
        #expect(!a.process.log.contains(fx.stack.pgPassword))
        let jobLog = try a.ctl(["jobs", "list", "--json"]).stdout
        #expect(!jobLog.contains(fx.stack.pgPassword))

        // Restore into a new database: identical, table by table.
        let r = try a.ctl(["restore", "postgres", e.id, "--target-db", restored, "--create"])
        #expect(r.status == 0, "\(r.output)")
        let before = try fx.digests(db)
        #expect(before.count == 5)
        #expect(try fx.digests(restored) == before)
        // The live database and a non-empty target are refused without --force / --clean.
        let live = try a.ctl(["restore", "postgres", e.id, "--target-db", db])
        #expect(live.status == 1 && live.output.contains("--force"), "\(live.output)")
        let again = try a.ctl(["restore", "postgres", e.id, "--target-db", restored])
        #expect(again.status == 1 && again.output.contains("--clean"), "\(again.output)")
        let clean = try a.ctl(["restore", "postgres", e.id, "--target-db", restored, "--clean"])
        #expect(clean.status == 0, "\(clean.output)")
        #expect(try fx.digests(restored) == before)
        // Over the live database with --force: a fresh backup first, then the restore.
        try fx.psql(db, "DELETE FROM app.kinds WHERE id <= 100")
        let forced = try a.ctl(["restore", "postgres", e.id, "--target-db", db, "--clean", "--force", "--yes"])
        #expect(forced.status == 0, "\(forced.output)")
        #expect(forced.stdout.contains("backed up first as postgres-"), "\(forced.output)")
        #expect(try fx.digests(db) == before)
        let after = try a.client.backups().backups
        #expect(
            after.count == 2 && after[0].manifest.tables?["app.kinds"] == 4900, "the safety backup has the live rows")
    }

    /// A restore with --create that fails its checks leaves no database behind (nor a scratch one), unless
    /// --keep-on-failure; the scratch database of a restore a crash interrupted is dropped at the next start.
    @Test func aFailedRestoreDropsWhatItCreated() throws {
        let db = try fx.makeDatabase()
        let restored = db + "_f"
        defer {
            fx.dropDatabase(db)
            fx.dropDatabase(restored)
        }
        let location = TempDir("whatif-backups")
        let config = fx.config(db: db, table: nil, backups: "  location: \(location.path)\n")
        let a = try AgentProcess(config)
        #expect(try a.ctl(["backup", "postgres"]).status == 0)
        let e = try #require(try a.client.backups().backups.first)
        // The manifest promises a row the dump does not hold: the restore's count check fails.
        let path = "\(location.path)/postgres/\(e.id)/manifest.json"
        try ManifestEditing.edit(path, reseal: true) { m in
            guard case .object(var tables)? = m["tables"] else { return }
            tables["app.kinds"] = 5001
            m["tables"] = .object(tables)
        }
        func scratchDatabases() throws -> String {
            try fx.psql(
                "postgres", "SELECT string_agg(datname, ',') FROM pg_database WHERE datname LIKE 'whatif_restoring_%'")
        }
        let failed = try a.ctl(["restore", "postgres", e.id, "--target-db", restored, "--create"])
        #expect(failed.status == 1, "\(failed.output)")
        #expect(failed.output.contains("row counts differ"), "\(failed.output)")
        #expect(failed.output.contains("which this failed restore created"), "\(failed.output)")
        #expect(try fx.psql("postgres", "SELECT count(*) FROM pg_database WHERE datname = '\(restored)'") == "0")
        #expect(try scratchDatabases() == "")
        // Kept on request, under the name asked for.
        let kept = try a.ctl(["restore", "postgres", e.id, "--target-db", restored, "--create", "--keep-on-failure"])
        #expect(kept.status == 1 && kept.output.contains("--keep-on-failure"), "\(kept.output)")
        #expect(try fx.psql(restored, "SELECT count(*) FROM app.kinds") == "5000")
        #expect(try scratchDatabases() == "")

        // A crash mid-restore leaves a scratch database and its marker: the next start drops it.
        a.process.signal(SIGKILL)
        _ = a.process.wait(timeout: 10)
        let scratch = "whatif_restoring_\(db)_dead"
        try fx.psql("postgres", "CREATE DATABASE \(scratch)")
        let markers = a.dir.file("state") + "/restores"
        try FileManager.default.createDirectory(atPath: markers, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: "\(markers)/\(scratch)", contents: Data(restored.utf8))
        // And what a killed `migrate postgres` leaves in the scratch folder: a password file, a partial dump.
        let tmp = a.dir.file("state") + "/tmp"
        try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: "\(tmp)/pgpass-1-2", contents: Data("h:1:d:u:pw\n".utf8))
        _ = FileManager.default.createFile(atPath: "\(tmp)/migrate-1-2.dump", contents: Data(count: 4096))
        let b = try AgentProcess(config, stateDir: a.dir.file("state"))
        #expect(b.process.log.contains("removed a password file left by a crash"), "\(b.process.log)")
        #expect(b.process.log.contains("removed a partial migration dump left by a crash"), "\(b.process.log)")
        #expect(!b.process.log.contains("removed an incomplete backup"), "\(b.process.log)")
        #expect((try? FileManager.default.contentsOfDirectory(atPath: tmp)) ?? [] == [])
        #expect(eventually(timeout: 30) { (try? scratchDatabases()) == "" }, "\(b.process.log)")
        #expect(eventually(timeout: 10) { b.process.log.contains("dropped the scratch database of a restore") })
        #expect(!FileManager.default.fileExists(atPath: "\(markers)/\(scratch)"))
    }

    /// One damaged manifest never blocks the catalog: it is quarantined and named, later backups and
    /// retention go on; an edited manifest fails its own checksum in verify and restore; a folder without a
    /// manifest is listed as orphaned with its size and removed by `prune --orphans`.
    @Test func aDamagedCatalogDegradesAndNeverBlocks() throws {
        let db = try fx.makeDatabase()
        let restored = db + "_c"
        defer {
            fx.dropDatabase(db)
            fx.dropDatabase(restored)
        }
        let location = TempDir("whatif-backups")
        let a = try AgentProcess(
            fx.config(db: db, table: nil, backups: "  location: \(location.path)\n  retention:\n    keep_last: 2\n"))
        for _ in 0..<3 { #expect(try a.ctl(["backup", "postgres"]).status == 0) }
        var ids = try a.client.backups().backups.map(\.id)
        #expect(ids.count == 2, "\(ids)")
        let (newest, older) = (ids[0], ids[1])
        func manifest(_ id: String) -> String { "\(location.path)/postgres/\(id)/manifest.json" }

        // "bomplete": the backup after it still succeeds, and the damaged one is moved aside and named.
        try ManifestEditing.edit(manifest(older)) { $0["status"] = "bomplete" }
        let list = try a.ctl(["backups", "list"])
        #expect(list.status == 0 && list.stderr.contains("\(older): damaged manifest"), "\(list.output)")
        #expect(list.stderr.contains("its status is 'bomplete'"), "\(list.output)")
        let next = try a.ctl(["backup", "postgres"])
        #expect(next.status == 0, "\(next.output)")
        #expect(!Files.exists("\(location.path)/postgres/\(older)"))
        #expect(Files.exists("\(location.path)/quarantine/postgres/\(older)/manifest.json"))
        #expect(a.process.log.contains("damaged backup quarantined"), "\(a.process.log.suffix(3000))")
        ids = try a.client.backups().backups.map(\.id)
        #expect(ids.count == 2 && ids.contains(newest) && !ids.contains(older), "\(ids)")
        // Ages by default (kubectl's AGE), timestamps with --wide; both backups verified after they ran.
        func rows(_ r: CommandResult) -> [[String]] {
            r.stdout.split(separator: "\n").map { $0.components(separatedBy: "  ").filter { !$0.isEmpty } }
        }
        let table = rows(try a.ctl(["backups", "list"]))
        #expect(table.first?[2] == "AGE" && table.count == 3, "\(table)")
        for row in table.dropFirst() {
            #expect((DurationText.parse(row[2]) ?? .infinity) < 3600 && row[6].hasSuffix(" ago"), "\(row)")
        }
        let wide = rows(try a.ctl(["backups", "list", "--wide"]))
        #expect(wide.first?[2] == "TAKEN" && wide.dropFirst().allSatisfy { $0[2].hasSuffix("Z") }, "\(wide)")

        // An edited row count: the manifest no longer matches its own checksum.
        try ManifestEditing.edit(manifest(newest)) { m in
            guard case .object(var tables)? = m["tables"] else { return }
            tables["app.kinds"] = 4999
            m["tables"] = .object(tables)
        }
        let verify = try a.ctl(["backups", "verify", newest])
        #expect(verify.status == 1, "\(verify.output)")
        #expect(
            verify.output.contains("manifest.json") && verify.output.contains("does not match its own checksum"),
            "\(verify.output)")
        let restore = try a.ctl(["restore", "postgres", newest, "--target-db", restored, "--create"])
        #expect(restore.status != 0 && restore.output.contains("does not match its own checksum"), "\(restore.output)")
        #expect(try fx.psql("postgres", "SELECT count(*) FROM pg_database WHERE datname = '\(restored)'") == "0")

        // A folder without a manifest: listed with its size, removed only with --orphans.
        let orphan = "\(location.path)/postgres/postgres-20200101T000000Z-abcd"
        try FileManager.default.createDirectory(atPath: orphan, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: "\(orphan)/postgres.dump", contents: Data(count: 10_000))
        let listed = try a.ctl(["backups", "list", "--json"])
        let parsed = try APICoding.decode(BackupList.self, from: Array(listed.stdout.utf8))
        #expect(
            parsed.orphans == [
                OrphanBackup(path: orphan, location: .local, bytes: 10_000, id: "postgres-20200101T000000Z-abcd")
            ], "\(listed.output)")
        #expect(try a.ctl(["backups", "prune"]).status == 0)
        #expect(Files.exists(orphan))
        let dry = try a.ctl(["backups", "prune", "--orphans", "--dry-run"])
        #expect(
            dry.stdout.contains("would delete  orphaned backup folder \(orphan)") && Files.exists(orphan),
            "\(dry.output)")
        let pruned = try a.ctl(["backups", "prune", "--orphans"])
        #expect(
            pruned.status == 0 && pruned.stdout.contains("deleted  orphaned backup folder \(orphan)"),
            "\(pruned.output)")
        #expect(!Files.exists(orphan))
    }

    /// Directory format with parallel jobs: every file hashed, verified, and restored in parallel.
    @Test func directoryFormatWithJobs() throws {
        let db = try fx.makeDatabase()
        let restored = db + "_d"
        defer {
            fx.dropDatabase(db)
            fx.dropDatabase(restored)
        }
        let location = TempDir("whatif-backups")
        let a = try AgentProcess(
            fx.config(
                db: db, table: nil,
                backups: "  location: \(location.path)\n  postgres:\n    format: directory\n    jobs: 2\n"))
        let run = try a.ctl(["backup", "postgres"])
        #expect(run.status == 0, "\(run.output)")
        let e = try #require(try a.client.backups().backups.first)
        #expect(e.manifest.format == "directory" && e.manifest.files.count > 5 && e.verified)
        #expect(e.manifest.files.contains { $0.path.hasSuffix("toc.dat") })
        for f in e.manifest.files {
            #expect(try sha256File("\(location.path)/postgres/\(e.id)/\(f.path)") == f.sha256, "\(f.path)")
        }
        let r = try a.ctl(["restore", "postgres", e.id, "--target-db", restored, "--create", "--jobs", "2"])
        #expect(r.status == 0, "\(r.output)")
        #expect(try fx.digests(restored) == fx.digests(db))
    }

    /// A pg_dump older than the server is refused before anything runs.
    @Test func anOlderPgDumpIsRefused() throws {
        let wrapper = try PgDumpWrapper(version: "13.16 (Debian 13.16-1)")
        let location = TempDir("whatif-backups")
        let a = try AgentProcess(
            fx.config(
                db: "what_if_users", table: nil,
                backups: "  location: \(location.path)\n  postgres:\n    bin_dir: \(wrapper.bin)\n"))
        let run = try a.ctl(["backup", "postgres"])
        #expect(run.status == 1)
        #expect(run.output.contains("pg_dump 13") && run.output.contains("15"), "\(run.output)")
        #expect(wrapper.recorded.isEmpty, "pg_dump ran: \(wrapper.recorded)")
        #expect(try decodeJSON(BackupList.self, try a.ctl(["backups", "list", "--json"])).backups.isEmpty)
    }

    /// One flipped byte is found and the file named, in a pg_dump file and in an export data file; the
    /// damaged backup cannot be restored.
    @Test func aFlippedByteIsFoundAndNamed() throws {
        let db = try fx.makeDatabase()
        let table = try fx.seedTable(60)
        defer { fx.dropDatabase(db) }
        let location = TempDir("whatif-backups")
        let a = try AgentProcess(fx.config(db: db, table: table, backups: "  location: \(location.path)\n"))
        #expect(try a.ctl(["backup"]).status == 0)
        let list = try decodeJSON(BackupList.self, try a.ctl(["backups", "list", "--json"]))
        try #require(list.backups.count == 2)
        #expect(try a.ctl(["backups", "verify", "--all"]).status == 0)

        for e in list.backups {
            let file =
                e.kind == .postgres
                ? e.manifest.files[0].path
                : e.manifest.files.first { $0.path.hasSuffix(".json.gz") && $0.bytes > 100 }!.path
            let path = "\(location.path)/\(e.kind.rawValue)/\(e.id)/\(file)"
            var bytes = try Files.read(path, limit: 1 << 30)
            bytes[bytes.count / 2] ^= 0x04
            try Files.writeAtomically(path, bytes, mode: 0o640)

            let v = try a.ctl(["backups", "verify", e.id])
            #expect(v.status == 1, "\(v.output)")
            #expect(v.stdout.contains("FAILED") && v.stdout.contains(file), "\(v.output)")
            let shown = try decodeJSON(BackupEntry.self, try a.ctl(["backups", "show", e.id, "--json"]))
            #expect(
                shown.failedVerification && shown.verifications.first?.problems.contains { $0.file == file } == true)
            let target =
                e.kind == .postgres ? ["--target-db", db + "_x", "--create"] : ["--target-table", table + "-x"]
            let restore = try a.ctl(["restore", e.kind.rawValue, e.id] + target)
            #expect(restore.status == 1 && restore.output.contains(file), "\(restore.output)")
        }
    }

    @Test func badRequestsGetDistinctStatuses() throws {
        let location = TempDir("whatif-backups")
        let a = try AgentProcess(fx.config(db: "what_if_users", table: nil, backups: "  location: \(location.path)\n"))
        let bad = try a.ctl(["backups", "show", "etc-passwd"])
        // A name that cannot be an id names no backup: not found, like a well-formed id that is not there.
        #expect(bad.status == ExitStatus.notFound.rawValue && bad.output.contains("not a backup id"), "\(bad.output)")
        let missing = try a.ctl(["backups", "show", "postgres-20261124T020000Z-abcd"])
        #expect(missing.status == ExitStatus.notFound.rawValue, "\(missing.output)")
        let notConfigured = try a.ctl(["backup", "dynamodb"])
        #expect(
            notConfigured.status == ExitStatus.config.rawValue && notConfigured.output.contains("not configured"))
        let usage = try a.ctl(["backups", "verify"])
        #expect(usage.status == ExitStatus.usage.rawValue)
        let noTarget = try a.ctl(["restore", "postgres", "postgres-20261124T020000Z-abcd"])
        #expect(noTarget.status == ExitStatus.usage.rawValue)
    }
}

/// Crashes at every stage leave no complete-looking backup, and leftovers go on the next start.
@Suite(.serialized) struct BackupCrashTests {
    let fx: BackupFixture
    init() throws { fx = BackupFixture(stack: try Stack.shared()) }

    func noBackups(_ location: String) -> Bool {
        let kinds = (try? FileManager.default.contentsOfDirectory(atPath: "\(location)/postgres")) ?? []
        return kinds.allSatisfy { $0.hasSuffix(".partial") || $0.hasPrefix(".") }
    }

    /// The moments: after pg_dump's first byte, mid-dump, and with the whole dump written but pg_dump
    /// not yet exited.
    static let moments = [1, 65536, 256 << 20]

    @Test(arguments: moments) func agentKilledMidDumpThenRestarted(holdAfter: Int) throws {
        let db = try fx.makeDatabase()
        defer { fx.dropDatabase(db) }
        let wrapper = try PgDumpWrapper(holdAfter: holdAfter)
        defer { wrapper.releaseDump() }
        let location = TempDir("whatif-backups")
        let config = fx.config(
            db: db, table: nil, backups: "  location: \(location.path)\n  postgres:\n    bin_dir: \(wrapper.bin)\n")
        let a = try AgentProcess(config)
        let job = try a.client.startBackup(kinds: [.postgres])
        // On failure, what the job and the agent said (the job never reaching pg_dump was seen once).
        #expect(wrapper.waitUntilHolding(), "\((try? a.ctl(["jobs", "logs", job.id]).output) ?? "")\n\(a.process.log)")
        // Mid-dump: a partial folder with a temp file, no manifest.
        let partials = { (try? FileManager.default.contentsOfDirectory(atPath: "\(location.path)/postgres")) ?? [] }
        #expect(eventually(timeout: 10) { partials().contains { $0.hasSuffix(".partial") } }, "\(partials())")
        a.process.signal(SIGKILL)
        _ = a.process.wait(timeout: 10)
        #expect(noBackups(location.path))

        wrapper.releaseDump()
        let b = try AgentProcess(config)
        #expect(partials().isEmpty, "leftovers removed at start: \(partials())")
        let list = try b.client.backups()
        #expect(list.backups.isEmpty)
        #expect((try? b.client.job(job.id)) == nil)
    }

    @Test(arguments: moments) func pgDumpKilledFailsTheJob(holdAfter: Int) throws {
        let db = try fx.makeDatabase()
        defer { fx.dropDatabase(db) }
        let wrapper = try PgDumpWrapper(holdAfter: holdAfter)
        defer { wrapper.releaseDump() }
        let location = TempDir("whatif-backups")
        let a = try AgentProcess(
            fx.config(
                db: db, table: nil, backups: "  location: \(location.path)\n  postgres:\n    bin_dir: \(wrapper.bin)\n")
        )
        let job = try a.client.startBackup(kinds: [.postgres])
        // On failure, what the job and the agent said (the job never reaching pg_dump was seen twice).
        #expect(wrapper.waitUntilHolding(), "\((try? a.ctl(["jobs", "logs", job.id]).output) ?? "")\n\(a.process.log)")
        let pid = try #require(wrapper.pid)
        // pg_dump is the wrapper and what it started: stop it, kill its children, then it.
        kill(pid, SIGSTOP)
        _ = try Run.command(["pkill", "-KILL", "-P", String(pid)])
        kill(pid, SIGKILL)
        #expect(eventually(timeout: 30) { (try? a.client.job(job.id))?.state.isFinal == true })
        let final = try a.client.job(job.id)
        #expect(final.state == .failed)
        #expect(
            final.error?.message.contains("pg_dump") == true && final.error?.message.contains("signal") == true,
            "\(String(describing: final.error))")
        #expect(try FileManager.default.contentsOfDirectory(atPath: "\(location.path)/postgres").isEmpty)
        #expect(try a.client.backups().backups.isEmpty)
    }

    /// The agent killed while copying a complete backup to S3: the local backup stands, and the next
    /// start removes what the unfinished S3 copy left (objects and the open multipart upload).
    @Test func agentKilledMidS3CopyThenRestarted() throws {
        let db = try fx.makeDatabase(randomMiB: 12)
        defer { fx.dropDatabase(db) }
        let bucket = "whatif-crash-\(getpid())"
        let location = TempDir("whatif-backups")
        let (direct, proxied, proxy) = try fx.s3ThroughProxy(
            db: db, bucket: bucket, location: location, s3: "concurrency: 1")
        var config = proxied
        // At debug level the log has a line per AWS call and per retry: what a failure prints.
        config.logLevel = "debug"
        let a = try AgentProcess(config)
        // The first part goes through; the second hangs.
        proxy.add(.init(operation: "PUT", fault: .delay(seconds: 0), count: 1))
        proxy.add(.init(operation: "PUT", fault: .delay(seconds: 60), count: 1))
        let job = try a.client.startBackup(kinds: [.postgres])
        // Killed as soon as the second part is held: the agent gives up on an attempt after its HTTP
        // timeout (15 s) and sends the part again, which the proxy then lets through, so nothing slow may
        // come in between (listing the uploads first, through moto, on a busy machine, once took longer).
        #expect(eventually(timeout: 60) { proxy.injected.value >= 2 })
        a.process.signal(SIGKILL)
        _ = a.process.wait(timeout: 10)
        proxy.clear()
        // On failure, the faulted requests and the agent's log say which requests the two rules caught
        // and where the copy was.
        #expect(
            try fx.ddb(["list-uploads", fx.envFile, bucket]) == "1",
            "the killed agent left its upload open; faulted: \(proxy.faulted.value)\n\(a.process.log)")

        let b = try AgentProcess(direct, stateDir: a.dir.file("state"))
        #expect(eventually(timeout: 30) { (try? fx.ddb(["list-uploads", fx.envFile, bucket])) == "0" })
        #expect(eventually(timeout: 30) { (try? fx.ddb(["list-keys", fx.envFile, bucket, "whatif-backups/"])) == "" })
        let list = try b.client.backups()
        #expect(
            list.backups.count == 1 && list.backups.first?.locations == [.local], "\(list.backups.map(\.locations))")
        #expect(list.warnings.isEmpty)
        // The job's record survived with the state directory: it ended with the agent, not successfully.
        let record = try b.client.job(job.id)
        #expect(record.state.isFinal && record.state != .succeeded, "\(record.state)")
        #expect(b.process.log.contains("incomplete S3 backup copy"), "\(b.process.log)")
    }

    @Test func diskFullFailsCleanly() throws {
        let db = try fx.makeDatabase(randomMiB: 4)
        defer { fx.dropDatabase(db) }
        let mount = TempDir("whatif-tmpfs")
        let m = try Run.command(["mount", "-t", "tmpfs", "-o", "size=2m", "whatif-test", mount.path])
        try #require(m.status == 0, "mount tmpfs (needs root): \(m.output)")
        defer { _ = try? Run.command(["umount", "-l", mount.path]) }
        let a = try AgentProcess(fx.config(db: db, table: nil, backups: "  location: \(mount.path)\n"))
        let run = try a.ctl(["backup", "postgres"])
        #expect(run.status == 1)
        #expect(
            run.output.contains("No space left") || run.output.contains("ENOSPC") || run.output.contains("full"),
            "\(run.output)")
        #expect(try a.client.backups().backups.isEmpty)
        let left = try Run.command(["find", mount.path, "-type", "f"])
        #expect(left.stdout.isEmpty, "files left on the full disk: \(left.stdout)")
    }

    @Test func postgresStoppedMidDump() throws {
        let stack = try Stack.startPrivate(["pg"])
        let fx = BackupFixture(stack: stack.info)
        let db = try fx.makeDatabase()
        let wrapper = try PgDumpWrapper(holdAfter: 65536)
        defer { wrapper.releaseDump() }
        let location = TempDir("whatif-backups")
        let a = try AgentProcess(
            fx.config(
                db: db, table: nil, backups: "  location: \(location.path)\n  postgres:\n    bin_dir: \(wrapper.bin)\n")
        )
        let job = try a.client.startBackup(kinds: [.postgres])
        #expect(wrapper.waitUntilHolding())
        try stack.stop("pg")
        wrapper.releaseDump()
        #expect(eventually(timeout: 60) { (try? a.client.job(job.id))?.state.isFinal == true })
        #expect(try a.client.job(job.id).state == .failed)
        #expect(try a.client.backups().backups.isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: "\(location.path)/postgres").isEmpty)
        // And with PostgreSQL down from the start: a clear error.
        let down = try a.ctl(["backup", "postgres"])
        #expect(down.status == 1 && down.output.contains("\(stack.info.pgPort)"), "\(down.output)")
    }
}

@Suite(.serialized) struct DynamoBackupTests {
    let fx: BackupFixture
    init() throws { fx = BackupFixture(stack: try Stack.shared()) }

    /// 10,000 varied items: the export is in AWS's layout (read by an independent reader), holds every
    /// item, and restores item for item.
    @Test func exportInAWSsLayoutAndRestoreItemForItem() throws {
        // About 6 MB: more than a MiB a segment, so each segment's file rotates at least once.
        let table = try fx.seedTable(3_000, pad: 1_500)
        let source = try fx.tableDigest(table)
        #expect(source.contains("\"items\": 3000"))
        let location = TempDir("whatif-backups")
        let a = try AgentProcess(
            fx.config(
                db: nil, table: table,
                backups: "  location: \(location.path)\n  dynamodb:\n    total_segments: 4\n    file_size: 1MiB\n"))
        let run = try a.ctl(["backup", "dynamodb"])
        #expect(run.status == 0, "\(run.output)")
        let e = try #require(try a.client.backups().backups.first)
        #expect(e.manifest.items == 3_000 && e.manifest.format == "dynamodb-export" && e.manifest.method == "scan")
        let export = try #require(e.manifest.export)
        let folder = "\(location.path)/dynamodb/\(e.id)/\(export.path)"
        #expect(try fx.ddb(["check-export", folder]) == source)
        let dataFiles = try FileManager.default.contentsOfDirectory(atPath: "\(folder)/data")
        #expect(dataFiles.count > 4, "files rotate at file_size: \(dataFiles)")
        #expect(e.manifest.tableSchema?.globalSecondaryIndexes?.first?.indexName == "userId-createdAt-index")

        let target = table + "-restored"
        let r = try a.ctl(["restore", "dynamodb", e.id, "--target-table", target])
        #expect(r.status == 0, "\(r.output)")
        #expect(try fx.tableDigest(target) == source)
        #expect(try fx.ddb(["describe", fx.envFile, target]) == fx.ddb(["describe", fx.envFile, table]))
        // An existing table needs --force.
        let again = try a.ctl(["restore", "dynamodb", e.id, "--target-table", target])
        #expect(again.status == 1 && again.output.contains("--force"), "\(again.output)")

        // The same export with the marks of AWS's own (.checksum files with hex MD5s, data keys under an
        // S3 prefix) verifies and restores too.
        _ = try fx.ddb(["aws-shape", "\(location.path)/dynamodb/\(e.id)"])
        let v = try a.ctl(["backups", "verify", e.id])
        #expect(v.status == 0, "\(v.output)")
        let target2 = table + "-aws"
        let r2 = try a.ctl(["restore", "dynamodb", e.id, "--target-table", target2])
        #expect(r2.status == 0, "\(r2.output)")
        #expect(try fx.tableDigest(target2) == source)
    }

    /// `--detach` returns the job id at once; `--json` streams the job's events as NDJSON; restoring over
    /// the live table with --force takes a backup of it first.
    @Test func detachJsonAndForcedRestoreOverTheLiveTable() throws {
        let table = try fx.seedTable(40)
        let source = try fx.tableDigest(table)
        let location = TempDir("whatif-backups")
        let a = try AgentProcess(fx.config(db: nil, table: table, backups: "  location: \(location.path)\n"))
        let detached = try a.ctl(["backup", "dynamodb", "--detach"])
        #expect(detached.status == 0)
        let id = detached.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(id.contains("backup"), "\(detached.output)")
        #expect(eventually(timeout: 60) { (try? a.client.job(id))?.state == .succeeded })

        // --json is the result: one document, the job's final record with its typed result.
        let json = try a.ctl(["backup", "dynamodb", "--json"])
        #expect(json.status == 0, "\(json.output)")
        let record = try APICoding.decode(JobInfo.self, from: Array(json.stdout.utf8))
        #expect(record.state == .succeeded)
        #expect(try record.result(as: JobSpecs.Backup.self)?.parts.first?.kind == .dynamodb)
        // --events is the stream, one JSON object per line.
        let streamed = try a.ctl(["backup", "dynamodb", "--events"])
        #expect(streamed.status == 0, "\(streamed.output)")
        let events = try streamed.stdout.split(separator: "\n").map {
            try APICoding.decode(JobEvent.self, from: Array($0.utf8))
        }
        #expect(events.contains { $0.type == .progress })
        #expect(events.last?.type == .state && events.last?.job?.state == .succeeded)

        // Three backups of the same table now: the detached one, the --json one, the --events one.
        let backups = try a.client.backups().backups
        try #require(backups.count == 3)
        let refused = try a.ctl(["restore", "dynamodb", backups[1].id, "--target-table", table])
        #expect(refused.status == 1 && refused.output.contains("--force"), "\(refused.output)")
        let forced = try a.ctl(["restore", "dynamodb", backups[1].id, "--target-table", table, "--force", "--yes"])
        #expect(forced.status == 0, "\(forced.output)")
        #expect(forced.stdout.contains("backed up first as dynamodb-"), "\(forced.output)")
        #expect(try a.client.backups().backups.count == 4)
        #expect(try fx.tableDigest(table) == source)
    }

    /// Throttling and 5xx during the scan are retried and the export is whole; UnprocessedItems during a
    /// restore are written again; throttling that never ends fails the job and leaves no backup.
    @Test func faultsAreRetriedOrFailTheJob() throws {
        let table = try fx.seedTable(500)
        let source = try fx.tableDigest(table)
        let proxy = try FaultProxy(upstream: fx.stack.motoEndpoint)
        let location = TempDir("whatif-backups")
        var config = fx.config(
            db: nil, table: table,
            backups: "  location: \(location.path)\n  dynamodb:\n    page_limit: 50\n    throttle_retries: 3\n")
        config.aws = config.aws?.replacingOccurrences(of: fx.stack.motoEndpoint, with: proxy.url)
        let a = try AgentProcess(config)
        proxy.add(.init(operation: "Scan", fault: .throttle(code: "ProvisionedThroughputExceededException"), count: 5))
        proxy.add(.init(operation: "Scan", fault: .serverError(status: 500), count: 2))
        let run = try a.ctl(["backup", "dynamodb"])
        #expect(run.status == 0, "\(run.output)")
        #expect(proxy.injected.value == 7)
        let e = try #require(try a.client.backups().backups.first)
        #expect(e.manifest.items == 500)
        #expect(try fx.ddb(["check-export", "\(location.path)/dynamodb/\(e.id)/\(e.manifest.export!.path)"]) == source)

        proxy.add(.init(operation: "BatchWriteItem", fault: .unprocessed(keep: 7), count: 15))
        let target = table + "-r"
        let r = try a.ctl(["restore", "dynamodb", e.id, "--target-table", target, "--jobs", "2"])
        #expect(r.status == 0, "\(r.output)")
        #expect(try fx.tableDigest(target) == source)

        proxy.add(.init(operation: "Scan", fault: .throttle(code: "ThrottlingException"), count: 100_000))
        let failed = try a.ctl(["backup", "dynamodb"])
        #expect(failed.status == 1)
        #expect(failed.output.contains("Throttl") || failed.output.contains("throttl"), "\(failed.output)")
        #expect(try a.client.backups().backups.map(\.id) == [e.id])
        let names = try FileManager.default.contentsOfDirectory(atPath: "\(location.path)/dynamodb")
        #expect(names == [e.id], "\(names)")
        proxy.clear()
    }

    /// moto's ExportTableToPointInTime writes no manifests: the agent says so instead of calling it done.
    @Test func nativeExportWithoutManifestsFailsClearly() throws {
        let table = try fx.seedTable(20)
        let bucket = "whatif-native-\(getpid())"
        _ = try fx.ddb(["mkbucket", fx.envFile, bucket])
        let location = TempDir("whatif-backups")
        let a = try AgentProcess(
            fx.config(
                db: nil, table: table,
                backups:
                    "  location: \(location.path)\n  s3:\n    bucket: \(bucket)\n  dynamodb:\n    mode: export\n    export_poll: 1s\n"
            ))
        let off = try a.ctl(["backup", "dynamodb"])
        #expect(off.status == 1)
        #expect(
            off.output.contains("point-in-time recovery is off") && off.output.contains("mode: scan"), "\(off.output)")
        _ = try fx.ddb(["pitr", fx.envFile, table])
        let run = try a.ctl(["backup", "dynamodb"])
        #expect(run.status == 1)
        #expect(run.output.contains("manifest-summary.json"), "\(run.output)")
        let keys = try fx.ddb(["list-keys", fx.envFile, bucket, "whatif-backups/"])
        #expect(keys.isEmpty, "what the failed export wrote is removed: \(keys)")
        #expect(try a.client.backups().backups.isEmpty)
    }
}

@Suite(.serialized) struct RetentionAndS3Tests {
    let fx: BackupFixture
    init() throws { fx = BackupFixture(stack: try Stack.shared()) }

    @Test func pruneAfterEachBackupKeepsPinnedAndNewestVerified() throws {
        let table = try fx.seedTable(10)
        let location = TempDir("whatif-backups")
        let a = try AgentProcess(
            fx.config(
                db: nil, table: table,
                backups: "  location: \(location.path)\n  retention:\n    dynamodb:\n      keep_last: 2\n"))
        func ids() throws -> [String] { try a.client.backups().backups.map(\.id) }
        var taken: [String] = []
        for _ in 0..<3 {
            #expect(try a.ctl(["backup", "dynamodb"]).status == 0)
            taken.insert(try ids()[0], at: 0)
        }
        #expect(try ids() == Array(taken.prefix(2)))
        let pin = try a.ctl(["backups", "pin", taken[1], "--note", "before the migration"])
        #expect(pin.status == 0, "\(pin.output)")
        for _ in 0..<2 {
            #expect(try a.ctl(["backup", "dynamodb"]).status == 0)
            taken.insert(try ids()[0], at: 0)
        }
        #expect(try ids() == [taken[0], taken[1], taken[3]])
        let dry = try decodeJSON(PruneResult.self, try a.ctl(["backups", "prune", "--dry-run", "--json"]))
        #expect(dry.deleted.isEmpty && dry.decisions.allSatisfy(\.keep))
        #expect(try a.ctl(["backups", "unpin", taken[3]]).status == 0)
        let dry2 = try a.ctl(["backups", "prune", "--dry-run"])
        #expect(dry2.stdout.contains("would delete  \(taken[3])"), "\(dry2.output)")
        #expect(try ids().count == 3, "a dry run deletes nothing")
        #expect(try a.ctl(["backups", "prune"]).status == 0)
        #expect(try ids() == [taken[0], taken[1]])
    }

    @Test func theNewestVerifiedBackupIsNeverPruned() throws {
        let table = try fx.seedTable(10)
        let location = TempDir("whatif-backups")
        let a = try AgentProcess(
            fx.config(
                db: nil, table: table,
                backups:
                    "  location: \(location.path)\n  verify_after_backup: false\n  retention:\n    dynamodb:\n      keep_last: 1\n"
            ))
        #expect(try a.ctl(["backup", "dynamodb"]).status == 0)
        let first = try a.client.backups().backups[0].id
        #expect(try a.ctl(["backups", "verify", first]).status == 0)
        #expect(try a.ctl(["backup", "dynamodb"]).status == 0)
        #expect(try a.ctl(["backup", "dynamodb"]).status == 0)
        let left = try a.client.backups().backups
        #expect(left.count == 2 && left.last?.id == first, "\(left.map(\.id))")
    }

    /// CreateMultipartUpload took effect but its answer came after the attempt's timeout: the agent asked
    /// again and copied through the second upload; the first, which nobody would complete, is aborted.
    @Test func aMultipartUploadStartedTwiceLeavesNoneOpen() throws {
        let db = try fx.makeDatabase(randomMiB: 6)
        defer { fx.dropDatabase(db) }
        let bucket = "whatif-twice-\(getpid())"
        let location = TempDir("whatif-backups")
        var (_, config, proxy) = try fx.s3ThroughProxy(db: db, bucket: bucket, location: location)
        config.aws? += "  timeout: 3s\n"
        let a = try AgentProcess(config)
        // S3's only POSTs here: CreateMultipartUpload (then CompleteMultipartUpload).
        proxy.add(.init(operation: "POST", fault: .slowAnswer(seconds: 8), count: 1))
        let run = try a.ctl(["backup", "postgres"])
        #expect(run.status == 0, "\(run.output)")
        #expect(
            proxy.faulted.value.count == 1 && proxy.faulted.value.first?.contains("?uploads") == true,
            "\(proxy.faulted.value)")
        #expect(try fx.ddb(["list-uploads", fx.envFile, bucket]) == "0", "the first upload is left open")
        let e = try #require(try a.client.backups().backups.first)
        #expect(e.locations.contains(.s3) && e.verified)
    }

    /// Copies go to S3 in parts, verify from S3, restore from S3, and are pruned from S3.
    @Test func s3CopiesMultipartVerifyRestorePrune() throws {
        let db = try fx.makeDatabase(randomMiB: 12)
        let restored = db + "_s3"
        defer {
            fx.dropDatabase(db)
            fx.dropDatabase(restored)
        }
        let bucket = "whatif-s3-\(getpid())"
        _ = try fx.ddb(["mkbucket", fx.envFile, bucket])
        let location = TempDir("whatif-backups")
        let a = try AgentProcess(
            fx.config(
                db: db, table: nil,
                backups: """
                      location: \(location.path)
                      s3:
                        bucket: \(bucket)
                        prefix: team/backups
                        part_size: 5MiB
                        keep_local: false
                      retention:
                        postgres:
                          keep_last: 1

                    """))
        let run = try a.ctl(["backup", "postgres"])
        #expect(run.status == 0, "\(run.output)")
        let e = try #require(try a.client.backups().backups.first)
        #expect(e.locations == [.s3] && e.verified)
        #expect(e.manifest.totalBytes > 10 << 20)
        let keys = try fx.ddb(["list-keys", fx.envFile, bucket, "team/backups/postgres/\(e.id)/"])
        #expect(keys.contains("manifest.json") && keys.contains("dump"), "\(keys)")
        #expect(try fx.ddb(["list-uploads", fx.envFile, bucket]) == "0", "no multipart upload left open")
        #expect(try FileManager.default.contentsOfDirectory(atPath: "\(location.path)/postgres").isEmpty)

        #expect(try a.ctl(["backups", "verify", e.id]).status == 0)
        let r = try a.ctl(["restore", "postgres", e.id, "--target-db", restored, "--create"])
        #expect(r.status == 0, "\(r.output)")
        #expect(try fx.digests(restored) == fx.digests(db))

        #expect(try a.ctl(["backup", "postgres"]).status == 0)
        let now = try a.client.backups().backups
        #expect(now.count == 1 && now[0].id != e.id)
        #expect(try fx.ddb(["list-keys", fx.envFile, bucket, "team/backups/postgres/\(e.id)/"]).isEmpty)

        // An S3 copy without a manifest, older than any copy can still be running, is an orphan: listed
        // with its size, deleted by `prune --orphans`. A recent one may be another host's copy in the
        // making: not listed, never deleted.
        let old = "postgres-20200101T000000Z-0abc"
        let recent = BackupID.make(kind: .postgres)
        _ = try fx.ddb(["put-object", fx.envFile, bucket, "team/backups/postgres/\(old)/postgres.dump", "3000"])
        _ = try fx.ddb(["put-object", fx.envFile, bucket, "team/backups/postgres/\(old)/pin.json", "10"])
        _ = try fx.ddb(["put-object", fx.envFile, bucket, "team/backups/postgres/\(recent)/postgres.dump", "50"])
        let orphans = try a.client.backups().orphans
        #expect(
            orphans == [
                OrphanBackup(
                    path: "s3://\(bucket)/team/backups/postgres/\(old)", location: .s3, bytes: 3010, id: old)
            ], "\(orphans)")
        let listed = try a.ctl(["backups", "list"])
        #expect(
            listed.stderr.contains("orphaned S3 copy s3://\(bucket)/team/backups/postgres/\(old)"), "\(listed.output)")
        let dry = try a.ctl(["backups", "prune", "--orphans", "--dry-run"])
        #expect(dry.status == 0 && dry.stdout.contains("would delete  orphaned S3 copy"), "\(dry.output)")
        #expect(!(try fx.ddb(["list-keys", fx.envFile, bucket, "team/backups/postgres/\(old)/"]).isEmpty))
        let pruned = try a.ctl(["backups", "prune", "--orphans"])
        #expect(pruned.status == 0, "\(pruned.output)")
        #expect(try fx.ddb(["list-keys", fx.envFile, bucket, "team/backups/postgres/\(old)/"]).isEmpty)
        #expect(!(try fx.ddb(["list-keys", fx.envFile, bucket, "team/backups/postgres/\(recent)/"]).isEmpty))
        #expect(try a.client.backups().backups.map(\.id) == now.map(\.id))
    }
}

/// Edits a backup's manifest.json as a damaged disk or a careless hand would; `reseal` writes a matching
/// checksum, as a manifest that is wrong but consistent would have (to reach the checks behind it).
enum ManifestEditing {
    static func edit(_ path: String, reseal: Bool = false, _ change: (inout [String: JSONValue]) -> Void) throws {
        guard case .object(var m) = try APICoding.decode(JSONValue.self, from: Array(Files.read(path, limit: 1 << 24)))
        else { throw TestFailure("\(path) is not an object") }
        change(&m)
        var bytes = try APICoding.encode(JSONValue.object(m))
        if reseal { bytes = try ManifestSeal.encode(try APICoding.decode(BackupManifest.self, from: bytes)) }
        try Files.writeAtomically(path, bytes, mode: 0o640)
    }
}
