import Logging
import WhatIfAWS
import WhatIfCore
import WhatIfPostgres
import WhatIfProtocol

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
                kind == .postgres ? Self.drillDatabase : Self.drillTable(context.dynamo?.table ?? "what-if-table")
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
            let unit = kind == .postgres ? "rows" : "items"
            part.filesChecked = newest.files.count
            part.expected = kind == .postgres ? newest.rows : newest.items
            reporter.info("restore drill: \(kind.rawValue) backup \(newest.id) into \(scratch)")
            let watch = Stopwatch()
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
                    "restore drill (\(kind.rawValue)): passed in \(Int(watch.elapsedSeconds.rounded())) s, \(part.restored ?? 0) \(unit) as the manifest says"
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
