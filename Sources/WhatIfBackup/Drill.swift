import Logging
import WhatIfAWS
import WhatIfCore
import WhatIfPostgres
import WhatIfProtocol
import WhatIfRedis
import WhatIfUnits

#if canImport(Glibc)
    import Glibc
#endif

extension BackupService {
    /// The scratch names a drill restores into: fixed, so a drill interrupted half-way is cleaned up by the
    /// next one, and recognisable, so nobody mistakes them for live data.
    package static let drillDatabase = "whatif_restore_drill"
    package static func drillTable(_ table: String) -> String { "\(table.prefix(230))-restore-drill" }

    /// Restores the newest backup of each kind into a scratch database or table, checks every file
    /// against the manifest's SHA-256 (before restoring) and the row or item counts against it
    /// (after), and drops the scratch copy whatever happened.
    package func drill(kinds: [BackupKind], reporter: any JobReporter) -> DrillResult {
        var parts: [DrillPart] = []
        for kind in kinds {
            // The newest complete backup: one listing and one manifest read per copy, not the catalog.
            let newest = newestManifest(kind)
            let scratch =
                switch kind {
                case .postgres: Self.drillDatabase
                case .dynamodb: Self.drillTable(context.dynamo?.table ?? "what-if-table")
                case .redis: "a scratch redis-server"
                case .rdsSnapshot, .dynamodbBackup, .elasticacheSnapshot: "-"
                }
            var part = DrillPart(
                kind: kind, ok: false, backupId: newest?.id, scratch: scratch, expected: nil, restored: nil,
                dropped: true)
            guard let newest else {
                part.error = "there is no \(kind.rawValue) backup to restore"
                part.hint = "take one (`whatifctl backup`) before the drill"
                parts.append(part)
                reporter.log(.error, "restore drill (\(kind.rawValue)): \(part.error!)")
                continue
            }
            let unit = kind == .postgres ? "rows" : kind == .redis ? "keys" : "items"
            part.filesChecked = newest.files.count
            // An incremental export's items are changes: its chain's count is checked by the restore itself.
            part.expected =
                kind == .postgres ? newest.rows : newest.export?.isIncremental == true ? nil : newest.items
            reporter.info("restore drill: \(kind.rawValue) backup \(newest.id) into \(scratch)")
            let watch = Stopwatch()
            if kind == .redis {
                do {
                    part.restored = try drillRedis(newest, reporter: reporter)
                    part.secondsToRestore = watch.elapsedSeconds
                    if let expected = part.expected, let got = part.restored, expected != got {
                        throw Failure("the scratch Redis holds \(got) keys; the manifest says \(expected)")
                    }
                    part.ok = true
                    reporter.info("restore drill (redis): passed, \(part.restored ?? 0) keys as the manifest says")
                } catch {
                    let e = error as? any OperatorError
                    part.error = e?.message ?? "\(error)"
                    part.hint = e?.hint ?? "check the backup with `whatifctl backups verify \(newest.id)`"
                    reporter.log(.error, "restore drill (redis) failed: \(part.error!)")
                }
                parts.append(part)
                continue
            }
            do {
                try dropScratch(kind, scratch)
                let req = RestoreRequest(
                    kind: kind, id: newest.id, targetDatabase: kind == .postgres ? scratch : nil,
                    targetTable: kind == .dynamodb ? scratch : nil, create: true)
                let r =
                    try kind == .postgres
                    ? restorePostgres(req, reporter: reporter) : restoreDynamo(req, reporter: reporter)
                part.secondsToRestore = watch.elapsedSeconds
                part.restored = kind == .postgres ? r.rows : r.items
                part.tablesChecked = r.tablesChecked
                if let expected = part.expected, let got = part.restored, expected != got {
                    throw Failure(
                        "the copy holds \(got) \(unit); the manifest says \(expected)")
                }
                part.ok = true
                reporter.info(
                    "restore drill (\(kind.rawValue)): passed in \(Units.duration(watch.elapsedSeconds)), \(part.restored ?? 0) \(unit) as the manifest says"
                )
            } catch {
                let e = error as? any OperatorError
                part.error = e?.message ?? "\(error)"
                part.hint = e?.hint ?? "check the backup with `whatifctl backups verify \(newest.id)`"
                reporter.log(.error, "restore drill (\(kind.rawValue)) failed: \(part.error!)")
            }
            do { try dropScratch(kind, scratch) } catch {
                part.dropped = false
                part.ok = false
                let why = (error as? any OperatorError)?.message ?? "\(error)"
                part.error =
                    (part.error.map { $0 + "; " } ?? "") + "the scratch copy \(scratch) was not dropped: \(why)"
                reporter.log(.error, "restore drill: cannot drop \(scratch): \(why)")
            }
            parts.append(part)
        }
        return DrillResult(parts: parts)
    }

