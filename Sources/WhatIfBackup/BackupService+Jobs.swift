import WhatIfCore
import WhatIfProtocol

/// The backup capability's jobs as the agent runs them: each runs the service and turns an outcome
/// that is not ok into the job's failure, naming what failed, with the result kept in the record.
extension BackupService {
    /// A backup of `kinds` (the `backup` job).
    package func backupJob(kinds: [BackupKind], options: ExportOptions = .init(), reporter: any JobReporter)
        throws(JobFailed) -> BackupRunResult
    {
        let result = backup(kinds: kinds, options: options, reporter: reporter)
        guard result.ok else {
            let failed = result.parts.filter { !$0.ok }
            let parts = failed.map { "\($0.kind.rawValue): \($0.error ?? "failed")" }
            throw JobFailed(
                (failed.count == result.parts.count ? "the backup failed: " : "part of the backup failed: ")
                    + (parts + result.pruneErrors.map { "prune: \($0)" }).joined(separator: "; "),
                hint: failed.first?.hint, result: result)
        }
        return result
    }

    /// Verification of `ids` (every backup when nil: the `backup.verify` job).
    package func verifyJob(ids: [String]?, reporter: any JobReporter) throws -> VerifyOutcomes {
        let outcomes = try verify(ids: ids, reporter: reporter)
        let result = VerifyOutcomes(backups: outcomes)
        let bad = outcomes.filter { !$0.ok }
        guard bad.isEmpty else {
            let first = bad.flatMap { o in o.verifications.flatMap { v in v.problems.map { "\(o.id): \($0)" } } }
            throw JobFailed(
                "\(bad.count) of \(outcomes.count) backup\(outcomes.count == 1 ? "" : "s") do not verify: "
                    + first.prefix(5).joined(separator: "; "),
                hint: "do not restore from them; take a new backup", result: result)
        }
        return result
    }

    /// Retention on its own (the `backup.prune` job).
    package func pruneJob(reporter: any JobReporter) throws(JobFailed) -> PruneResult {
        let result = prune(dryRun: false)
        for id in result.deleted { reporter.info("pruned \(id)") }
        guard result.errors.isEmpty else {
            throw JobFailed("pruning failed: \(result.errors.joined(separator: "; "))", result: result)
        }
        return result
    }

    /// A restore drill of `kinds` (the `restore.drill` job); `record` sees the result either way.
    package func drillJob(
        kinds: [BackupKind], reporter: any JobReporter, record: (DrillResult) -> Void
    ) throws(JobFailed) -> DrillResult {
        let result = drill(kinds: kinds, reporter: reporter)
        record(result)
        guard result.ok else {
            let failed = result.parts.filter { !$0.ok }
            throw JobFailed(
                "the restore drill failed: "
                    + failed.map { "\($0.kind.rawValue): \($0.error ?? "failed")" }.joined(separator: "; "),
                hint: failed.first?.hint, result: result)
        }
        return result
    }

    /// What a file `removeLocalLeftovers` removed was, for the log.
    package func describeLeftover(_ path: String) -> String {
        let name = Files.baseName(path)
        if name.hasPrefix("pgpass-") { return "a password file" }
        if name.hasPrefix("migrate-") { return "a partial migration dump" }
        if name.hasPrefix(".restore-") { return "a backup copy fetched for a restore" }
        return path.hasPrefix(context.scratch) ? "a temporary file" : "an incomplete backup"
    }
}
