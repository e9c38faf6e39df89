import WhatIfAWS
import WhatIfCore
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

extension BackupService {
    /// Chooses the copy to restore from and checks it first: a backup that does not verify is not restored.
    func prepareRestore(_ req: RestoreRequest, reporter: any JobReporter) throws -> (BackupEntry, any BackupStore) {
        try prepareRestore(id: req.id, kind: req.kind, from: req.from, reporter: reporter)
    }

    /// The same for one backup of a chain (and any backup by id).
    func prepareRestore(id: String, kind: BackupKind, from: BackupLocation?, reporter: any JobReporter) throws -> (
        BackupEntry, any BackupStore
    ) {
        let e = try entry(id)
        guard e.kind == kind else {
            throw Failure(
                "backup \(id) is a \(e.kind.rawValue) backup", hint: "use `whatifctl restore \(e.kind.rawValue)`")
        }
        let location = from ?? (e.locations.contains(.local) ? .local : .s3)
        guard e.locations.contains(location), let store = store(location) else {
            throw Failure(
                "backup \(id) has no \(location.rawValue) copy",
                hint: "its copies: \(e.locations.map(\.rawValue).joined(separator: ", "))")
        }
        reporter.info("checking \(id) (\(location.rawValue)) before restoring it")
        // The data key is unwrapped once, here: a key that cannot do it is an error naming the key.
        let decrypted = try readable(store, e.manifest)
        let problems = try verifyCopy(e.manifest, in: store, decrypted: decrypted, reporter: reporter) { n in
            reporter.progress(
                done: Double(n), total: Double(e.manifest.totalBytes), unit: "bytes", phase: "verify \(id)")
        }
        guard problems.isEmpty else {
            throw Failure(
                "backup \(id) does not verify, so it is not restored: \(problems.map(\.description).joined(separator: "; "))",
                hint: "restore an older backup (`whatifctl backups list`)")
        }
        return (e, decrypted)
    }

    /// Backs up the live database or table before work that writes over it (a forced restore, a
    /// migration, a table recreated); no backup, no such work.
    package func safetyBackup(
        _ kind: BackupKind, of target: String, before purpose: String = "restoring over it",
        reporter: any JobReporter
    ) throws -> String {
        reporter.info("taking a backup of the live \(kind == .postgres ? "database" : "table") before \(purpose)")
        let r = backupOne(kind, reporter: reporter)
        guard r.ok, let id = r.id else {
            throw Failure(
                "the safety backup of \(target) failed (\(r.error ?? "unknown")), so nothing was done", hint: r.hint)
        }
        return id
    }

    // MARK: PostgreSQL

