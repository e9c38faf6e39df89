import ArgumentParser
import WhatIfClient
import WhatIfProtocol
import WhatIfUnits

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

extension BackupKind: ExpressibleByArgument {}
extension BackupLocation: ExpressibleByArgument {}
extension JobState: ExpressibleByArgument {}

/// `whatifctl backup [KIND|all]`.
struct Backup: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Back up PostgreSQL (pg_dump), DynamoDB (export) and Redis (BGSAVE), then verify and prune.",
        discussion: """
            Starts a backup job and shows its progress until it ends; Ctrl-C stops watching, the backup goes on \
            (`whatifctl jobs follow ID`). Exits 0 only when every part succeeded, 1 when any part failed, \
            75 when a backup of the same resource is already running. rds-snapshot, dynamodb-backup and \
            elasticache-snapshot ask AWS for a snapshot it keeps (CreateDBSnapshot, CreateBackup, CreateSnapshot; \
            backups.snapshots in the config) and wait until it is available; all takes every configured kind.
            """)

    enum Target: String, ExpressibleByArgument, CaseIterable {
        case postgres, dynamodb, redis, all
        case rdsSnapshot = "rds-snapshot"
        case dynamodbBackup = "dynamodb-backup"
        case elasticacheSnapshot = "elasticache-snapshot"
    }

    @OptionGroup var global: GlobalOptions
    @Argument(help: "What to back up.") var target: Target = .all
    @Flag(
        help:
            "DynamoDB native exports: the changes since the newest export (an incremental export chained to it); refused when AWS would refuse it."
    )
    var incremental = false
    @Flag(help: "DynamoDB native exports: a full export, whatever backups.dynamodb.incremental says.") var full = false
    @Option(
        name: .customLong("export-time"),
        help: "DynamoDB native exports: a full export of the table as it was at this time (RFC 3339).")
    var exportTime: PointInTime?
    @OptionGroup var jobOptions: JobOptions

    func validate() throws {
        if incremental && full { throw ValidationError("--incremental and --full contradict each other") }
        if incremental && exportTime != nil {
            throw ValidationError("--export-time is for a full export; --incremental takes the changes since the last")
        }
        if incremental || full || exportTime != nil, target != .dynamodb {
            throw ValidationError("--incremental, --full and --export-time apply to `whatifctl backup dynamodb`")
        }
    }

    func run() throws {
        let kinds: [BackupKind] = target == .all ? [] : BackupKind(rawValue: target.rawValue).map { [$0] } ?? []
        let request = StartBackupRequest(
            kinds: kinds, incremental: incremental ? true : full ? false : nil, exportTime: exportTime?.date)
        let job = try perform { try global.client.start(JobSpecs.Backup.self, request) }
        try followJob(job, JobSpecs.Backup.self, global: global, options: jobOptions) { run in
            for p in run.parts {
                if p.ok {
                    var s = "\(p.kind.rawValue): \(p.id ?? "?")"
                    if let b = p.bytes { s += "  " + Units.bytes(b) }
                    if let n = p.items { s += "  " + Units.count(n, "item") }
                    if let n = p.rows { s += "  " + Units.count(n, "row") }
                    s += "  " + p.locations.map(\.rawValue).joined(separator: "+")
                    if p.verified == true { s += "  verified" }
                    Out.line(s)
                } else {
                    Out.line("\(p.kind.rawValue): FAILED: \(p.error ?? "?")\(p.hint.map { "; \($0)" } ?? "")")
                }
            }
            if !run.pruned.isEmpty { Out.line("pruned: \(run.pruned.joined(separator: ", "))") }
        }
    }

}

/// Follows a job of a declared kind to its end and prints what it did: in words (the kind's result
/// summary), with --json its final record (state, error and the typed result) as one JSON document, with
/// --events its events as NDJSON. --detach prints the job and returns. Exits 1 unless it succeeded.
func followJob<S: JobSpec>(
    _ job: JobInfo, _ spec: S.Type, global: GlobalOptions, options: JobOptions, summary: (S.Result) -> Void
) throws {
    let final = try JobText.run(job, global: global, options: options)
    if !global.json, !options.events, let final {
        do {
            if let result = try final.result(as: S.self) { summary(result) }
        } catch {
            Out.err("whatifctl: the job's result is not a \(S.name) result (\(error)); `whatifctl jobs show \(job.id)`")
        }
    }
    if let final, final.state != .succeeded { throw ExitCode(ExitStatus.failure.rawValue) }
}

