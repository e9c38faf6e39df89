import CLinuxShims
import Logging
import WhatIfAWS
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

/// Backups that running restores and verifications are reading: prune leaves them alone.
package final class BackupLeases: Sendable {
    private let held = Locked<[String: Int]>([:])
    package init() {}

    package func hold(_ ids: [String]) {
        held.withLock { for id in ids { $0[id, default: 0] += 1 } }
    }

    package func release(_ ids: [String]) {
        held.withLock {
            for id in ids {
                $0[id, default: 1] -= 1
                if $0[id]! <= 0 { $0[id] = nil }
            }
        }
    }

    package func contains(_ id: String) -> Bool { held.value[id] != nil }
}

/// What the backup capability needs from the agent: settings, the services, where to keep scratch files.
package struct BackupContext: Sendable {
    package var settings: BackupSettings
    package var environmentName: String
    package var postgres: PostgresSource?
    /// The read replicas of `postgres`, by name (`backups.postgres.from: replica` dumps from one).
    package var postgresReplicas: [(name: String, source: PostgresSource)] = []
    package var dynamo: DynamoSource?
    /// The S3 client for the destination (and the native export).
    package var s3: S3?
    /// KMS, for backups encrypted under a KMS key (nil without AWS).
    package var kms: KMS?
    /// Redis, when its backups are configured.
    package var redis: RedisSource?
    /// RDS (nil without AWS) and the configured instance (`rds.instance_id`), for `rds-snapshot`.
    package var rds: RDS?
    package var rdsInstance: String?
    /// ElastiCache (nil without AWS) and the configured replication group, for `elasticache-snapshot`.
    package var elasticache: ElastiCache?
    package var replicationGroup: String?
    /// The region the managed services are in (recorded in snapshot manifests).
    package var region: String?
    package var stateDirectory: String
    package var processEnvironment: [String: String]
    package var logger: Logger

    // memberwise-init: package

    package var scratch: String { "\(stateDirectory)/tmp" }
    var pendingS3: String { "\(stateDirectory)/s3-pending" }
}