    package func restorePostgres(_ req: RestoreRequest, reporter: any JobReporter) throws -> RestoreResult {
        let watch = Stopwatch()
        guard let source = context.postgres else {
            throw Failure("PostgreSQL is not configured", hint: "set postgres: in the config")
        }
        guard let target = req.targetDatabase, !target.isEmpty, target.utf8.count <= 63, !target.contains("\0") else {
            throw Failure("the target database name is missing or longer than 63 bytes", hint: "pass --target-db NAME")
        }
        leases.hold([req.id])
        defer { leases.release([req.id]) }
        let deadline = Deadline.after(seconds: settings.postgres.timeout)
        let admin = try PostgresConnection.connect(source.config, deadline: .after(seconds: source.connectTimeout))
        defer { admin.close() }
        // What the target allows is checked first: a refusal should not wait for the backup's verification.
        let exists = try !admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [target], deadline: deadline)
            .rows.isEmpty
        let live = target == source.config.database
        if live && !req.force {
            throw Failure(
                "\(target) is the live database",
                hint:
                    "restore into another database, or pass --force: a fresh backup is taken first, then the live database is restored over (--clean)"
            )
        }
        if !exists && !req.create {
            throw Failure("database \(target) does not exist", hint: "add --create to create it")
        }
        var targetConfig = source.config
        targetConfig.database = target
        if exists && !req.clean && !live {
            let objects = try Self.userRelations(targetConfig, deadline: deadline)
            if objects > 0 {
                throw Failure(
                    "database \(target) is not empty (\(objects) tables, views or sequences)",
                    hint:
                        "add --clean to drop the backup's objects in it first, or restore into a new database with --create"
                )
            }
        }
        let (entry, store) = try prepareRestore(req, reporter: reporter)
        let m = entry.manifest
        // A new database is restored under a scratch name and renamed to the target once its checks pass:
        // a failed or interrupted restore never leaves a half-filled (or empty) database under the name
        // asked for. The scratch database is dropped on failure (renamed to the target with
        // --keep-on-failure) and, after a crash, at the next start (a marker file names it).
        var into = target
        var marker: String?
        var succeeded = false
        if !exists {
            into = Self.scratchDatabase(for: target)
            let file = "\(restoreMarkers)/\(into)"
            try Files.makeDirectories(restoreMarkers, mode: 0o700)
            try Files.writeAtomically(file, Array(target.utf8), mode: 0o600)
            marker = file
            _ = try admin.query("CREATE DATABASE \(into.quotedIdentifier)", deadline: deadline)
            reporter.info("created database \(into), to become \(target) once the restore checks out")
        }
        defer {
            if let marker, !succeeded {
                if req.keepOnFailure,
                    (try? admin.query(
                        "ALTER DATABASE \(into.quotedIdentifier) RENAME TO \(target.quotedIdentifier)",
                        deadline: deadline))
                        != nil
                {
                    reporter.log(.warning, "kept the failed restore as database \(target) (--keep-on-failure)")
                } else if (try? Self.dropDatabase(admin, into, deadline: deadline)) != nil {
                    reporter.log(
                        .warning,
                        "dropped database \(into), which this failed restore created (--keep-on-failure keeps it)")
                } else {
                    reporter.log(
                        .error, "cannot drop database \(into), which this failed restore created: drop it by hand")
                }
                unlink(marker)
            }
        }
        targetConfig.database = into
        let safety = live ? try safetyBackup(.postgres, of: target, reporter: reporter) : nil

        // A copy in S3 is fetched into the backup location first (pg_restore needs a seekable file), and
        // an encrypted copy is decrypted there (the folder is removed after, and at the next start).
        var path = "\(local.folder(m.id))/\(m.format == "directory" ? "postgres.dir" : "postgres.dump")"
        var scratch: String?
        if store.location == .s3 || m.encryption != nil {
            let dir = "\(settings.location)/.restore-\(m.id)-\(getpid())"
            try? LocalFiles.removeTree(dir)
            try Files.makeDirectories(dir)
            chmod(dir, 0o700)
            scratch = dir
            var fetched: Int64 = 0
            for f in m.files {
                try Files.makeDirectories(Files.directory(of: "\(dir)/\(f.path)"))
                let out = try HashedFile(path: "\(dir)/\(f.path)")
                try store.read(m.id, f.path) { chunk in
                    try out.write(chunk)
                    fetched += Int64(chunk.count)
                    reporter.progress(
                        done: Double(fetched), total: Double(m.totalBytes), unit: "bytes", phase: "fetch \(m.id)")
                }
                let got = try out.finish(relativeTo: dir).file
                guard got.sha256 == f.sha256 else { throw Failure("\(f.path) changed while it was fetched") }
            }
            path = "\(dir)/\(m.format == "directory" ? "postgres.dir" : "postgres.dump")"
        }
        defer { if let scratch { try? LocalFiles.removeTree(scratch) } }