struct Backups: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backups",
        abstract: "The backup catalog: list, show, verify, prune, pin and unpin backups.",
        subcommands: [List.self, Show.self, Verify.self, Prune.self, Pin.self, Unpin.self],
        defaultSubcommand: List.self)

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list",
            abstract: "List complete backups, newest first, with where their copies are and whether they verified.")
        @OptionGroup var global: GlobalOptions
        @Option(help: "Only this kind (\(BackupKind.allCases.map(\.rawValue).joined(separator: ", "))).")
        var kind: BackupKind?
        @Flag(help: "Times as timestamps (TAKEN, VERIFIED) instead of ages.") var wide = false
        func run() throws {
            let list = try perform { try global.client.backups(kind: kind) }
            // A list that could not be read in full exits 1 in either format.
            let incomplete = ExitCode(ExitStatus.failure.rawValue)
            for w in list.warnings { Out.err("whatifctl: warning: \(w)") }
            if global.json {
                try Out.json(list)
                if !list.warnings.isEmpty { throw incomplete }
                return
            }
            BackupText.damagedAndOrphans(list.damaged, list.orphans)
            if list.backups.isEmpty {
                Out.line("no backups")
                if !list.warnings.isEmpty { throw ExitCode(ExitStatus.failure.rawValue) }
                return
            }
            // Ages by default (as kubectl's AGE), timestamps with --wide.
            let now = Date()
            Out.table(
                ["ID", "KIND", wide ? "TAKEN" : "AGE", "SIZE", "CONTENT", "WHERE", "VERIFIED", "PIN"],
                list.backups.map { e in
                    [
                        e.id, e.kind.rawValue,
                        wide
                            ? Timestamp.format(e.manifest.startedAt)
                            : Units.age(of: now.timeIntervalSince(e.manifest.startedAt)),
                        BackupText.size(e.manifest), BackupText.content(e.manifest),
                        e.locations.map(\.rawValue).joined(separator: "+"),
                        BackupText.verified(e, now: wide ? nil : now),
                        e.pin == nil ? "-" : "pinned",
                    ]
                })
            if !list.warnings.isEmpty { throw ExitCode(ExitStatus.failure.rawValue) }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "show", abstract: "Show one backup's manifest, copies and checks.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The backup's id.", completion: Complete.backupIDs) var id: String
        func run() throws {
            let e = try perform { try global.client.backup(id) }
            if global.json { return try Out.json(e) }
            BackupText.describe(e)
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "verify",
            abstract: "Re-read backups and check every file against the manifest.",
            discussion: """
                Re-hashes every file (SHA-256); PostgreSQL dumps must also pass `pg_restore --list`; DynamoDB \
                exports have every data file's MD5 and item count checked against the export manifest. \
                Exits 0 when every backup verifies, 1 when one does not (the file is named).
                """)
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The backup to verify.", completion: Complete.backupIDs) var id: String?
        @Flag(help: "Verify every backup.") var all = false
        @OptionGroup var jobOptions: JobOptions

        func validate() throws {
            if (id == nil) == !all { throw ValidationError("name one backup ID, or --all") }
        }

        func run() throws {
            let job = try perform { try global.client.startVerify(ids: id.map { [$0] } ?? []) }
            try followJob(job, JobSpecs.BackupVerify.self, global: global, options: jobOptions) { r in
                for b in r.backups { BackupText.printVerification(b.id, b.verifications) }
            }
        }

    }

    struct Prune: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "prune",
            abstract: "Delete backups the retention policy no longer keeps.",
            discussion: """
                Never deletes the newest verified backup of a kind, a pinned backup, or one in use. With \
                --dry-run, shows what would be kept (and why) and what would be deleted. A backup whose \
                manifest is damaged is moved aside to <location>/quarantine and reported, never counted. \
                With --orphans, backup folders without a manifest are deleted too.
                """)
        @OptionGroup var global: GlobalOptions
        @Flag(help: "Show the decisions; delete nothing.") var dryRun = false
        @Option(help: "Only this kind (\(BackupKind.allCases.map(\.rawValue).joined(separator: ", "))).")
        var kind: BackupKind?
        @Flag(help: "Also delete backup folders that have no manifest (see `backups list`).") var orphans = false
        func run() throws {
            let r = try perform { try global.client.prune(dryRun: dryRun, kind: kind, orphans: orphans) }
            if global.json {
                try Out.json(r)
            } else {
                if r.decisions.isEmpty { Out.line("no backups") }
                for d in r.decisions {
                    let verb =
                        d.keep
                        ? "keep  "
                        : (dryRun ? "would delete" : (r.deleted.contains(d.id) ? "deleted" : "delete failed"))
                    Out.line("\(verb)  \(d.id)" + (d.reasons.isEmpty ? "" : "  (\(d.reasons.joined(separator: ", ")))"))
                }
                for d in r.quarantined {
                    Out.err(
                        "whatifctl: warning: \(d.id): damaged manifest \(d.manifest): \(d.reason)"
                            + (d.quarantinedTo.map { "; moved to \($0)" } ?? ""))
                }
                for o in r.orphansRemoved {
                    Out.line(
                        "\(dryRun ? "would delete" : "deleted")  \(BackupText.orphan(o)) \(o.path)  (\(Units.bytes(o.bytes)))"
                    )
                }
                for e in r.errors { Out.err("whatifctl: \(e)") }
            }
            if !r.errors.isEmpty { throw ExitCode(ExitStatus.failure.rawValue) }
        }
    }

    struct Pin: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "pin", abstract: "Keep a backup whatever the retention policy says.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The backup's id.", completion: Complete.backupIDs) var id: String
        @Option(help: "Why it is pinned.") var note: String?
        func run() throws {
            let e = try perform { try global.client.pin(id, note: note) }
            if global.json { return try Out.json(e) }
            Out.line("\(e.id) pinned")
        }
    }

    struct Unpin: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "unpin",
            abstract: "Let the retention policy decide about a backup again.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The backup's id.", completion: Complete.backupIDs) var id: String
        func run() throws {
            let e = try perform { try global.client.unpin(id) }
            if global.json { return try Out.json(e) }
            Out.line("\(e.id) unpinned")
        }
    }
}