    func dropScratch(_ kind: BackupKind, _ scratch: String) throws {
        switch kind {
        case .postgres:
            guard let source = context.postgres else { return }
            let admin = try PostgresConnection.connect(source.config, deadline: .after(seconds: source.connectTimeout))
            defer { admin.close() }
            _ = try admin.query(
                "DROP DATABASE IF EXISTS \(scratch.quotedIdentifier) WITH (FORCE)", deadline: .after(seconds: 120))
        case .redis, .rdsSnapshot, .dynamodbBackup, .elasticacheSnapshot: return
        case .dynamodb:
            guard let ddb = context.dynamo?.client else { return }
            do { try ddb.deleteTable(scratch) } catch let e as AWSError where e.code == "ResourceNotFoundException" {
                return
            }
            // Gone before the restore creates it again (DynamoDB deletes in the background).
            try ddb.waitUntilDeleted(scratch, timeout: 600)
        }
    }
}

extension BackupService {
    /// Loads the backup's RDB (checked and decrypted as any restore reads it) into a redis-server of
    /// its own on a free loopback port, in a 0700 scratch folder; answers DBSIZE once it has loaded.
    /// The server (found by its pid) and the folder are gone afterwards, whatever happened.
    func drillRedis(_ m: BackupManifest, reporter: any JobReporter) throws -> Int64 {
        let (_, store) = try prepareRestore(RestoreRequest(kind: .redis, id: m.id), reporter: reporter)
        let dir = "\(settings.location)/.restore-\(m.id)-\(getpid())"
        try? LocalFiles.removeTree(dir)
        try Files.makeDirectories(dir)
        chmod(dir, 0o700)
        defer { try? LocalFiles.removeTree(dir) }
        let out = try HashedFile(path: "\(dir)/dump.rdb")
        try store.read(m.id, "dump.rdb") { try out.write($0) }
        guard try out.finish(relativeTo: dir).file.sha256 == m.files.first?.sha256 else {
            throw Failure("dump.rdb changed while it was fetched")
        }
        let port = Sockets.freeLoopbackPort()
        let server = try Subprocess.start(
            "redis-server",
            arguments: [
                "--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--dbfilename", "dump.rdb", "--save", "",
                "--appendonly", "no", "--protected-mode", "yes",
            ],
            environment: ["PATH": (context.processEnvironment["PATH"] ?? "") + ":/usr/bin:/usr/local/bin"],
            stdout: .null, stderr: .null)
        defer {
            server.kill(SIGKILL)
            _ = server.wait()
        }
        reporter.info(
            "restore drill (redis): loading \(m.id) into redis-server on 127.0.0.1:\(port) (pid \(server.pid))")
        let config = RedisConfig(endpoint: RedisEndpoint(transport: .tcp(host: "127.0.0.1", port: port)), timeout: 5)
        let deadline = Deadline.after(seconds: 120)
        while true {
            if let t = server.tryWait() {
                throw Failure("the scratch redis-server ended (\(t)) before it loaded \(m.id)")
            }
            if let conn = try? RedisConnection(config) {
                defer { conn.close() }
                if let info = try? conn.info("persistence"), info["loading"] == "0",
                    case .integer(let n) = try conn.command("DBSIZE")
                {
                    return n
                }
            }
            guard !deadline.hasPassed else { throw Failure("the scratch redis-server did not load \(m.id) in 120 s") }
            sleepThread(seconds: 0.05)
        }
    }
}