        let tools = try PostgresTools.find(
            binDirectory: settings.postgres.binDirectory, environment: context.processEnvironment)
        let passfile = try PostgresTools.PasswordFile(directory: context.scratch, password: source.config.password)
        defer { passfile.remove() }
        var args = ["--verbose", "--no-password", "--exit-on-error"]
        if req.clean || live { args += ["--clean", "--if-exists"] }
        let jobs = req.jobs ?? 1
        if jobs > 1 { args.append("--jobs=\(jobs)") } else { args.append("--single-transaction") }
        args.append("--dbname=\(into)")
        args.append(path)
        reporter.info("pg_restore \(m.id) into \(target)\(jobs > 1 ? " with \(jobs) jobs" : " in one transaction")")
        let steps = Locked(0)
        let total = m.tocEntries.map(Double.init)
        let throttle = ProgressThrottle(reporter)
        var restore = HelperProcess(
            tools.pgRestore, arguments: args,
            environment: PostgresTools.environment(
                for: source.config, database: into, passfile: passfile, base: context.processEnvironment),
            name: "pg_restore")
        restore.deadline = deadline
        restore.timeoutSetting = "backups.postgres.timeout (\(Units.duration(settings.postgres.timeout)))"
        restore.reporter = reporter
        restore.failureHint =
            jobs > 1
            ? "the target may hold part of the backup; restore again with --clean"
            : "it ran in one transaction, so the target is as it was before"
        restore.onStderrLine = { line in
            guard
                line.hasPrefix("pg_restore: creating") || line.hasPrefix("pg_restore: processing")
                    || line.hasPrefix("pg_restore: dropping")
            else { return }
            let n = steps.withLock { v -> Int in
                v += 1
                return v
            }
            throttle.report(
                done: Double(n), total: total.map { max($0, Double(n)) }, unit: "objects", phase: "pg_restore \(target)"
            )
        }
        defer { throttle.flush() }
        try restore.run()