struct Restore: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Restore a backup into a PostgreSQL database or a DynamoDB table.",
        discussion: """
            The backup is verified first. Restoring over the live database or table needs --force, and a fresh \
            backup of it is taken first. Exits 0 when the restore succeeded and its row or item counts match the \
            backup's manifest.
            """,
        subcommands: [Postgres.self, Dynamodb.self, Rds.self])

    struct Postgres: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "postgres",
            abstract: "Restore a pg_dump backup with pg_restore.",
            discussion:
                "Example: whatifctl restore postgres postgres-20261124T020000Z-3fa1 --target-db what_if_check --create")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The backup's id.", completion: Complete.backupIDs) var id: String?
        @Option(
            name: .customLong("to-time"),
            help: "Refused: the local PostgreSQL has no point-in-time recovery (see restore rds --to-time).")
        var toTime: String?
        @Option(name: .customLong("target-db"), help: "The database to restore into.") var targetDB: String
        @Flag(help: "Create the target database (it must not exist).") var create = false
        @Flag(help: "Drop the target's objects before restoring them.") var clean = false
        @Flag(help: "Allow restoring over the configured (live) database (asks; --yes does not).") var force = false
        @Option(help: "Parallel pg_restore jobs.") var jobs: Int?
        @OptionGroup var restore: RestoreOptions

        func validate() throws {
            if toTime != nil {
                throw ValidationError(
                    "the local PostgreSQL keeps no WAL archive, so it has no point-in-time recovery: restore a pg_dump backup by id (whatifctl backups list); on RDS, use whatifctl restore rds --to-time"
                )
            }
            if id == nil { throw ValidationError("name the backup to restore (whatifctl backups list)") }
        }

        func run() throws {
            guard let id else { return }
            try restore.start(
                RestoreRequest(
                    kind: .postgres, id: id, targetDatabase: targetDB, create: create, clean: clean, force: force,
                    jobs: jobs, from: restore.from, keepOnFailure: restore.keepOnFailure),
                global: global,
                confirm: force
                    ? "--force may restore over the live database \(targetDB): its tables are replaced by the backup's (a safety backup is taken first)"
                    : nil)
        }
    }

    struct Dynamodb: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "dynamodb",
            abstract: "Restore a DynamoDB export (ours or AWS's), or the table at a time, into a table.",
            discussion: """
                Examples: whatifctl restore dynamodb dynamodb-20261124T020000Z-77c2 --target-table scenarios-check
                          whatifctl restore dynamodb --to-time 2026-12-01T02:00:00Z --target-table scenarios-at-2am
                With --to-time, DynamoDB's point-in-time recovery restores the configured table (RestoreTableToPointInTime) \
                into a new table; the time must be inside the table's restorable window (latest: the newest).
                """)
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The backup's id (or --to-time).", completion: Complete.backupIDs) var id: String?
        @Option(
            name: .customLong("to-time"),
            help: "Restore the configured table as it was at this time (RFC 3339, or latest) instead of a backup.")
        var toTime: PointInTime?
        @Option(
            name: .customLong("target-table"), help: "The table to restore into (created from the backup's schema).")
        var targetTable: String
        @Flag(help: "Allow writing into an existing table, or the configured (live) one (asks; --yes does not).")
        var force = false
        @Option(help: "Parallel BatchWriteItem workers.") var jobs: Int?
        @OptionGroup var restore: RestoreOptions

        func validate() throws {
            switch (id, toTime) {
            case (nil, nil): throw ValidationError("name a backup id, or --to-time TIME")
            case (.some, .some): throw ValidationError("name a backup id or --to-time, not both")
            case (nil, .some):
                if force || jobs != nil || restore.from != nil || restore.keepOnFailure {
                    throw ValidationError(
                        "--force, --jobs, --from and --keep-on-failure apply to backups; --to-time always creates a new table"
                    )
                }
            case (.some, nil): break
            }
        }

        func run() throws {
            if let toTime {
                return try PointInTime.start(
                    PointInTimeRestoreRequest(service: .dynamodb, toTime: toTime.date, target: targetTable),
                    global: global, options: restore.jobOptions)
            }
            guard let id else { return }
            // An on-demand backup (dynamodb-backup-...) is restored by DynamoDB into a new table.
            let kind: BackupKind = BackupKind.named(byID: id) == .dynamodbBackup ? .dynamodbBackup : .dynamodb
            try restore.start(
                RestoreRequest(
                    kind: kind, id: id, targetTable: targetTable, force: force, jobs: jobs, from: restore.from,
                    keepOnFailure: restore.keepOnFailure),
                global: global,
                confirm: force
                    ? "--force may write into the existing table \(targetTable): its items with the backup's keys are overwritten (a safety backup of a live table is taken first)"
                    : nil)
        }
    }
}

