import ArgumentParser
import WhatIfClient
import WhatIfProtocol
import WhatIfUnits

#if canImport(Glibc)
    import Glibc
#endif

/// A path the agent can open: absolute, from the client's working directory.
func absolutePath(_ p: String) -> String {
    if p.hasPrefix("/") { return p }
    var buf = [CChar](repeating: 0, count: 4096)
    guard getcwd(&buf, buf.count) != nil else { return p }
    let cwd = String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    return cwd + "/" + p
}

struct Tables: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tables",
        abstract: "The DynamoDB scenarios table: create it, check its schema, render it for CloudFormation.",
        subcommands: [Setup.self, Template.self])

    struct Setup: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "setup",
            abstract: "Create what-if-generator-scenarios-ENV, or compare the existing table with the expected schema.",
            discussion: """
                Creates the table (on-demand billing) with key scenarioId, the index userId-createdAt-index and \
                the sparse public index publicShard-createdAt-index, and waits until it is ACTIVE. An existing \
                table is compared with the expected schema and every difference is listed (exit 1 when it \
                differs). --add-missing adds the indexes it lacks in place (UpdateTable, waiting until each is \
                ACTIVE). --force recreates a differing table: a backup is taken first, and it asks for \
                confirmation (--yes without a terminal).
                """)
        @OptionGroup var global: GlobalOptions
        @Argument(help: "development, test or production (the agent's own by default).") var environment: String?
        @Option(help: "The AWS region (the agent's by default).") var region: String?
        @Flag(help: "Recreate a table whose schema differs (after a backup).") var force = false
        @Flag(help: "Add the expected indexes the table lacks, in place (the table and its items stay).")
        var addMissing = false
        @Flag(help: "Do not ask before recreating.") var yes = false
        @OptionGroup var jobOptions: JobOptions

        func validate() throws {
            if force && addMissing { throw ValidationError("--force and --add-missing do not go together") }
        }

        func run() throws {
            if force {
                try confirmDestructive(
                    "--force recreates the table if its schema differs: every item in it is deleted (a backup is taken first)",
                    yes: yes)
            }
            let req = TablesSetupRequest(
                environment: environment, region: region, force: force, confirm: force,
                addMissing: addMissing ? true : nil)
            let job = try perform { try global.client.startTablesSetup(req) }
            try followJob(job, JobSpecs.TablesSetup.self, global: global, options: jobOptions) { r in
                Out.line(
                    "\(r.table) (\(r.region)): \(r.outcome), \(r.billingMode ?? "?"), indexes \(r.indexes.joined(separator: ", "))"
                )
                if let b = r.backupId { Out.line("backup taken first: \(b)") }
                for d in r.differences { Out.line("  difference: \(d)") }
            }
        }
    }

    struct Template: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "template",
            abstract: "Print the CloudFormation template: the scenarios table, RDS PostgreSQL 15 and ElastiCache.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The Environment parameter's default.") var environment = "production"

        func run() throws {
            let t = try perform { try global.client.tablesTemplate(environment: environment) }
            try Out.json(t)
        }
    }
}

struct Preflight: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "preflight",
        abstract: "Check the pre-migration checklist: PASS/FAIL per item, exit 1 on any FAIL.",
        discussion: """
            Recent verified backups of each kind, the target table's schema, AWS credentials, connectivity and \
            TLS to PostgreSQL (and the migration target), Redis and DynamoDB, ElastiCache encryption at rest and \
            in transit, and free space for backups. Items that do not apply are SKIP.
            """)
    @OptionGroup var global: GlobalOptions
    @Argument(help: "development, test or production (the agent's own by default).") var environment: String?
    @Option(help: ArgumentHelp("The newest verified backup may be this old (26h).", valueName: "duration"))
    var maxBackupAge: String?
    @OptionGroup var jobOptions: JobOptions

    func run() throws {
        var age: Double?
        if let m = maxBackupAge {
            guard let d = DurationText.parse(m), d > 0 else {
                throw ValidationError("--max-backup-age takes a duration such as 26h, 90m or 2d")
            }
            age = d
        }
        let job = try perform {
            try global.client.startPreflight(PreflightRequest(environment: environment, maxBackupAge: age))
        }
        try followJob(job, JobSpecs.Preflight.self, global: global, options: jobOptions) { r in
            Out.table(
                ["CHECK", "RESULT", "DETAIL"], r.items.map { [$0.check, $0.result, $0.detail] })
            for i in r.items where i.result == "FAIL" {
                if let h = i.hint { Out.err("\(i.check): \(h)") }
            }
        }
    }
}

