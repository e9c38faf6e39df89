import WhatIfCore
import WhatIfPostgres
import WhatIfProtocol
import WhatIfUnits

#if canImport(Glibc)
    import Glibc
#endif

/// The guide's PostgreSQL → RDS step: pg_dump from the source (custom format), pg_restore into an empty
/// target in one transaction, then verification: the same tables, row counts and a per-table checksum
/// (md5 over the sorted md5s of each row's text) on both sides.
package final class PostgresMigrator {
    let source: PostgresConfig
    let target: PostgresConfig
    let tools: PostgresTools
    let workDirectory: String
    let environment: [String: String]
    let reporter: any JobReporter
    /// How long pg_dump, and then pg_restore, may each run (backups.postgres.timeout).
    let timeout: Double

    package init(
        source: PostgresConfig, target: PostgresConfig, tools: PostgresTools, workDirectory: String,
        environment: [String: String], reporter: any JobReporter, timeout: Double = 6 * 3600
    ) {
        self.timeout = timeout
        self.source = source
        self.target = target
        self.tools = tools
        self.workDirectory = workDirectory
        self.environment = environment
        self.reporter = reporter
    }

    /// The tables compared, quoted: the one definition of a database's tables (PostgresConnection.userTables).
    static func tables(_ c: PostgresConnection) throws -> [String] {
        try c.userTables(deadline: .after(seconds: 60)).map(\.quoted)
    }

    /// The table's columns in order, each quoted: a checksum names them one by one, so no column can stand
    /// in for the row (`md5(t::text) FROM x AS t` hashed the column `t` alone when the table had one).
    static func columns(_ c: PostgresConnection, _ table: String) throws -> [String] {
        try c.query(
            "SELECT attname FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
            [table], deadline: .after(seconds: 60)
        ).rows.map { ($0[0] ?? "").quotedIdentifier }
    }

    /// The settings that decide how values print as text, fixed so that both sides print alike
    /// (a timestamptz prints in the session's TimeZone; a float with extra_float_digits).
    static let textSettings = [
        "SET TimeZone = 'UTC'", "SET DateStyle = 'ISO, YMD'", "SET IntervalStyle = 'postgres'",
        "SET extra_float_digits = 3", "SET bytea_output = 'hex'",
    ]

    /// Rows and, with `checksum`, md5 over the sorted md5s of each row's columns as text.
    static func summary(_ c: PostgresConnection, _ table: String, checksum: Bool) throws -> (Int64, String?) {
        let sql: String
        if checksum {
            for s in textSettings { _ = try c.query(s, deadline: .after(seconds: 30)) }
            let cols = try columns(c, table)
            // ROW(...) of no columns is not valid SQL; a table without columns hashes its row count.
            let row = cols.isEmpty ? "''" : "ROW(\(cols.joined(separator: ", ")))::text"
            sql =
                "SELECT count(*), coalesce(md5(string_agg(h, ',' ORDER BY h)), '') FROM (SELECT md5(\(row)) AS h FROM \(table)) s"
        } else {
            sql = "SELECT count(*), NULL FROM \(table)"
        }
        let r = try c.query(sql, deadline: .after(seconds: 3600))
        return (Int64(r.rows.first?[0] ?? "0") ?? 0, r.rows.first?[1] ?? nil)
    }

    func connect(_ config: PostgresConfig, _ role: String) throws -> PostgresConnection {
        do { return try PostgresConnection.connect(config, deadline: .after(seconds: 15)) } catch {
            throw Failure(
                "cannot connect to the \(role) \(config.endpoint) as \(config.user) (sslmode \(config.sslMode.rawValue)): \(error.message)",
                hint: role == "target"
                    ? "check migration.postgres_target (or RDS_POSTGRES_*): host, credentials, security group, and sslrootcert (the RDS CA bundle)"
                    : "check postgres: in the config")
        }
    }

    /// The migration as the `migrate.postgres` job: a target that does not match its source after the
    /// restore (not a dry run) is the job's failure, naming the tables, with the report kept.
    package func runJob(dryRun: Bool, verifyOnly: Bool) throws -> PostgresMigrationReport {
        let report = try run(dryRun: dryRun, verifyOnly: verifyOnly)
        guard report.ok || dryRun else {
            let bad = report.tables.filter { !$0.ok }.map(\.table) + report.extraTables
            throw JobFailed(
                "the target does not match the source after the restore: \(bad.joined(separator: ", "))",
                hint: "was the source written to meanwhile? Stop the app's writes, empty the target and run again",
                result: report)
        }
        return report
    }

    package func run(dryRun: Bool, verifyOnly: Bool = false) throws -> PostgresMigrationReport {
        let watch = Stopwatch()
        let src = try connect(source, "source")
        defer { src.close() }
        let dst = try connect(target, "target")
        defer { dst.close() }
        try tools.checkCanDump(
            serverMajor: PostgresTools.serverMajor(versionNum: src.serverVersionNumber),
            serverVersion: src.serverVersion)
        let sourceTables = try Self.tables(src)
        let existing = try Self.tables(dst)
        reporter.info(
            "source \(source.endpoint): PostgreSQL \(src.serverVersion), \(Units.count(sourceTables.count, "table")); target \(target.endpoint): PostgreSQL \(dst.serverVersion), \(existing.count) tables"
        )
        if dryRun {
            var checks: [PostgresTableCheck] = []
            for t in sourceTables {
                let (rows, _) = try Self.summary(src, t, checksum: false)
                checks.append(
                    PostgresTableCheck(
                        table: t, sourceRows: rows, targetRows: nil, sourceChecksum: nil, targetChecksum: nil,
                        ok: true))
            }
            if !existing.isEmpty {
                reporter.log(
                    .warning,
                    "the target already holds \(Units.count(existing.count, "table")): a real run would refuse it")
            }
            return PostgresMigrationReport(
                mode: "dry-run", source: source.endpoint, target: target.endpoint,
                targetSSLMode: target.sslMode.rawValue, sourceVersion: src.serverVersion,
                targetVersion: dst.serverVersion, tables: checks, extraTables: existing, dumpBytes: nil,
                seconds: watch.elapsedSeconds)
        }
        var bytes: Int64?
        if !verifyOnly {
            bytes = try copy(existing: existing, tables: sourceTables.count)
        }
        reporter.progress(done: 2, total: 3, unit: "steps", phase: "verifying row counts and checksums")
        var checks: [PostgresTableCheck] = []
        let after = Set(try Self.tables(dst))
        for t in sourceTables {
            try reporter.checkCancelled()
            let (sr, sc) = try Self.summary(src, t, checksum: true)
            guard after.contains(t) else {
                checks.append(
                    PostgresTableCheck(
                        table: t, sourceRows: sr, targetRows: nil, sourceChecksum: sc, targetChecksum: nil, ok: false))
                continue
            }
            let (tr, tc) = try Self.summary(dst, t, checksum: true)
            checks.append(
                PostgresTableCheck(
                    table: t, sourceRows: sr, targetRows: tr, sourceChecksum: sc, targetChecksum: tc,
                    ok: sr == tr && sc == tc))
        }
        reporter.progress(done: 3, total: 3, unit: "steps", phase: "done")
        return PostgresMigrationReport(
            mode: verifyOnly ? "verify" : "write", source: source.endpoint, target: target.endpoint,
            targetSSLMode: target.sslMode.rawValue,
            sourceVersion: src.serverVersion, targetVersion: dst.serverVersion, tables: checks,
            extraTables: after.subtracting(sourceTables).sorted(), dumpBytes: bytes, seconds: watch.elapsedSeconds)
    }

    /// A pg_dump or pg_restore run of this migration: the job's log and cancellation, the timeout.
    func helper(_ tool: String, _ arguments: [String], _ environment: [String: String]) -> HelperProcess {
        var h = HelperProcess(tool, arguments: arguments, environment: environment)
        h.deadline = .after(seconds: timeout)
        h.timeoutSetting = "backups.postgres.timeout (\(Units.duration(timeout)))"
        h.reporter = reporter
        return h
    }

    /// pg_dump to a file, pg_restore from it into the (empty) target in one transaction.
    func copy(existing: [String], tables: Int) throws -> Int64 {
        guard existing.isEmpty else {
            throw Failure(
                "the target \(target.endpoint) already holds \(Units.count(existing.count, "table")) (\(existing.prefix(5).joined(separator: ", ")))",
                hint: "migrate into an empty database: nothing in the target is overwritten")
        }
        try Files.makeDirectories(workDirectory, mode: 0o700)
        let dump = "\(workDirectory)/migrate-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).dump"
        // Created 0600 before pg_dump opens it (which keeps the mode): the dump holds every row.
        let fd = open(dump, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw Failure("cannot create \(dump): \(Files.errnoText())") }
        close(fd)
        defer { unlink(dump) }
        let sourcePass = try PostgresTools.PasswordFile(directory: workDirectory, password: source.password)
        defer { sourcePass.remove() }
        let targetPass = try PostgresTools.PasswordFile(directory: workDirectory, password: target.password)
        defer { targetPass.remove() }

        reporter.progress(done: 0, total: 3, unit: "steps", phase: "pg_dump \(source.endpoint)")
        var dumpRun = helper(
            tools.pgDump, ["--verbose", "--format=custom", "--no-owner", "--no-privileges", "--file=\(dump)"],
            PostgresTools.environment(for: source, passfile: sourcePass, base: environment))
        dumpRun.failureHint = "nothing was written to the target"
        dumpRun.temporaryFiles = [dump]
        let dumped = Locked(0)
        let reporter = self.reporter
        dumpRun.onStderrLine = { line in
            guard line.contains("dumping contents of table") else { return }
            let n = dumped.withLock { v -> Int in
                v += 1
                return v
            }
            let table = line.split(separator: "\"").dropFirst().first.map(String.init) ?? ""
            reporter.progress(
                done: Double(n) / Double(max(tables, n)), total: 3, unit: "steps", phase: "pg_dump \(table)")
        }
        try dumpRun.run()
        var st = stat()
        let bytes: Int64 = stat(dump, &st) == 0 ? Int64(st.st_size) : 0
        reporter.info("pg_dump wrote \(bytes) bytes")
        try reporter.checkCancelled()

        reporter.progress(done: 1, total: 3, unit: "steps", phase: "pg_restore into \(target.endpoint)")
        var restoreRun = helper(
            tools.pgRestore,
            [
                "--verbose", "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction",
                "--dbname=\(target.database)", dump,
            ],
            PostgresTools.environment(for: target, passfile: targetPass, base: environment))
        restoreRun.failureHint =
            "the restore ran in one transaction, so the target is as it was; fix the cause and run again"
        restoreRun.temporaryFiles = [dump]
        try restoreRun.run()

        return bytes
    }
}