extension Restore {
    struct Rds: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rds",
            abstract: "Restore an RDS snapshot, or the RDS instance as it was at a time, into a new instance.",
            discussion: """
                With a backup id (an rds-snapshot backup), RestoreDBInstanceFromDBSnapshot restores the snapshot \
                into a new instance. With --to-time, RDS's point-in-time recovery (RestoreDBInstanceToPointInTime) \
                restores the configured instance (rds.instance_id); the time must be inside the instance's \
                restorable window (latest: the newest). Either way the agent waits until the instance is \
                available and prints its endpoint. Examples:
                  whatifctl restore rds rds-snapshot-20261201T020000Z-3fa1 --target-instance what-if-users-check
                  whatifctl restore rds --to-time 2026-12-01T02:00:00Z --target-instance what-if-users-at-2am
                """)
        @OptionGroup var global: GlobalOptions
        @Argument(help: "An rds-snapshot backup's id (or --to-time).", completion: Complete.backupIDs) var id: String?
        @Option(name: .customLong("to-time"), help: "The time to restore to (RFC 3339, or latest).")
        var toTime: PointInTime?
        @Option(name: .customLong("target-instance"), help: "The new instance's identifier (it must not exist).")
        var targetInstance: String
        @OptionGroup var jobOptions: JobOptions

        func validate() throws {
            switch (id, toTime) {
            case (nil, nil): throw ValidationError("name an rds-snapshot backup id, or --to-time TIME")
            case (.some, .some): throw ValidationError("name a backup id or --to-time, not both")
            case (let id?, nil):
                if BackupKind.named(byID: id) != .rdsSnapshot {
                    throw ValidationError(
                        "\(id) is not an rds-snapshot backup: restore rds reads snapshots (whatifctl backups list --kind rds-snapshot)"
                    )
                }
            case (nil, .some): break
            }
        }

        func run() throws {
            if let id {
                let job = try perform {
                    try global.client.startRestore(
                        RestoreRequest(kind: .rdsSnapshot, id: id, targetInstance: targetInstance))
                }
                return try followJob(job, JobSpecs.Restore.self, global: global, options: jobOptions) {
                    BackupText.printRestore($0)
                }
            }
            guard let toTime else { return }
            try PointInTime.start(
                PointInTimeRestoreRequest(service: .rds, toTime: toTime.date, target: targetInstance),
                global: global, options: jobOptions)
        }
    }
}