struct Migrate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Move data into AWS: MongoDB scenarios into DynamoDB, and verify them.",
        subcommands: [Scenarios.self, Verify.self, Postgres.self])

    struct Postgres: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "postgres",
            abstract: "Copy the PostgreSQL database into RDS: pg_dump, pg_restore, then verification.",
            discussion: """
                The target is migration.postgres_target in the agent's config (or RDS_POSTGRES_*), checked with \
                sslmode verify-full and the RDS CA bundle by default. It must be an empty database; the restore \
                runs in one transaction. Afterwards every table's row count and checksum are compared on both \
                sides (exit 1 on any difference). Stop the app's writes first. --dry-run connects to both, \
                lists the tables and rows, and writes nothing.
                """)
        @OptionGroup var global: GlobalOptions
        @Option(help: "The target environment (test or production), for the record.") var to: String?
        @Flag(help: "Connect and report; write nothing.") var dryRun = false
        @Flag(help: "Only compare tables, row counts and checksums (no copy).") var verifyOnly = false
        @OptionGroup var jobOptions: JobOptions

        func validate() throws {
            if dryRun && verifyOnly { throw ValidationError("--dry-run and --verify-only exclude each other") }
        }

        func run() throws {
            let job = try perform {
                try global.client.startPostgresMigration(
                    StartPostgresMigrationRequest(to: to, dryRun: dryRun, verifyOnly: verifyOnly))
            }
            try followJob(job, JobSpecs.MigratePostgres.self, global: global, options: jobOptions) { r in
                Out.line(
                    "\(r.mode): \(r.source) (PostgreSQL \(r.sourceVersion)) -> \(r.target) (PostgreSQL \(r.targetVersion), sslmode \(r.targetSSLMode)) in \(Units.duration(r.seconds))"
                )
                Out.table(
                    ["TABLE", "SOURCE ROWS", "TARGET ROWS", "CHECKSUM", "OK"],
                    r.tables.map {
                        [
                            $0.table, "\($0.sourceRows)", $0.targetRows.map { "\($0)" } ?? "-",
                            $0.targetChecksum == nil
                                ? "-" : ($0.sourceChecksum == $0.targetChecksum ? "same" : "differs"),
                            $0.ok ? "yes" : "NO",
                        ]
                    })
                for t in r.extraTables { Out.line("  extra in the target: \(t)") }
            }
        }
    }

    struct Scenarios: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "scenarios",
            abstract: "Migrate MongoDB scenarios (mongodump or mongoexport output) into the scenarios table.",
            discussion: """
                --from takes a mongodump .bson or .bson.gz file, a mongodump folder, or mongoexport output \
                (Extended JSON, one document per line, or an array with --json-array), read by whatifd itself. \
                Each document becomes an item as the migration guide says (/usr/share/doc/whatif-agent/migration.md); a document that \
                cannot be written goes to a reject file with its reason and is counted. A stopped or killed run \
                resumes where it was when run again (--restart starts over). A malformed file stops at the \
                byte or line it names, unless --skip-bad.

                A finished run records what it wrote (key and item hash, under the state directory). With \
                --sync, a newer dump is applied as a delta against that record: new and changed documents are \
                written, items whose documents are gone from the dump are deleted, unchanged ones are left \
                alone; --sync --dry-run shows the delta and writes nothing. Keep MongoDB and the dumps until \
                migrate verify passes against the last one.
                """)
        @OptionGroup var global: GlobalOptions
        @Option(help: ArgumentHelp("The source file or folder.", valueName: "path")) var from: String
        @Argument(help: "development, test or production (the agent's own by default).") var environment: String?
        @Flag(help: "Read, transform and validate everything; write nothing.") var dryRun = false
        @Flag(help: "Back up the table and record the source's SHA-256 first.") var backup = false
        @Option(help: ArgumentHelp("Items per batch (the guide's 100).", valueName: "n")) var batchSize: Int?
        @Option(help: ArgumentHelp("Parallel BatchWriteItem workers (4).", valueName: "n")) var workers: Int?
        @Option(
            name: .customLong("wcu-budget"),
            help: ArgumentHelp(
                "Write capacity units per second the writes may use at most (one per started KiB of each item).",
                valueName: "units"))
        var wcuBudget: Double?
        @Flag(help: "Skip malformed documents or lines (recorded in the report) instead of stopping.") var skipBad =
            false
        @Flag(help: "The input is one JSON array (mongoexport --jsonArray).") var jsonArray = false
        @Flag(help: "Ignore an earlier run's checkpoint and start from the first document.") var restart = false
        @Flag(
            help:
                "Apply the dump as a delta against what the last finished run wrote: write new and changed documents, delete those gone."
        ) var sync = false
        @OptionGroup var jobOptions: JobOptions

        func validate() throws {
            if let b = batchSize, !(1...10_000).contains(b) { throw ValidationError("--batch-size takes 1 to 10000") }
            if let w = workers, !(1...64).contains(w) { throw ValidationError("--workers takes 1 to 64") }
            if let u = wcuBudget, !(u >= 1 && u.isFinite) {
                throw ValidationError("--wcu-budget takes a number of units, at least 1")
            }
            if dryRun && backup {
                throw ValidationError("--dry-run writes nothing, so --backup has nothing to protect")
            }
        }

        func run() throws {
            let req = StartScenarioMigrationRequest(
                from: absolutePath(from), environment: environment, dryRun: dryRun, backup: backup,
                batchSize: batchSize, workers: workers, skipBad: skipBad, jsonArray: jsonArray, restart: restart,
                wcuBudget: wcuBudget, sync: sync)
            let job = try perform { try global.client.startScenarioMigration(req) }
            try followJob(job, JobSpecs.MigrateScenarios.self, global: global, options: jobOptions) { r in
                MigrationView.print(r)
            }
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "verify",
            abstract: "Compare each source document's item with the table's, by key.",
            discussion: "Lists missing, extra and differing items with counts; exits 1 when any are found.")
        @OptionGroup var global: GlobalOptions
        @Option(help: ArgumentHelp("The source file or folder.", valueName: "path")) var from: String
        @Argument(help: "development, test or production (the agent's own by default).") var environment: String?
        @Flag(help: "Skip malformed documents or lines.") var skipBad = false
        @Flag(help: "The input is one JSON array (mongoexport --jsonArray).") var jsonArray = false
        @OptionGroup var jobOptions: JobOptions

        func run() throws {
            let req = StartVerifyRequest(
                from: absolutePath(from), environment: environment, skipBad: skipBad, jsonArray: jsonArray)
            let job = try perform { try global.client.startMigrationVerify(req) }
            try followJob(job, JobSpecs.MigrateVerify.self, global: global, options: jobOptions) { r in
                Out.line(
                    "\(r.documents) source documents, \(r.tableItems) items in \(r.table): \(r.matching) match, "
                        + "\(r.missing) missing, \(r.extra) extra, \(r.differing) differ, \(r.rejected) cannot be items"
                )
                for e in r.examples.prefix(20) {
                    Out.line("  \(e.kind.rawValue) \(e.scenarioId)\(e.detail.map { ": \($0)" } ?? "")")
                }
            }
        }
    }
}

