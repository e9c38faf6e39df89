import WhatIfCore
import WhatIfCrypto
import WhatIfPostgres
import WhatIfProtocol
import WhatIfUnits

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
#if canImport(Glibc)
    import Glibc
#endif

/// The PostgreSQL database a backup reads.
package struct PostgresSource: Sendable {
    package var config: PostgresConfig
    package var connectTimeout: Double = 5
    // memberwise-init: package
}

/// One pg_dump run into a partial folder: a snapshot exported from our own connection (so the row counts
/// are of exactly the data dumped), the dump streamed through SHA-256 into the folder, stderr to the log.
struct PostgresDumper {
    let source: PostgresSource
    let settings: PostgresDumpSettings
    let tools: PostgresTools
    let scratch: String
    let environment: [String: String]
    let reporter: any JobReporter
    /// The previous backup's size: the progress bar's estimate of the total.
    let expectedBytes: Int64?

    struct Output {
        var files: [BackupFile]
        var format: String
        var tables: [String: Int64]?
        var serverVersion: String
    }

    func run(into folder: String, deadline: Deadline) throws -> Output {
        let conn: PostgresConnection
        do {
            conn = try PostgresConnection.connect(
                source.config, deadline: min(deadline, .after(seconds: source.connectTimeout)))
        } catch {
            throw Failure(
                "cannot connect to PostgreSQL at \(source.config.endpoint): \(error.message)",
                hint: error.hint ?? "check that the server is up and postgres: in the config")
        }
        defer { conn.close() }
        let q = { (sql: String) throws -> PostgresResult in try conn.query(sql, deadline: deadline) }
        let versionNum = Int(try q("SHOW server_version_num").rows.first?.first??.description ?? "") ?? 0
        let serverMajor = PostgresTools.serverMajor(versionNum: versionNum)
        try tools.checkCanDump(serverMajor: serverMajor, serverVersion: conn.serverVersion)
        reporter.info(
            "pg_dump \(tools.version) (\(tools.pgDump)), server PostgreSQL \(conn.serverVersion), database \(source.config.database)"
        )

        // One snapshot for pg_dump and for our row counts.
        _ = try q("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        // The counts run beside pg_dump: one process, no parallel workers or JIT taking cores from it.
        _ = try q("SET LOCAL max_parallel_workers_per_gather = 0")
        _ = try q("SET LOCAL jit = off")
        guard let snapshot = try q("SELECT pg_export_snapshot()").rows.first?.first ?? nil else {
            throw Failure("the server did not export a snapshot")
        }
        var tableNames: [String] = []
        if settings.rowCounts {
            tableNames = try conn.userTables(deadline: deadline).map { "\($0.displayName)\t\($0.quoted)" }
        }

        let passfile = try PostgresTools.PasswordFile(directory: scratch, password: source.config.password)
        defer { passfile.remove() }
        let env = PostgresTools.environment(for: source.config, passfile: passfile, base: environment)
        var args = ["--verbose", "--no-password", "--snapshot=\(snapshot)"]
        if let z = settings.compression { args.append("--compress=\(z)") }
        let directory = settings.format == "directory"
        let outputPath = directory ? "\(folder)/postgres.dir" : "\(folder)/postgres.dump"
        if directory {
            args += ["--format=directory", "--jobs=\(max(1, settings.jobs))", "--file=\(outputPath)"]
        } else {
            args += ["--format=custom"]
        }

        // Counting runs beside the dump, in the same snapshot, on our connection.
        let counts = Locked<Result<[String: Int64], any Error>?>(nil)
        let counter: Threads.Handle? =
            settings.rowCounts
            ? Threads.start {
                var out: [String: Int64] = [:]
                do {
                    for t in tableNames {
                        let parts = t.split(separator: "\t", maxSplits: 1)
                        let r = try conn.query("SELECT count(*) FROM \(parts[1])", deadline: deadline)
                        out[String(parts[0])] = Int64(r.rows.first?.first??.description ?? "") ?? 0
                    }
                    counts.set(.success(out))
                } catch {
                    counts.set(.failure(error))
                }
            } : nil

        let file: HashedFile? = directory ? nil : try HashedFile(path: outputPath)
        let tablesDone = Locked(0)
        let tableCount = tableNames.count
        let throttle = ProgressThrottle(reporter)
        var dump = HelperProcess(tools.pgDump, arguments: args, environment: env, name: "pg_dump")
        dump.deadline = deadline
        dump.timeoutSetting = "backups.postgres.timeout (\(Units.duration(settings.timeout)))"
        dump.timeoutHint = directory ? "raise it" : "raise it, or use format: directory with jobs"
        dump.failureHint = "the job log has pg_dump's messages; nothing was kept"
        dump.reporter = reporter
        dump.level = { line in
            line.contains("dumping contents of table") ? .info : HelperProcess.defaultLevel(line)
        }
        dump.onStderrLine = { line in
            guard directory, line.contains("dumping contents of table") else { return }
            let n = tablesDone.withLock { v -> Int in
                v += 1
                return v
            }
            let table = line.split(separator: "\"").dropFirst().first.map(String.init) ?? ""
            throttle.report(
                done: Double(n), total: tableCount == 0 ? nil : Double(tableCount), unit: "tables",
                phase: "pg_dump \(table)")
        }
        // Custom format streams through SHA-256 into the file; directory format writes its own files.
        let dumped = Result {
            let sink: ((UnsafeRawBufferPointer) throws -> Void)? = file.map { file in
                { chunk in
                    try file.write(chunk)
                    throttle.report(
                        done: Double(file.bytes), total: expectedBytes.map(Double.init), unit: "bytes",
                        phase: "pg_dump \(source.config.database)")
                }
            }
            return try dump.run(stdout: sink)
        }
        counter?.join()
        throttle.flush()
        _ = try? conn.query("COMMIT", deadline: .after(seconds: 10))
        _ = try dumped.get()

        var files: [BackupFile] = []
        if let file {
            files.append(try file.finish(relativeTo: folder).file)
        } else {
            // Hash what pg_dump wrote, fsync it.
            for (rel, _) in LocalFiles.walk(outputPath) {
                let path = "\(outputPath)/\(rel)"
                files.append(try Self.hashAndSync(path, relative: "postgres.dir/\(rel)"))
            }
            Files.syncDirectory(outputPath)
        }
        var tables: [String: Int64]?
        switch counts.value {
        case .success(let c)?: tables = c
        case .failure(let e)?:
            throw Failure(
                "cannot count rows in the dump's snapshot: \(e)", hint: "set backups.postgres.row_counts: false")
        case nil: tables = nil
        }
        return Output(
            files: files, format: directory ? "directory" : "custom", tables: tables,
            serverVersion: conn.serverVersion)
    }

    static func hashAndSync(_ path: String, relative: String) throws -> BackupFile {
        var d = Digest(.sha256)
        var bytes: Int64 = 0
        try LocalFiles.stream(path) { chunk in
            d.update(chunk)
            bytes += Int64(chunk.count)
        }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd >= 0 {
            _ = fsync(fd)
            close(fd)
        }
        return BackupFile(path: relative, bytes: bytes, sha256: Hex.encode(d.finalize()))
    }
}

extension PostgresTools {
    /// `pg_restore --list`: the number of TOC entries, or a failure naming the problem.
    func listEntries(_ path: String, environment: [String: String]) throws -> Int {
        var list = HelperProcess(
            pgRestore, arguments: ["--list", path], environment: PostgresTools.baseEnvironment(environment),
            name: "pg_restore --list")
        list.deadline = .after(seconds: 600)
        let out = try list.output(limit: 64 << 20)
        return String(decoding: out, as: UTF8.self).split(separator: "\n").filter {
            !$0.hasPrefix(";") && !String($0).trimmingWhitespace().isEmpty
        }.count
    }
}