/// `--to-time`: an RFC 3339 time, or `latest` (the newest restorable time).
struct PointInTime: ExpressibleByArgument {
    var date: Date?

    init?(argument: String) {
        if argument == "latest" {
            date = nil
        } else if let d = Timestamp.parse(argument) {
            date = d
        } else {
            return nil
        }
    }

    static var defaultCompletionKind: CompletionKind { .list(["latest"]) }

    static func start(_ req: PointInTimeRestoreRequest, global: GlobalOptions, options: JobOptions) throws {
        let job = try perform { try global.client.start(JobSpecs.RestorePointInTime.self, req) }
        try followJob(job, JobSpecs.RestorePointInTime.self, global: global, options: options) { r in
            Out.line(
                "restored \(r.service == .rds ? "instance" : "table") \(r.source) at \(r.toTime.map { Timestamp.format($0) } ?? "the latest restorable time") into \(r.target): \(r.status) after \(Units.duration(r.seconds))"
            )
            if let e = r.endpoint { Out.line("endpoint \(e)") }
            if let a = r.arn { Out.line("arn \(a)") }
        }
    }
}

enum BackupText {
    /// Damaged manifests and orphaned folders, as warnings on stderr (the list itself stays on stdout).
    static func damagedAndOrphans(_ damaged: [DamagedBackup], _ orphans: [OrphanBackup]) {
        for d in damaged {
            Out.err("whatifctl: warning: \(d.id): damaged manifest \(d.manifest): \(d.reason); \(d.hint)")
        }
        for o in orphans {
            Out.err(
                "whatifctl: warning: \(BackupText.orphan(o)) \(o.path) (\(Units.bytes(o.bytes))) has no manifest; `whatifctl backups prune --orphans` deletes it"
            )
        }
    }

    static func orphan(_ o: OrphanBackup) -> String {
        o.location == .s3 ? "orphaned S3 copy" : "orphaned backup folder"
    }

    /// The backup's size; for a snapshot, what the service reports (RDS and ElastiCache report none).
    static func size(_ m: BackupManifest) -> String {
        guard let s = m.snapshot else { return Units.bytes(m.totalBytes) }
        return s.bytes.map(Units.bytes) ?? "-"
    }

    static func content(_ m: BackupManifest) -> String {
        if let s = m.snapshot { return "\(s.service) snapshot, \(s.status)" }
        if let x = m.export, x.isIncremental, let n = m.items {
            return "\(Units.count(n, "change")) after \(x.previous ?? "?")"
        }
        if let n = m.items { return Units.count(n, "item") }
        if let t = m.tables { return "\(Units.count(t.count, "table")), \(Units.count(t.values.reduce(0, +), "row"))" }
        if let n = m.tocEntries { return "\(n) entries" }
        return "-"
    }

    /// FAILED, no, or when it last verified: a timestamp, or with `now` an age ("5m ago").
    static func verified(_ e: BackupEntry, now: Date? = nil) -> String {
        if e.failedVerification { return "FAILED" }
        if e.verified, let at = e.verifications.map(\.at).max() {
            return now.map { Units.age(of: $0.timeIntervalSince(at)) + " ago" } ?? Timestamp.format(at)
        }
        return "no"
    }