/// Backups: take, list, verify, prune, pin, restore. Blocking: call from a dedicated thread.
package final class BackupService: Sendable {
    package let context: BackupContext
    package let leases: BackupLeases
    package let local: LocalStore
    package let remote: S3Store?

    package init(context: BackupContext, leases: BackupLeases) {
        self.context = context
        self.leases = leases
        local = LocalStore(root: context.settings.location)
        if let d = context.settings.s3, let c = context.s3 {
            remote = S3Store(s3: c, destination: d)
        } else {
            remote = nil
        }
    }

    var settings: BackupSettings { context.settings }
    var stores: [any BackupStore] { [local] + (remote.map { [$0] } ?? []) }

    func store(_ location: BackupLocation) -> (any BackupStore)? {
        location == .local ? local : remote
    }

    // MARK: Catalog

    /// Every complete backup, newest first, merged across copies.
    /// A damaged manifest is reported in `damaged` (one bad record never hides the others or blocks a
    /// backup); a store that cannot be listed is a warning (the list is then incomplete).
    package func list(kind: BackupKind? = nil) -> BackupList {
        var entries: [String: BackupEntry] = [:]
        var warnings: [String] = []
        var damaged: [DamagedBackup] = []
        // By the id each orphan carries: a location's own path may hold "/postgres/" for every kind.
        var orphans = local.orphans().filter { o in kind == nil || o.id.flatMap(BackupID.kind(of:)) == kind }
        let pending = Set(pendingS3Leftovers())
        for store in stores {
            for k in BackupKind.allCases where kind == nil || kind == k {
                let ids: [String]
                do {
                    if let s3 = store as? S3Store {
                        let catalog = try s3.catalog(kind: k)
                        ids = catalog.ids
                        orphans += s3Orphans(s3, catalog.withoutManifest, pending: pending)
                    } else {
                        ids = try store.ids(kind: k)
                    }
                } catch {
                    warnings.append("cannot list \(k.rawValue) backups in \(store.description): \(error)")
                    continue
                }
                for id in ids {
                    do { try add(id, in: store, to: &entries) } catch let d as ManifestDamage {
                        damaged.append(d.record)
                    } catch { warnings.append("\(error)") }
                }
            }
        }
        let sorted = entries.values.sorted { ($0.manifest.startedAt, $0.id) > ($1.manifest.startedAt, $1.id) }
        return BackupList(backups: sorted, warnings: warnings, damaged: damaged, orphans: orphans)
    }

    /// How old an S3 prefix without a manifest must be to count as an orphan: a copy still being made
    /// (by this agent or by another host of the fleet) has no manifest yet either, and none runs longer
    /// than the longest backup timeout.
    package var s3OrphanAge: Double { max(settings.postgres.timeout, settings.dynamodb.timeout) + 3600 }

    /// The S3 prefixes without a manifest that no copy can still be writing: older than `s3OrphanAge` by
    /// their id, and not an unfinished copy of this agent's (removed at its next start).
    func s3Orphans(_ s3: S3Store, _ withoutManifest: [String: Int64], pending: Set<String>) -> [OrphanBackup] {
        let cutoff = Date().addingTimeInterval(-s3OrphanAge)
        return withoutManifest.sorted { $0.key < $1.key }.compactMap { id, bytes in
            guard !pending.contains(id), let started = BackupID.date(of: id), started < cutoff else { return nil }
            return OrphanBackup(
                path: "s3://\(s3.destination.bucket)/\(s3.prefix(id))", location: .s3, bytes: bytes, id: id)
        }
    }

    /// One backup, read from its manifest in each store (no listing).
    package func entry(_ id: String) throws -> BackupEntry {
        guard BackupID.kind(of: id) != nil else {
            throw BackupError.badID(id)
        }
        var entries: [String: BackupEntry] = [:]
        var warnings: [String] = []
        var damage: ManifestDamage?
        for store in stores {
            do { try add(id, in: store, to: &entries) } catch let d as ManifestDamage {
                damage = damage ?? d
            } catch { warnings.append("\(error)") }
        }
        guard let e = entries[id] else {
            // A damaged manifest is named as such, not as a missing backup.
            if let damage { throw damage }
            throw BackupError.notFound(id, warnings: warnings)
        }
        return e
    }

    /// The newest complete backup of a kind, for size estimates: ids sort by time, so one listing and one
    /// manifest read per store instead of the whole catalog.
    func newestManifest(_ kind: BackupKind) -> BackupManifest? {
        var newest: BackupManifest?
        for store in stores {
            guard let ids = try? store.ids(kind: kind) else { continue }
            for id in ids.sorted(by: >) {
                guard let m = try? store.manifest(id) else { continue }
                if newest.map({ m.startedAt > $0.startedAt }) ?? true { newest = m }
                break
            }
        }
        return newest
    }

    /// Adds the copy of `id` in `store` (with its pin and latest verification), when it is complete.
    private func add(_ id: String, in store: any BackupStore, to entries: inout [String: BackupEntry]) throws {
        guard let m = try store.manifest(id) else { return }
        let v = store.decodeSide(BackupVerification.self, id, SideFile.verification)
        let pin = store.decodeSide(BackupPin.self, id, SideFile.pin)
        if var e = entries[id] {
            e.locations.append(store.location)
            if let v { e.verifications.append(v) }
            e.pin = e.pin ?? pin
            entries[id] = e
        } else {
            entries[id] = BackupEntry(
                manifest: m, locations: [store.location], pin: pin, verifications: v.map { [$0] } ?? [])
        }
    }

    package func pin(_ id: String, by: String?, note: String? = nil) throws -> BackupEntry {
        let e = try entry(id)
        let bytes = try APICoding.encode(BackupPin(at: Date(), by: by, note: note), pretty: true)
        for l in e.locations { try store(l)?.writeSide(id, SideFile.pin, bytes) }
        return try entry(id)
    }

    package func unpin(_ id: String) throws -> BackupEntry {
        let e = try entry(id)
        for l in e.locations { try store(l)?.deleteSide(id, SideFile.pin) }
        return try entry(id)
    }

    /// Removes what crashes left locally: partial and half-deleted folders, stray password files.
    /// Run at start, before any job.
    package func removeLocalLeftovers() -> [String] {
        var removed = local.removeLeftovers()
        for name in Files.list(context.scratch) {
            if (try? LocalFiles.removeTree("\(context.scratch)/\(name)")) != nil {
                removed.append("\(context.scratch)/\(name)")
            }
        }
        for name in Files.list(settings.location) where name.hasPrefix(".restore-") {
            if (try? LocalFiles.removeTree("\(settings.location)/\(name)")) != nil {
                removed.append("\(settings.location)/\(name)")
            }
        }
        return removed
    }

    /// Backups whose S3 copy was being written or deleted when the agent stopped.
    package func pendingS3Leftovers() -> [String] {
        Files.list(context.pendingS3).filter { BackupID.kind(of: $0) != nil }
    }

    /// Deletes the S3 copies of `ids` (listed by `pendingS3Leftovers` at start). Returns what it removed.
    package func removeS3Leftovers(_ ids: [String]) -> [String] {
        guard let remote else { return [] }
        var removed: [String] = []
        for id in ids {
            do {
                try remote.deletePrefix(remote.prefix(id), manifestFirst: true)
                unlink("\(context.pendingS3)/\(id)")
                removed.append("s3://\(remote.destination.bucket)/\(remote.prefix(id))")
            } catch {
                context.logger.warning(
                    "cannot remove an unfinished S3 copy; will try again at the next start",
                    metadata: ["backup_id": "\(id)", "error": "\(error)"])
            }
        }
        return removed
    }

    // MARK: Taking backups

    /// Takes a backup of each kind in turn. A part that fails leaves nothing behind and does not stop the
    /// others; prune runs after the parts that succeeded.
    package func backup(kinds: [BackupKind], options: ExportOptions = .init(), reporter: any JobReporter)
        -> BackupRunResult
    {
        var parts: [BackupPartResult] = []
        for kind in kinds {
            if reporter.isCancelled {
                parts.append(
                    BackupPartResult(
                        kind: kind, ok: false, error: "cancelled before it started", seconds: 0, locations: []))
                continue
            }
            parts.append(backupOne(kind, options: kind == .dynamodb ? options : .init(), reporter: reporter))
        }
        var pruned: [String] = []
        var pruneErrors: [String] = []
        let succeeded = parts.filter(\.ok).map(\.kind)
        if settings.pruneAfterBackup, !succeeded.isEmpty, !reporter.isCancelled {
            let r = prune(dryRun: false, kinds: succeeded)
            pruned = r.deleted
            pruneErrors = r.errors
            if !pruned.isEmpty { reporter.info("pruned \(pruned.count): \(pruned.joined(separator: ", "))") }
            for e in pruneErrors { reporter.log(.error, "prune: \(e)") }
        }
        return BackupRunResult(parts: parts, pruned: pruned, pruneErrors: pruneErrors)
    }

    func backupOne(_ kind: BackupKind, options: ExportOptions = .init(), reporter: any JobReporter)
        -> BackupPartResult
    {
        let watch = Stopwatch()
        let id = BackupID.make(kind: kind)
        reporter.info("backup \(id) started")
        do {
            let (manifest, locations) = try take(kind, id: id, options: options, reporter: reporter)
            var verified: Bool?
            if settings.verifyAfterBackup {
                let outcome = try verify(ids: [id], reporter: reporter, quiet: true).first
                verified = outcome?.ok ?? false
                if verified != true {
                    let problems = outcome?.verifications.flatMap(\.problems).map(\.description) ?? []
                    throw Failure(
                        "backup \(id) was written but does not verify: \(problems.joined(separator: "; "))",
                        hint: "it is kept for inspection (`whatifctl backups verify \(id)`); check the disk")
                }
            }
            if let s = manifest.snapshot {
                reporter.info("backup \(id) complete: \(s.service) snapshot \(s.identifier) is \(s.status)")
            } else {
                reporter.info(
                    "backup \(id) complete: \(manifest.totalBytes) bytes"
                        + (manifest.items.map { ", \($0) items" } ?? manifest.rows.map { ", \($0) rows" } ?? "")
                        + " in \(locations.map(\.rawValue).joined(separator: " and "))")
            }
            return BackupPartResult(
                kind: kind, ok: true, id: id, bytes: manifest.snapshot.map(\.bytes) ?? manifest.totalBytes,
                items: manifest.items, rows: manifest.rows,
                seconds: watch.elapsedSeconds, locations: locations, verified: verified)
        } catch {
            let cancelled = error is CancellationError || reporter.isCancelled
            let message = cancelled ? "cancelled" : (error as? any OperatorError)?.message ?? "\(error)"
            reporter.log(.error, "backup \(id) failed: \(message)")
            return BackupPartResult(
                kind: kind, ok: false, id: nil, error: message, hint: (error as? any OperatorError)?.hint,
                seconds: watch.elapsedSeconds, locations: [])
        }
    }

    /// Writes one backup; returns its manifest once complete in every destination.
    func take(_ kind: BackupKind, id: String, options: ExportOptions = .init(), reporter: any JobReporter) throws
        -> (BackupManifest, [BackupLocation])
    {
        let started = Date()
        let previous = newestManifest(kind)
        // Native DynamoDB exports go straight to S3.
        if kind == .dynamodb, let source = context.dynamo, try useNativeExport(source) {
            guard let remote else {
                throw Failure(
                    "backups.dynamodb.mode is export but backups.s3 is not set",
                    hint: "ExportTableToPointInTime writes to S3: set backups.s3.bucket, or use mode: scan")
            }
            return (
                try takeNative(source, remote: remote, id: id, started: started, options: options, reporter: reporter),
                [.s3]
            )
        }
        if options.incremental == true || options.exportTime != nil {
            throw Failure(
                "\(options.exportTime != nil ? "an export at a point in time" : "an incremental export") needs DynamoDB's own export (ExportTableToPointInTime), and this backup is a scan",
                hint: "set backups.dynamodb.mode: export (with backups.s3 and point-in-time recovery on)")
        }
        let partial = local.partialFolder(id)
        // A snapshot taken when the manifest then cannot be written is deleted again.
        var snapshot: SnapshotRecord?
        try Files.makeDirectories(Files.directory(of: partial))
        // Encrypted backups hold plaintext only here, until the checks that read it (pg_restore --list,
        // redis-check-rdb) have run and each file is encrypted in place: the folder is the agent's alone
        // until then.
        let encrypting = settings.encryption != nil && !kind.isHeldByAWS
        guard mkdir(partial, encrypting ? 0o700 : 0o750) == 0 else {
            throw Failure(
                "cannot create \(partial): \(Files.errnoText())",
                hint: "check backups.location and that the agent's user can write there")
        }
        do {
            if !kind.isHeldByAWS, let expected = previous?.totalBytes, let free = LocalFiles.freeBytes(partial),
                free < expected
            {
                reporter.log(
                    .warning,
                    "only \(free) bytes free in \(settings.location); the last \(kind.rawValue) backup took \(expected)"
                )
            }
            // The data key first: a KMS key that cannot be used fails the backup before anything is written.
            // Snapshots AWS keeps have no files here; AWS encrypts them with the resource's own key.
            let dataKey = kind.isHeldByAWS ? nil : try cipher.newDataKey()
            var manifest: BackupManifest
            switch kind {
            case .postgres:
                manifest = try takePostgres(
                    id: id, folder: partial, started: started, previous: previous, reporter: reporter)
            case .dynamodb: manifest = try takeDynamo(id: id, folder: partial, started: started, reporter: reporter)
            case .redis: manifest = try takeRedis(id: id, folder: partial, started: started, reporter: reporter)
            case .rdsSnapshot, .dynamodbBackup, .elasticacheSnapshot:
                manifest = try takeHeld(kind, id: id, started: started, reporter: reporter)
                snapshot = manifest.snapshot
            }
            if let dataKey {
                for f in manifest.files { try BackupCipher.encryptFile("\(partial)/\(f.path)", key: dataKey.key) }
                manifest.encryption = dataKey.record
                reporter.info(
                    "encrypted \(manifest.files.count) files with a data key under \(dataKey.record.keyDescription)")
            }
            manifest.endedAt = Date()
            // How the S3 copy's objects will be stored: each upload is checked against S3's answer, and a
            // copy that fails is removed, so an S3 copy that exists is stored this way.
            manifest.s3Encryption = remote?.destination.encryption.stored
            try Files.writeAtomically(
                "\(partial)/\(SideFile.manifest)", try ManifestSeal.encode(manifest), mode: 0o640)
            let final = local.folder(id)
            if encrypting { chmod(partial, 0o750) }
            guard rename(partial, final) == 0 else {
                throw Failure("cannot rename \(partial) to \(final): \(Files.errnoText())")
            }
            Files.syncDirectory(Files.directory(of: final))
            guard let remote else { return (manifest, [.local]) }
            do {
                try copyToS3(manifest, remote: remote, reporter: reporter)
            } catch {
                throw Failure(
                    "backup \(id) is complete in \(settings.location) but its copy to \(remote.description) failed: \(error)",
                    hint: "check the bucket and credentials; the local copy is usable")
            }
            if settings.s3?.keepLocal == false {
                try local.delete(id)
                return (manifest, [.s3])
            }
            return (manifest, [.local, .s3])
        } catch {
            try? LocalFiles.removeTree(partial)
            if let snapshot, let m = try? local.manifest(id), m.snapshot == snapshot {
                // The local catalog has it: the backup stands (its S3 copy failed).
            } else if let snapshot {
                do {
                    try heldSnapshots(kind).delete(snapshot.identifier)
                    reporter.log(.warning, "deleted \(snapshot.identifier): its backup could not be recorded")
                } catch let e {
                    reporter.log(.error, "cannot delete \(snapshot.identifier) (\(e)); delete it by hand")
                }
            }
            throw error
        }
    }

    func takePostgres(id: String, folder: String, started: Date, previous: BackupManifest?, reporter: any JobReporter)
        throws -> BackupManifest
    {
        guard let primary = context.postgres else {
            throw Failure("PostgreSQL is not configured", hint: "set postgres: in the config")
        }
        var source = primary
        var replica: String?
        if settings.postgres.from == "replica" {
            (replica, source) = try chooseReplica(reporter: reporter)
        }
        let tools = try PostgresTools.find(
            binDirectory: settings.postgres.binDirectory, environment: context.processEnvironment)
        let dumper = PostgresDumper(
            source: source, settings: settings.postgres, tools: tools, scratch: context.scratch,
            environment: context.processEnvironment, reporter: reporter,
            expectedBytes: previous?.source.database == source.config.database ? previous?.totalBytes : nil)
        let out = try dumper.run(into: folder, deadline: .after(seconds: settings.postgres.timeout))
        // The dump must read back before it may be called complete.
        let listed = try tools.listEntries(
            "\(folder)/\(out.format == "directory" ? "postgres.dir" : "postgres.dump")",
            environment: context.processEnvironment)
        let c = source.config
        return BackupManifest(
            id: id, kind: .postgres, environment: context.environmentName, agentVersion: WhatIfVersion.string,
            host: HostName.current, startedAt: started, endedAt: Date(), format: out.format, method: "pg_dump",
            source: .init(host: c.host, port: c.port, database: c.database, user: c.user, replica: replica),
            tool: .init(name: "pg_dump", version: tools.version), serverVersion: out.serverVersion, files: out.files,
            tables: out.tables, tocEntries: listed)
    }

    /// `backups.postgres.from: replica`: the least-lagging replica that is still in recovery and within
    /// `max_replica_lag`; none fit is a refusal naming each replica and why.
    func chooseReplica(reporter: any JobReporter) throws -> (String, PostgresSource) {
        var fit: [(name: String, source: PostgresSource, lag: Double)] = []
        var why: [String] = []
        let bound = settings.postgres.maxReplicaLag
        for (name, source) in context.postgresReplicas {
            do {
                let conn = try PostgresConnection.connect(
                    source.config, deadline: .after(seconds: source.connectTimeout))
                defer { conn.close() }
                let st = try conn.standbyState(deadline: .after(seconds: 10))
                if let problem = st.problem {
                    why.append("\(name): \(problem)")
                } else if let lag = st.lagSeconds, lag <= bound {
                    fit.append((name, source, lag))
                } else {
                    why.append("\(name) lags \(DurationText.format(st.lagSeconds ?? 0))")
                }
            } catch {
                why.append("\(name) is unreachable: \((error as? any OperatorError)?.message ?? "\(error)")")
            }
        }
        guard let best = fit.min(by: { $0.lag < $1.lag }) else {
            throw Failure(
                "no replica to back up from (backups.postgres.max_replica_lag is \(DurationText.format(bound))): \(why.isEmpty ? "postgres.replicas lists none" : why.joined(separator: "; "))",
                hint:
                    "wait for the replica to catch up, raise backups.postgres.max_replica_lag, or set backups.postgres.from: primary"
            )
        }
        reporter.info(
            "dumping from replica \(best.name) (\(best.source.config.host):\(best.source.config.port)), \(DurationText.format(best.lag)) behind the primary"
        )
        return (best.name, best.source)
    }

    func takeDynamo(id: String, folder: String, started: Date, reporter: any JobReporter) throws -> BackupManifest {
        guard let source = context.dynamo else {
            throw Failure("DynamoDB is not configured", hint: "set dynamodb: in the config")
        }
        let exporter = ScanExporter(
            source: source, settings: settings.dynamodb, reporter: reporter,
            s3Location: remote.map { ($0.destination.bucket, $0.prefix(id)) })
        let out = try exporter.run(into: folder, deadline: .after(seconds: settings.dynamodb.timeout))
        return BackupManifest(
            id: id, kind: .dynamodb, environment: context.environmentName, agentVersion: WhatIfVersion.string,
            host: HostName.current, startedAt: started, endedAt: Date(), format: "dynamodb-export", method: "scan",
            source: .init(
                table: source.table, tableArn: out.tableArn, endpoint: source.endpoint, region: source.region),
            tool: nil, serverVersion: nil, files: out.files, items: out.items, tableSchema: out.schema,
            export: out.export)
    }

    func takeRedis(id: String, folder: String, started: Date, reporter: any JobReporter) throws -> BackupManifest {
        guard let source = context.redis, let redis = settings.redis else {
            throw Failure("Redis backups are not configured", hint: "set redis: and backups.redis in the config")
        }
        let out = try RedisSnapshotter(
            source: source, settings: redis, environment: context.processEnvironment, reporter: reporter
        ).run(into: folder, deadline: .after(seconds: redis.timeout))
        return BackupManifest(
            id: id, kind: .redis, environment: context.environmentName, agentVersion: WhatIfVersion.string,
            host: HostName.current, startedAt: started, endedAt: Date(), format: "rdb", method: "bgsave",
            source: .init(host: source.host, port: source.port), tool: out.checker.map { .init(name: $0, version: "") },
            serverVersion: out.serverVersion, files: [out.file], items: out.keys)
    }

    func useNativeExport(_ source: DynamoSource) throws -> Bool {
        switch settings.dynamodb.mode {
        case "scan": return false
        case "export": return true
        default:
            guard source.endpoint == nil else { return false }
            return try source.client.pointInTimeRecoveryEnabled(table: source.table)
        }
    }

    func takeNative(
        _ source: DynamoSource, remote: S3Store, id: String, started: Date, options: ExportOptions = .init(),
        reporter: any JobReporter
    ) throws -> BackupManifest {
        let pitr = try source.client.pointInTimeRecovery(table: source.table)
        guard pitr.enabled else {
            throw Failure(
                "point-in-time recovery is off for table \(source.table), and ExportTableToPointInTime needs it",
                hint:
                    "enable it (aws dynamodb update-continuous-backups --table-name \(source.table) --point-in-time-recovery-specification PointInTimeRecoveryEnabled=true), or set backups.dynamodb.mode: scan"
            )
        }
        // The catalog is read for the chain's tip only when an incremental export may be taken.
        let mayChain = options.exportTime == nil && (options.incremental ?? settings.dynamodb.incremental)
        let (plan, note) = try ExportChain.plan(
            options: options, settings: settings.dynamodb,
            tip: mayChain ? ExportChain.tip(list(kind: .dynamodb).backups, table: source.table) : nil, pitr: pitr,
            now: Date())
        if let note { reporter.info(note) }
        try checkEncryptionKey(remote)
        if let source = settings.encryption {
            reporter.log(
                .warning,
                "DynamoDB writes a native export to S3 itself, so \(source.setting) does not apply to it; S3 encrypts it (\(remote.destination.encryption.describe))"
            )
        }
        try markPending(id)
        do {
            let out = try NativeExporter(
                source: source, settings: settings.dynamodb, reporter: reporter, store: remote, id: id, plan: plan
            ).run(deadline: .after(seconds: settings.dynamodb.timeout))
            var manifest = BackupManifest(
                id: id, kind: .dynamodb, environment: context.environmentName, agentVersion: WhatIfVersion.string,
                host: HostName.current, startedAt: started, endedAt: Date(), format: "dynamodb-export",
                method: "export",
                source: .init(table: source.table, endpoint: source.endpoint, region: source.region), tool: nil,
                serverVersion: nil, files: out.files, items: out.items, tableSchema: out.schema, export: out.export)
            // The manifest and other files the agent writes beside the export.
            manifest.s3Encryption = remote.destination.encryption.stored
            try remote.writeSide(id, SideFile.manifest, try ManifestSeal.encode(manifest))
            clearPending(id)
            return manifest
        } catch {
            try? remote.deletePrefix(remote.prefix(id), manifestFirst: true)
            clearPending(id)
            throw error
        }
    }

    /// How backups are encrypted client-side, with this config's key source.
    var cipher: BackupCipher { BackupCipher(source: settings.encryption, kms: context.kms) }

    /// The store as the backup's files must be read: decrypted when the manifest says they are encrypted
    /// (the data key unwrapped first: a key that cannot do it is an error naming the key).
    func readable(_ store: any BackupStore, _ m: BackupManifest) throws -> any BackupStore {
        guard let e = m.encryption else { return store }
        return DecryptingStore(store, key: try cipher.dataKey(e, backup: m.id), chunk: e.chunkBytes)
    }

    /// The SSE-KMS key, when one is named, must exist and be enabled: AWS refuses to write under a
    /// disabled key (moto does not), and the agent says so before it writes anything.
    func checkEncryptionKey(_ remote: S3Store) throws {
        guard case .kms(let key?) = remote.destination.encryption else { return }
        _ = try KMS(client: remote.s3.client).requireEnabled(key, setting: "backups.s3.kms_key_id")
    }

    /// Copies a complete local backup to S3: every file, then the manifest.
    func copyToS3(_ manifest: BackupManifest, remote: S3Store, reporter: any JobReporter) throws {
        try checkEncryptionKey(remote)
        let id = manifest.id
        try markPending(id)
        let total = Double(manifest.totalBytes)
        let sent = Locked<Int64>(0)
        let throttle = ProgressThrottle(reporter)
        do {
            for f in manifest.files {
                try reporter.checkCancelled()
                try remote.upload(localPath: "\(local.folder(id))/\(f.path)", id: id, path: f.path) { n in
                    let s = sent.withLock { v -> Int64 in
                        v += n
                        return v
                    }
                    throttle.report(
                        done: Double(s), total: total, unit: "bytes", phase: "copy to \(remote.description)")
                }
            }
            throttle.flush()
            try remote.writeSide(id, SideFile.manifest, try ManifestSeal.encode(manifest))
            clearPending(id)
        } catch {
            try? remote.deletePrefix(remote.prefix(id), manifestFirst: true)
            clearPending(id)
            throw error
        }
    }

    func markPending(_ id: String) throws {
        try Files.makeDirectories(context.pendingS3)
        try Files.writeAtomically("\(context.pendingS3)/\(id)", Array((remote?.prefix(id) ?? "").utf8))
    }

    func clearPending(_ id: String) {
        unlink("\(context.pendingS3)/\(id)")
    }

    // MARK: Verify

    /// Re-reads every copy of the given backups (all when `ids` is nil) against their manifests, and
    /// records each outcome beside the copy.
    package func verify(ids: [String]?, reporter: any JobReporter, quiet: Bool = false) throws -> [VerifyOutcome] {
        // Named backups are read directly; only "all" needs the whole catalog. A damaged manifest is a
        // failed verification of that backup, not the end of the job.
        var entries: [BackupEntry] = []
        var damaged: [DamagedBackup] = []
        if let ids {
            for id in ids {
                do { entries.append(try entry(id)) } catch let d as ManifestDamage { damaged.append(d.record) }
            }
        } else {
            let all = list()
            entries = all.backups
            damaged = all.damaged
        }
        leases.hold(entries.map(\.id))
        defer { leases.release(entries.map(\.id)) }
        let totalBytes = Double(entries.reduce(Int64(0)) { $0 + $1.manifest.totalBytes * Int64($1.locations.count) })
        var done: Int64 = 0
        var outcomes: [VerifyOutcome] = []
        for e in entries {
            var verifications: [BackupVerification] = []
            for location in e.locations {
                try reporter.checkCancelled()
                guard let store = store(location) else { continue }
                let watch = Stopwatch()
                let base = done
                let problems = try verifyCopy(e.manifest, in: store, reporter: reporter) { n in
                    done = base + n
                    reporter.progress(
                        done: Double(done), total: totalBytes, unit: "bytes",
                        phase: "verify \(e.id) (\(location.rawValue))")
                }
                done = base + e.manifest.totalBytes
                let v = BackupVerification(
                    at: Date(), location: location, ok: problems.isEmpty, problems: problems,
                    seconds: watch.elapsedSeconds)
                verifications.append(v)
                do { try store.writeSide(e.id, SideFile.verification, try APICoding.encode(v, pretty: true)) } catch {
                    reporter.log(
                        .warning, "cannot record the verification of \(e.id) in \(store.description): \(error)")
                }
                if problems.isEmpty {
                    if !quiet { reporter.info("\(e.id) (\(location.rawValue)): ok") }
                } else {
                    for p in problems { reporter.log(.error, "\(e.id) (\(location.rawValue)): \(p)") }
                }
            }
            outcomes.append(VerifyOutcome(id: e.id, kind: e.kind, verifications: verifications))
        }
        for d in damaged {
            reporter.log(.error, "\(d.id) (\(d.location.rawValue)): the manifest \(d.manifest) is damaged: \(d.reason)")
            let v = BackupVerification(
                at: Date(), location: d.location, ok: false,
                problems: [BackupProblem(file: d.manifest, message: "damaged manifest: \(d.reason)")])
            outcomes.append(VerifyOutcome(id: d.id, kind: BackupID.kind(of: d.id) ?? .postgres, verifications: [v]))
        }
        return outcomes
    }

    /// How an S3 object of the backup is stored, against the manifest: the export's files against what
    /// DynamoDB reported for the export, the others against `s3Encryption`. Nil when it matches or the
    /// manifest records nothing to compare with.
    static func encryptionProblem(_ m: BackupManifest, file: String, stored: S3Encryption.Reported) -> String? {
        let fromExport = m.export.map { file.hasPrefix($0.path + "/") } ?? false
        guard let expected = fromExport ? m.export?.encryption : m.s3Encryption else { return nil }
        guard let wanted = S3Encryption(expected) else {
            return "the manifest records an unknown encryption '\(expected.algorithm)'"
        }
        guard !wanted.matches(stored) else { return nil }
        return
            "is stored with \(stored.algorithm ?? "no server-side encryption")\(stored.kmsKeyId.map { " (\($0))" } ?? ""); the manifest says \(wanted.describe)"
    }

    /// Problems with one copy: files missing, extra, of the wrong size or hash; a dump pg_restore cannot
    /// list; export data files whose MD5 or item count differ from AWS's manifest.
    /// `decrypted`: the copy as `readable` gives it, when the caller has it already (the data key is then
    /// unwrapped once).
    func verifyCopy(
        _ m: BackupManifest, in raw: any BackupStore, decrypted: (any BackupStore)? = nil, reporter: any JobReporter,
        progress: (Int64) -> Void
    ) throws -> [BackupProblem] {
        var problems: [BackupProblem] = []
        let store: any BackupStore
        do { store = try decrypted ?? readable(raw, m) } catch {
            return [BackupProblem(file: nil, message: "cannot decrypt the backup: \(error)")]
        }
        let present: [String: Int64]
        do { present = try store.files(m.id) } catch {
            return [BackupProblem(file: nil, message: "cannot list the backup's files: \(error)")]
        }
        let listed = Set(m.files.map(\.path))
        for extra in present.keys.sorted() where !listed.contains(extra) {
            problems.append(BackupProblem(file: extra, message: "is not in the manifest"))
        }
        var done: Int64 = 0
        // A dump that is not a plain local file (an S3 copy, an encrypted one) is listed as it streams past.
        let pgList = m.kind == .postgres && m.format == "custom" && (store.location == .s3 || m.encryption != nil)
        for f in m.files {
            try reporter.checkCancelled()
            guard let size = present[f.path] else {
                problems.append(BackupProblem(file: f.path, message: "is missing"))
                continue
            }
            if size != f.bytes {
                problems.append(BackupProblem(file: f.path, message: "is \(size) bytes; the manifest says \(f.bytes)"))
            }
            var d = Digest(.sha256)
            let base = done
            // An S3 copy of a custom-format dump is listed by pg_restore as it streams past.
            let lister = pgList && f.path == "postgres.dump" ? try? streamingLister() : nil
            do {
                let stored = try store.read(m.id, f.path) { chunk in
                    d.update(chunk)
                    lister?.feed(chunk)
                    done += Int64(chunk.count)
                    if done - base > 0 { progress(done) }
                }
                if let stored, let problem = Self.encryptionProblem(m, file: f.path, stored: stored) {
                    problems.append(BackupProblem(file: f.path, message: problem))
                }
            } catch {
                problems.append(BackupProblem(file: f.path, message: "cannot be read: \(error)"))
                lister?.abandon()
                continue
            }
            let hex = Hex.encode(d.finalize())
            if hex != f.sha256 {
                problems.append(
                    BackupProblem(
                        file: f.path,
                        message: "SHA-256 is \(hex) but the manifest says \(f.sha256): the file is damaged"))
            }
            if let lister, let failure = lister.finish() {
                problems.append(BackupProblem(file: f.path, message: failure))
            }
        }
        if m.kind == .redis, store.location == .local, m.encryption == nil, problems.isEmpty {
            do {
                let (keys, _) = try RedisSnapshotter.check(
                    "\(local.folder(m.id))/dump.rdb", environment: context.processEnvironment)
                if let expected = m.items, keys != expected {
                    problems.append(
                        BackupProblem(
                            file: "dump.rdb",
                            message: "redis-check-rdb reads \(keys) keys; the manifest says \(expected)"))
                }
            } catch {
                problems.append(BackupProblem(file: "dump.rdb", message: "\(error)"))
            }
        }
        if m.kind == .postgres, store.location == .local, m.encryption == nil, problems.isEmpty {
            let path = "\(local.folder(m.id))/\(m.format == "directory" ? "postgres.dir" : "postgres.dump")"
            do {
                let tools = try PostgresTools.find(
                    binDirectory: settings.postgres.binDirectory, environment: context.processEnvironment)
                let n = try tools.listEntries(path, environment: context.processEnvironment)
                if let expected = m.tocEntries, n != expected {
                    problems.append(
                        BackupProblem(
                            file: m.files.first?.path,
                            message: "pg_restore lists \(n) entries; the manifest says \(expected)"))
                }
            } catch {
                problems.append(BackupProblem(file: m.files.first?.path, message: "\(error)"))
            }
        }
        if let snapshot = m.snapshot, problems.isEmpty {
            problems += snapshotProblems(m, snapshot)
        }
        if m.kind == .dynamodb, let export = m.export {
            let reader = ExportReader(
                store: store, id: m.id, exportPath: export.path, exportId: export.exportId,
                incremental: export.isIncremental)
            do {
                let loaded = try reader.load()
                problems += loaded.problems
                if let items = m.items, loaded.summary.itemCount != items {
                    problems.append(
                        BackupProblem(
                            file: "\(export.path)/\(ExportLayout.summaryName)",
                            message: "itemCount is \(loaded.summary.itemCount); the backup's manifest says \(items)"))
                }
                for entry in loaded.files {
                    try reporter.checkCancelled()
                    problems += try reader.readDataFile(entry)
                }
            } catch let e as CancellationError {
                throw e
            } catch {
                problems.append(BackupProblem(file: export.path, message: "\(error)"))
            }
        }
        return problems
    }

    func streamingLister() throws -> StreamingList {
        let tools = try PostgresTools.find(
            binDirectory: settings.postgres.binDirectory, environment: context.processEnvironment)
        return try StreamingList(tools: tools, environment: context.processEnvironment)
    }

    // MARK: Prune

    /// Applies the retention policy of each kind (all kinds when nil) to every copy.
    /// Damaged backups are moved aside (quarantined) and reported, never counted or deleted, and never
    /// stop the prune; with `orphans`, folders without a manifest are removed.
    package func prune(dryRun: Bool, kinds: [BackupKind]? = nil, orphans: Bool = false) -> PruneResult {
        let all = list()
        var decisions: [PruneDecision] = []
        var deleted: [String] = []
        var errors: [String] = all.warnings.map { "listing: \($0)" }
        var quarantined: [DamagedBackup] = []
        for var d in all.damaged where kinds.map({ $0.contains(BackupID.kind(of: d.id) ?? .postgres) }) ?? true {
            if !dryRun, d.location == .local {
                do { d.quarantinedTo = try local.quarantine(d.id) } catch {
                    errors.append("cannot quarantine \(d.id): \(error)")
                }
            }
            context.logger.warning(
                "damaged backup \(d.quarantinedTo == nil ? "found" : "quarantined")",
                metadata: [
                    "backup_id": "\(d.id)", "manifest": "\(d.manifest)", "reason": "\(d.reason)",
                    "moved_to": "\(d.quarantinedTo ?? "-")", "hint": "\(d.hint)",
                ])
            quarantined.append(d)
        }
        var orphansRemoved: [OrphanBackup] = []
        if orphans {
            for o in all.orphans
            where kinds.map({ ks in o.id.flatMap(BackupID.kind(of:)).map(ks.contains) ?? false }) ?? true {
                if dryRun {
                    orphansRemoved.append(o)
                } else if o.location == .s3 {
                    guard let remote, let id = o.id else { continue }
                    do {
                        try remote.deletePrefix(remote.prefix(id), manifestFirst: false)
                        orphansRemoved.append(o)
                        context.logger.notice(
                            "orphaned S3 backup copy removed", metadata: ["path": "\(o.path)", "bytes": "\(o.bytes)"])
                    } catch {
                        errors.append("cannot remove the orphaned S3 copy \(o.path): \(error)")
                    }
                } else if (try? LocalFiles.removeTree(o.path)) != nil {
                    orphansRemoved.append(o)
                    context.logger.notice(
                        "orphaned backup folder removed", metadata: ["path": "\(o.path)", "bytes": "\(o.bytes)"])
                } else {
                    errors.append("cannot remove the orphaned folder \(o.path)")
                }
            }
        }
        for kind in kinds ?? BackupKind.allCases {
            let entries = all.backups.filter { $0.kind == kind }
            let candidates = entries.map {
                Retention.Candidate(
                    id: $0.id, kind: kind, time: $0.manifest.startedAt, pinned: $0.pin != nil, verified: $0.verified,
                    inUse: leases.contains($0.id),
                    previous: $0.manifest.export?.isIncremental == true ? $0.manifest.export?.previous : nil)
            }
            let plan = Retention.plan(candidates, policy: settings.policy(for: kind))
            decisions += plan
            guard !dryRun, all.warnings.isEmpty else { continue }
            for d in plan where !d.keep {
                guard let e = entries.first(where: { $0.id == d.id }) else { continue }
                do {
                    // The snapshot first: a manifest without its snapshot would verify as lost.
                    if let snapshot = e.manifest.snapshot { try deleteSnapshot(e.manifest, snapshot) }
                    for l in e.locations {
                        if l == .s3 { try markPending(e.id) }
                        try store(l)?.delete(e.id)
                        if l == .s3 { clearPending(e.id) }
                    }
                    deleted.append(e.id)
                    context.logger.info("backup pruned", metadata: ["backup_id": "\(e.id)"])
                } catch {
                    errors.append("cannot delete \(e.id): \(error)")
                }
            }
        }
        if !dryRun, !all.warnings.isEmpty {
            errors.append("nothing deleted: the catalog could not be read in full")
        }
        return PruneResult(
            dryRun: dryRun, decisions: decisions, deleted: deleted, errors: errors, quarantined: quarantined,
            orphansRemoved: orphansRemoved)
    }
}