        // The restored tables must hold the rows the dump's snapshot held.
        var rows: Int64 = 0
        var mismatches: [String] = []
        if let tables = m.tables {
            let conn = try PostgresConnection.connect(targetConfig, deadline: .after(seconds: source.connectTimeout))
            defer { conn.close() }
            for (name, expected) in tables.sorted(by: { $0.key < $1.key }) {
                let parts = name.split(separator: ".", maxSplits: 1).map(String.init)
                guard parts.count == 2 else { continue }
                let r = try conn.query(
                    "SELECT count(*) FROM \(parts[0].quotedIdentifier).\(parts[1].quotedIdentifier)", deadline: deadline
                )
                let got = Int64(r.rows.first?.first??.description ?? "") ?? -1
                rows += max(got, 0)
                if got != expected { mismatches.append("\(name): \(got) rows, the backup has \(expected)") }
            }
        }
        guard mismatches.isEmpty else {
            throw Failure(
                "restored, but row counts differ from the backup: \(mismatches.joined(separator: "; "))",
                hint: marker == nil
                    ? "the target database may have held rows before; restore into a new database"
                    : "the database this restore created was dropped; keep it to look into with --keep-on-failure")
        }
        if let marker {
            _ = try admin.query(
                "ALTER DATABASE \(into.quotedIdentifier) RENAME TO \(target.quotedIdentifier)", deadline: deadline)
            unlink(marker)
            reporter.info("renamed \(into) to \(target)")
        }
        succeeded = true
        let created = marker != nil
        reporter.info(
            "restored \(m.id) into \(target): \(Units.count(m.tables?.count ?? 0, "table")), \(Units.count(rows, "row")), counts match the backup"
        )
        return RestoreResult(
            kind: .postgres, id: m.id, target: target, from: store.location, seconds: watch.elapsedSeconds, items: nil,
            rows: m.tables == nil ? nil : rows, tablesChecked: m.tables?.count, safetyBackup: safety, created: created)
    }

    /// Where the names of scratch databases of restores in progress are kept (one file each).
    var restoreMarkers: String { "\(context.stateDirectory)/restores" }

    /// `whatif_restoring_<target's first bytes>_<random>`, within PostgreSQL's 63 bytes.
    static func scratchDatabase(for target: String) -> String {
        let safe = String(
            target.unicodeScalars.filter {
                $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_")
            }.prefix(30).map(Character.init))
        return "whatif_restoring_\(safe)_\(String(UInt32.random(in: 0...UInt32.max), radix: 16))"
    }

    static func dropDatabase(_ admin: PostgresConnection, _ name: String, deadline: Deadline) throws {
        _ = try admin.query("DROP DATABASE IF EXISTS \(name.quotedIdentifier) WITH (FORCE)", deadline: deadline)
    }

    /// Drops the scratch databases of restores a crash interrupted (named by their marker files).
    /// Returns what it dropped.
    package func dropInterruptedRestores() -> [String] {
        let names = Files.list(restoreMarkers).filter { $0.hasPrefix("whatif_restoring_") }
        guard !names.isEmpty, let source = context.postgres else { return [] }
        guard
            let admin = try? PostgresConnection.connect(
                source.config, deadline: .after(seconds: source.connectTimeout))
        else { return [] }
        defer { admin.close() }
        var dropped: [String] = []
        for name in names {
            if (try? Self.dropDatabase(admin, name, deadline: .after(seconds: 60))) != nil {
                unlink("\(restoreMarkers)/\(name)")
                dropped.append(name)
            }
        }
        return dropped
    }

    /// Tables, views, sequences and the like in schemas other than the system's.
    static func userRelations(_ config: PostgresConfig, deadline: Deadline) throws -> Int {
        let conn = try PostgresConnection.connect(config, deadline: deadline)
        defer { conn.close() }
        let r = try conn.query(
            """
            SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
              AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
            """, deadline: deadline)
        return Int(r.rows.first?.first??.description ?? "") ?? 0
    }

    // MARK: DynamoDB

    package func restoreDynamo(_ req: RestoreRequest, reporter: any JobReporter) throws -> RestoreResult {
        let watch = Stopwatch()
        guard let source = context.dynamo else {
            throw Failure("DynamoDB is not configured", hint: "set dynamodb: in the config")
        }
        guard let target = req.targetTable, DynamoDB.isValidName(target) else {
            throw Failure(
                "the target table name is missing or not a DynamoDB table name",
                hint: "pass --target-table NAME (\(DynamoDB.nameRule))")
        }
        leases.hold([req.id])
        defer { leases.release([req.id]) }
        let ddb = source.client
        let live = target == source.table
        if live && !req.force {
            throw Failure(
                "\(target) is the live table",
                hint:
                    "restore into a new table, or pass --force: a fresh backup is taken first, then the backup's items are written over the live table"
            )
        }
        var exists = true
        do { _ = try ddb.describeTable(target) } catch let e as AWSError where e.code == "ResourceNotFoundException" {
            exists = false
        }
        if exists && !req.force {
            throw Failure(
                "table \(target) already exists",
                hint: "restore into a new table name, or pass --force to write the backup's items over it")
        }
        // The target is checked before the backup is verified: a refusal should not wait for that.
        let (entry, store) = try prepareRestore(req, reporter: reporter)
        // An incremental export is restored with its chain: the full export it starts from, then each
        // incremental export in order, each verified first.
        let chain = try restoreChain(entry, store: store, from: req.from, reporter: reporter)
        leases.hold(chain.map(\.0.id))
        defer { leases.release(chain.map(\.0.id)) }
        let (m, baseStore) = chain[0]
        guard let schema = m.tableSchema, let export = m.export else {
            throw Failure(
                "backup \(m.id) has no table schema or export record", hint: "it cannot be restored by the agent")
        }
        let safety = live ? try safetyBackup(.dynamodb, of: target, reporter: reporter) : nil
        var succeeded = false
        if !exists {
            reporter.info(
                "creating table \(target) (\(schema.billingMode), \(schema.globalSecondaryIndexes?.count ?? 0) GSIs)")
            try ddb.createTable(schema.createRequest(name: target))
        }
        // A table this restore created does not outlive its failure, unless asked (--keep-on-failure).
        defer {
            if !exists, !succeeded {
                if req.keepOnFailure {
                    reporter.log(
                        .warning, "kept table \(target), which this failed restore created (--keep-on-failure)")
                } else if (try? ddb.deleteTable(target)) != nil {
                    reporter.log(
                        .warning,
                        "deleted table \(target), which this failed restore created (--keep-on-failure keeps it)")
                } else {
                    reporter.log(
                        .error, "cannot delete table \(target), which this failed restore created: delete it by hand")
                }
            }
        }
        if !exists { _ = try ddb.waitUntilActive(target, timeout: 900) }

        let reader = ExportReader(store: baseStore, id: m.id, exportPath: export.path, exportId: export.exportId)
        let loaded = try reader.load()
        let baseItems = loaded.summary.itemCount
        let applied = try loadItems(
            reader: reader, files: loaded.files, table: target, client: ddb, expected: baseItems, reporter: reporter)
        guard applied.written == baseItems else {
            throw Failure("wrote \(applied.written) items but the export holds \(baseItems)")
        }
        // The items the chain leaves: exact when every incremental export has old images (an insert is
        // then told from an update).
        var expected = baseItems
        var exact = true
        for (im, istore) in chain.dropFirst() {
            guard let ie = im.export else { throw Failure("backup \(im.id) has no export record") }
            let r = ExportReader(
                store: istore, id: im.id, exportPath: ie.path, exportId: ie.exportId, incremental: true)
            let l = try r.load()
            let a = try loadItems(
                reader: r, files: l.files, table: target, client: ddb, expected: l.summary.itemCount,
                reporter: reporter)
            guard a.written == l.summary.itemCount else {
                throw Failure("applied \(a.written) changes of \(im.id) but it holds \(l.summary.itemCount)")
            }
            expected += a.inserted - a.deleted
            exact = exact && ie.viewType != "NEW_IMAGE"
            reporter.info(
                "applied \(im.id) (\(ie.fromTime.map(Timestamp.format) ?? "?") to \(ie.toTime.map(Timestamp.format) ?? "?")): \(a.inserted) inserted, \(a.written - a.inserted - a.deleted) updated, \(a.deleted) deleted"
            )
        }
        let count = Int64(try ddb.countItems(table: target, consistentRead: true))
        if !exists || live {
            // A new table must now hold exactly the backup's items (a live one at least as many).
            if (!exists && exact && count != expected) || (exists && count < expected && chain.count == 1) {
                throw Failure(
                    "table \(target) holds \(count) items after the restore; the backup has \(expected)",
                    hint: "something else wrote to the table during the restore, or items were lost: restore again")
            }
        }
        succeeded = true
        reporter.info(
            "restored \(req.id) into \(target): \(chain.count > 1 ? "\(m.id) and \(chain.count - 1) incremental exports, " : "")\(applied.written) items written, the table holds \(count)"
        )
        return RestoreResult(
            kind: .dynamodb, id: req.id, target: target, from: store.location, seconds: watch.elapsedSeconds,
            items: chain.count > 1 ? count : applied.written, rows: nil, tablesChecked: nil, safetyBackup: safety,
            created: !exists)
    }

    /// Reads the data files on this thread and writes their items with `restoreWorkers` BatchWriteItem
    /// workers (25 per request). UnprocessedItems and throttling are retried with backoff and full jitter.
    /// Requests DynamoDB acknowledged (puts and deletes), and of the changes, the inserts and deletes.
    struct Applied {
        var written: Int64
        var inserted: Int64 = 0
        var deleted: Int64 = 0
    }

    func loadItems(
        reader: ExportReader, files: [ExportLayout.FileEntry], table: String, client: DynamoDB, expected: Int64,
        reporter: any JobReporter
    ) throws -> Applied {
        var inserted: Int64 = 0
        var deleted: Int64 = 0
        let throttle = ProgressThrottle(reporter)
        let written = Locked<Int64>(0)
        let writer = DynamoBatchWriter(
            client: client, table: table, workers: settings.dynamodb.restoreWorkers,
            retries: settings.dynamodb.throttleRetries,
            hint:
                "the table is throttled: raise its write capacity or lower restore_workers, and restore again with --force",
            written: { done in
                let w = written.withLock { v -> Int64 in
                    v += done
                    return v
                }
                throttle.report(
                    done: Double(w), total: Double(expected), unit: "items", phase: "BatchWriteItem \(table)")
            })
        var batch: [[UInt8]] = []
        var firstLine = 1
        var fileName = ""
        do {
            for entry in files {
                fileName = String(entry.dataFileS3Key.split(separator: "/").last ?? "")
                firstLine = 1
                let problems = try reader.readDataFile(entry) { record, line in
                    try reporter.checkCancelled()
                    var req: [UInt8]
                    switch record {
                    case .item(let json):
                        req = Array(#"{"PutRequest":{"Item":"#.utf8) + json
                    case .change(let c):
                        if let new = c.newImage {
                            req = Array(#"{"PutRequest":{"Item":"#.utf8) + new
                            if !c.hasOldImage { inserted += 1 }
                        } else {
                            req = Array(#"{"DeleteRequest":{"Key":"#.utf8) + c.keys
                            deleted += 1
                        }
                    }
                    req += Array("}}".utf8)
                    batch.append(req)
                    if batch.count == 25 {
                        try writer.submit(
                            .init(requests: batch, tag: 0, origin: "\(fileName) lines \(firstLine)-\(line)"))
                        batch.removeAll(keepingCapacity: true)
                        firstLine = line + 1
                    }
                }
                guard problems.isEmpty else {
                    throw Failure(
                        "the export changed while it was restored: \(problems.map(\.description).joined(separator: "; "))"
                    )
                }
                if !batch.isEmpty {
                    try writer.submit(.init(requests: batch, tag: 0, origin: "\(fileName) lines \(firstLine)-"))
                    batch.removeAll(keepingCapacity: true)
                }
            }
        } catch {
            writer.fail(error)
        }
        defer { throttle.flush() }
        try writer.finish()
        return Applied(written: written.value, inserted: inserted, deleted: deleted)
    }

    /// The backups a restore of `entry` reads, oldest first: itself for a full export; for an incremental
    /// one, the full export its chain starts from and every incremental export up to it, each verified,
    /// each continuing the window of the one before.
    func restoreChain(
        _ entry: BackupEntry, store: any BackupStore, from: BackupLocation?, reporter: any JobReporter
    ) throws -> [(BackupManifest, any BackupStore)] {
        var chain: [(BackupManifest, any BackupStore)] = [(entry.manifest, store)]
        var cursor = entry.manifest
        while let e = cursor.export, e.isIncremental {
            guard let previous = e.previous else {
                throw Failure("backup \(cursor.id) is an incremental export with no previous export recorded")
            }
            guard chain.count < 10_000 else { throw Failure("the chain of \(entry.id) does not end") }
            let p: (BackupEntry, any BackupStore)
            do {
                p = try prepareRestore(
                    id: previous, kind: .dynamodb,
                    from: from.flatMap { l in
                        (try? self.entry(previous))?.locations.contains(l) == true ? l : nil
                    }, reporter: reporter)
            } catch {
                throw Failure(
                    "backup \(entry.id) needs \(previous), the export before it in its chain, which cannot be read: \((error as? any OperatorError)?.message ?? "\(error)")",
                    hint: "restore an export whose chain is whole (whatifctl backups list --kind dynamodb)")
            }
            guard p.0.manifest.export?.end == e.fromTime else {
                throw Failure(
                    "backup \(cursor.id) starts at \(e.fromTime.map(Timestamp.format) ?? "?") but \(previous) ends at \(p.0.manifest.export?.end.map(Timestamp.format) ?? "?"): the chain has a gap"
                )
            }
            chain.insert((p.0.manifest, p.1), at: 0)
            cursor = p.0.manifest
        }
        if chain.count > 1 {
            reporter.info(
                "restoring the chain of \(entry.id): \(chain.map(\.0.id).joined(separator: " → "))")
        }
        return chain
    }
}