enum MigrationView {
    static func print(_ r: ScenarioMigrationReport) {
        Out.line(
            "\(r.mode): \(r.documents) documents from \(r.source) (\(r.format)) in \(Units.duration(r.seconds)), "
                + "\(Int(r.documentsPerSecond)) documents/s")
        Out.line(
            "  \(r.written) items written to \(r.table), \(r.rejected) rejected, \(r.derivedKeys) keys derived from _id"
                + (r.resumedAt.map { ", resumed at document \($0 + 1)" } ?? ""))
        if let why = r.startedOver { Out.line("  started over: \(why)") }
        if let s = r.sync {
            let dry = r.mode == "dry-run"
            Out.line(
                "  sync against the record of \(s.baselineRecorded) (\(s.baselineSource)): \(s.added) added, "
                    + "\(s.changed) changed, \(s.unchanged) unchanged, \(s.deleted) \(dry ? "to delete" : "deleted")"
                    + (dry ? " (nothing written)" : ""))
            if s.deletesHeld > 0 {
                Out.err(
                    "\(s.deletesHeld) items whose documents are gone were kept: documents were rejected or skipped, and one of them may be theirs; fix those and sync again"
                )
            }
        }
        if let f = r.recorded { Out.line("  recorded what was written, for the next --sync: \(f)") }
        if r.unprocessedRetried + r.errorsRetried > 0 {
            Out.line(
                "  retried: \(r.unprocessedRetried) unprocessed items, \(r.errorsRetried) throttled or failed requests")
        }
        if let peak = r.peakConcurrency, let cuts = r.concurrencyCuts, cuts > 0 || r.waitedForBudget != nil {
            Out.line(
                "  pace: up to \(peak) requests in flight, halved \(cuts) times by throttling"
                    + (r.waitedForBudget.map { ", \(Units.duration($0)) waiting for the write-capacity budget" } ?? ""))
        }
        if let b = r.backupId { Out.line("  backup first: \(b); source SHA-256 \(r.sourceSHA256 ?? "?")") }
        for (reason, n) in r.rejectReasons.sorted(by: { $0.value > $1.value }) {
            Out.line("  rejected \(n): \(reason)")
        }
        if let f = r.rejectFile { Out.err("rejected documents, with their reasons: \(f)") }
        for s in r.skippedBad.prefix(10) { Out.err("skipped \(s.position): \(s.reason)") }
    }
}
