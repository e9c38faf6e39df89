import WhatIfAWS
import WhatIfCore
import WhatIfJSON
import WhatIfProtocol

/// A `migrate.scenarios` run, from the request to the report: the dump opened, the target table checked
/// (a dry run only warns), an earlier run's checkpoint used only when it is for the same file and the
/// same table (otherwise the run starts over and the report says why), the table backed up first when
/// asked, then the migration, checkpointing as it goes. Blocking: run it on a thread of its own.
package struct ScenarioMigrationJob: Sendable {
    package var request: StartScenarioMigrationRequest
    /// The dump, an absolute path.
    package var path: String
    package var table: String
    package var client: DynamoDB
    package var reporter: any JobReporter
    /// Where rejected documents are written, under `runName`.
    package var rejectDirectory: String
    package var runName: String
    /// The checkpoint an earlier run left, when the request did not ask to restart.
    package var saved: JSONValue?
    package var saveCheckpoint: @Sendable (JSONValue) throws -> Void
    /// Backs the table up before the first write; returns the backup's id.
    package var backUp: @Sendable () throws -> String

    package init(
        request: StartScenarioMigrationRequest, path: String, table: String, client: DynamoDB,
        reporter: any JobReporter, rejectDirectory: String, runName: String, saved: JSONValue?,
        saveCheckpoint: @escaping @Sendable (JSONValue) throws -> Void,
        backUp: @escaping @Sendable () throws -> String
    ) {
        self.request = request
        self.path = path
        self.table = table
        self.client = client
        self.reporter = reporter
        self.rejectDirectory = rejectDirectory
        self.runName = runName
        self.saved = saved
        self.saveCheckpoint = saveCheckpoint
        self.backUp = backUp
    }

    package func run() throws -> ScenarioMigrationReport {
        let req = request
        let source = try MigrationSource(path: path, jsonArray: req.jsonArray)
        reporter.info("reading \(source.path) as \(source.format.rawValue)\(source.gzipped ? " (gzip)" : "")")
        let described = try ScenarioTable.checkTarget(table, client: client, required: !req.dryRun, reporter: reporter)
        var settings = ScenarioMigrator.Settings()
        settings.tableIdentity = described?.identity
        settings.batchSize = req.batchSize ?? 100
        settings.workers = req.workers ?? 4
        settings.wcuBudget = req.wcuBudget
        settings.dryRun = req.dryRun
        settings.skipBad = req.skipBad
        let recordPath = SyncRecord.path(directory: rejectDirectory, table: table)
        if req.sync {
            settings.baseline = try Self.baseline(recordPath, table: table, identity: described?.identity)
            let b = settings.baseline!
            reporter.info(
                "comparing with the record of \(b.count) items written from \(b.header.source), finished \(b.header.recorded)"
            )
        }
        if !req.dryRun { settings.recordPath = recordPath }
        let migrator = ScenarioMigrator(
            source: source, table: table, client: client, settings: settings, reporter: reporter,
            rejectDirectory: rejectDirectory, runName: runName)
        var resume: MigrationCheckpoint?
        var startedOver: String?
        if !req.dryRun, let saved,
            let c = try? APICoding.decode(MigrationCheckpoint.self, from: APICoding.encode(saved))
        {
            if let why = migrator.whyNotResume(c) {
                startedOver = why
                reporter.log(.warning, "not resuming: \(why); starting over from the first document")
            } else {
                resume = c
                reporter.info("resuming at document \(c.done + 1) (a checkpoint of an earlier run)")
            }
        }
        var backupId: String?
        var sha: String?
        if req.backup && !req.dryRun {
            let digest = try ScenarioMigrator.sha256(of: source.path)
            sha = digest
            reporter.info("source SHA-256 \(digest)")
            if resume == nil { backupId = try backUp() }
        }
        var r = try migrator.run(resume: resume, backupId: backupId) { cp in
            try saveCheckpoint(try JSONValue.encoding(cp))
        }
        r.sourceSHA256 = sha
        r.startedOver = startedOver
        if r.rejected > 0 {
            reporter.log(
                .warning,
                "\(r.rejected) documents were rejected; they are in \(r.rejectFile ?? "the reject file") with their reasons"
            )
        }
        return r
    }
}

extension ScenarioMigrationJob {
    static let fullRunHint =
        "migrate the dump in full once (without --sync): it writes every document and records what it wrote; later runs with --sync write only the differences"

    /// The record a sync compares with: it must exist, be whole (a damaged one is moved aside) and be of
    /// this table, not one deleted and created again under its name since.
    static func baseline(_ path: String, table: String, identity: String?) throws -> SyncBaseline {
        guard Files.exists(path) else {
            throw Failure(
                "there is no record of what a migration wrote to \(table) (\(path)), so there is nothing to sync against",
                hint: fullRunHint)
        }
        let b: SyncBaseline
        do { b = try SyncBaseline.load(path) } catch let e as SyncRecord.Damaged {
            let moved = SyncRecord.quarantine(path)
            throw Failure(
                "the record of what the last migration wrote to \(table) is damaged (\(e.reason))"
                    + (moved.map { "; it was moved to \($0)" } ?? ""),
                hint: fullRunHint)
        }
        guard b.header.table == table else {
            throw Failure("\(path) is the record of table \(b.header.table), not \(table)", hint: fullRunHint)
        }
        if let identity, b.header.tableIdentity != identity {
            throw Failure(
                "table \(table) was deleted and created again since the record was written (\(b.header.recorded)): the record does not describe what it holds",
                hint: fullRunHint)
        }
        return b
    }
}

extension ScenarioTable {
    /// The target as described, or nil when a dry run goes on without it. It must exist with the
    /// expected schema; a dry run (`required` false) only warns.
    @discardableResult
    package static func checkTarget(_ name: String, client: DynamoDB, required: Bool, reporter: any JobReporter)
        throws -> TableDescription?
    {
        let t: TableDescription
        do { t = try client.describeTable(name) } catch let e as AWSError where e.code == "ResourceNotFoundException" {
            guard !required else {
                throw Failure("table \(name) does not exist", hint: "create it first: whatifctl tables setup")
            }
            reporter.log(.warning, "table \(name) does not exist yet (a dry run writes nothing)")
            return nil
        } catch  where !required {
            // A dry run needs no DynamoDB: it says so and goes on.
            reporter.log(.warning, "cannot check table \(name) (\(error)); the dry run goes on without it")
            return nil
        }
        let diffs = differences(t, expected: expected(table: name))
        guard diffs.isEmpty else {
            let text = diffs.joined(separator: "; ")
            guard !required else {
                throw Failure(
                    "table \(name) does not have the expected schema: \(text)",
                    hint: "see `whatifctl tables setup`, which lists and can fix the differences")
            }
            reporter.log(.warning, "table \(name) differs from the expected schema: \(text)")
            return t
        }
        return t
    }
}