    static func describe(_ e: BackupEntry) {
        let m = e.manifest
        Out.line("backup \(m.id)")
        Out.line("  kind       \(m.kind.rawValue) (\(m.method), \(m.format))")
        Out.line("  status     \(m.status)")
        Out.line("  source     \(m.source.text)")
        Out.line(
            "  taken      \(Timestamp.format(m.startedAt)) to \(Timestamp.format(m.endedAt)) (\(Units.duration(m.endedAt.timeIntervalSince(m.startedAt))))"
        )
        Out.line(
            "  by         whatifd \(m.agentVersion)\(m.host.map { " on \($0)" } ?? ""), environment \(m.environment)")
        if let t = m.tool { Out.line("  tool       \(t.name) \(t.version)") }
        if let v = m.serverVersion { Out.line("  server     \(v)") }
        if m.snapshot == nil {
            Out.line(
                "  size       \(Units.bytes(m.totalBytes)) in \(m.files.count) file\(m.files.count == 1 ? "" : "s")")
        } else {
            Out.line("  size       \(size(m))")
        }
        Out.line("  content    \(content(m))")
        if let x = m.export {
            Out.line("  export     \(x.path)\(x.exportArn.map { " (\($0))" } ?? "")")
            if x.isIncremental {
                Out.line(
                    "  changes    \(x.fromTime.map(Timestamp.format) ?? "?") to \(x.toTime.map(Timestamp.format) ?? "?") (\(x.viewType ?? "?")), after \(x.previous ?? "?"), chain of \(x.base ?? "?")"
                )
            } else if let t = x.exportTime {
                Out.line("  as of      \(Timestamp.format(t))")
            }
        }
        if let s = m.snapshot {
            Out.line("  snapshot   \(s.identifier) in \(s.service)\(s.region.map { " (\($0))" } ?? ""), \(s.status)")
            if let a = s.arn, a != s.identifier { Out.line("  arn        \(a)") }
            if let e = s.encrypted {
                Out.line("  encrypted  \(e ? "yes" : "no")\(s.kmsKeyId.map { " (\($0))" } ?? "")")
            }
        }
        Out.line("  copies     \(e.locations.map(\.rawValue).joined(separator: ", "))")
        if let p = e.pin {
            Out.line(
                "  pinned     \(Timestamp.format(p.at))\(p.by.map { " by \($0)" } ?? "")\(p.note.map { ": \($0)" } ?? "")"
            )
        }
        if e.verifications.isEmpty { Out.line("  verified   never") }
        for v in e.verifications {
            Out.line("  verified   \(v.location.rawValue) \(Timestamp.format(v.at)): \(v.ok ? "ok" : "FAILED")")
            for p in v.problems { Out.line("             \(p.description)") }
        }
        if let tables = m.tables, !tables.isEmpty {
            Out.line("  tables")
            for (name, rows) in tables.sorted(by: { $0.key < $1.key }) {
                Out.line("    \(name)  \(Units.count(rows, "row"))")
            }
        }
        Out.line("  files")
        for f in m.files { Out.line("    \(f.path)  \(Units.bytes(f.bytes))  sha256 \(f.sha256)") }
    }

    static func printVerification(_ id: String, _ vs: [BackupVerification]) {
        for v in vs {
            Out.line("\(id) (\(v.location.rawValue)): \(v.ok ? "ok" : "FAILED")")
            for p in v.problems { Out.line("  \(p.description)") }
        }
    }

    static func printRestore(_ r: RestoreResult) {
        var s = "restored \(r.id) (\(r.from.rawValue) copy) into \(r.target)"
        if let n = r.items { s += ": " + Units.count(n, "item") }
        if let n = r.rows { s += ": " + Units.count(n, "row") }
        Out.line(s)
        if let e = r.endpoint { Out.line("endpoint \(e)") }
        if let b = r.safetyBackup { Out.line("the target was backed up first as \(b)") }
    }
}

/// What both restores take besides their target: whether to ask, which copy, what to keep on failure,
/// and how to follow the job.
struct RestoreOptions: ParsableArguments {
    @Flag(help: "Do not ask before restoring over a live or existing target (with --force).") var yes = false
    @Option(help: "Which copy to read (local, s3).") var from: BackupLocation?
    @Flag(help: "Keep a database or table the restore created when the restore fails (dropped otherwise).")
    var keepOnFailure = false
    @OptionGroup var jobOptions: JobOptions

    /// Asks first when `confirm` says what would be overwritten, then starts the restore and follows it.
    func start(_ request: RestoreRequest, global: GlobalOptions, confirm: String?) throws {
        if let confirm { try confirmDestructive(confirm, yes: yes) }
        let job = try perform { try global.client.startRestore(request) }
        try followJob(job, JobSpecs.Restore.self, global: global, options: jobOptions) { BackupText.printRestore($0) }
    }
}