/// `pg_restore --list` fed from a stream (an S3 copy being hashed).
final class StreamingList {
    private let child: Subprocess
    private let input: Int32
    private var open = true
    private let errText = Locked<[String]>([])
    private let reader: Threads.Handle

    init(tools: PostgresTools, environment: [String: String]) throws {
        var fds: [Int32] = [0, 0]
        guard whatif_pipe_cloexec(&fds) == 0 else { throw Failure("cannot create a pipe") }
        child = try Subprocess.start(
            tools.pgRestore, arguments: ["--list"], environment: PostgresTools.baseEnvironment(environment),
            stdin: .descriptor(fds[0]), stdout: .null, stderr: .pipe)
        close(fds[0])
        input = fds[1]
        let fd = child.stderr!
        let errText = self.errText
        reader = Threads.start { Subprocess.readLines(fd) { l in errText.withLock { $0.append(l) } } }
    }

    func feed(_ chunk: UnsafeRawBufferPointer) {
        guard open else { return }
        var off = 0
        while off < chunk.count {
            let n = write(input, chunk.baseAddress! + off, chunk.count - off)
            if n < 0 {
                if errno == EINTR { continue }
                // pg_restore has read what it needs and closed its end: the rest is only hashed.
                close(input)
                open = false
                return
            }
            off += n
        }
    }

    func abandon() {
        if open {
            close(input)
            open = false
        }
        child.kill(SIGKILL)
        child.wait()
        reader.join()
    }

    /// nil when pg_restore listed the dump; else why not.
    func finish() -> String? {
        if open {
            close(input)
            open = false
        }
        let t = child.wait()
        reader.join()
        return t.succeeded
            ? nil : "pg_restore --list \(t): \(errText.value.suffix(2).joined(separator: "; "))"
    }
}

/// Errors about the catalog itself (the admin API answers them as 400 and 404).
package struct BackupError: OperatorError, Sendable {
    package enum Kind: Sendable { case badID, notFound }
    package var kind: Kind
    package var message: String
    package var hint: String?

    package static func badID(_ id: String) -> BackupError {
        BackupError(
            kind: .badID, message: "'\(id)' is not a backup id",
            hint: "ids look like postgres-20261124T203012Z-3fa1; `whatifctl backups list` shows them")
    }

    package static func notFound(_ id: String, warnings: [String]) -> BackupError {
        BackupError(
            kind: .notFound,
            message: "no complete backup \(id)"
                + (warnings.isEmpty ? "" : " (the catalog is incomplete: \(warnings.joined(separator: "; ")))"),
            hint: "`whatifctl backups list` shows the backups")
    }
}
