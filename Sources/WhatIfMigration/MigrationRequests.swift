import WhatIfAWS
import WhatIfCore
import WhatIfProtocol

/// What the migration's jobs check before they start, in the words a 422 or a failed job shows: the
/// environment and its scenarios table, the dump's path, the run's limits; and what a finished run
/// that did not succeed says (a table that differs, a verification that found differences).
package enum MigrationRequests {
    package static let environments = ["development", "test", "production"]

    /// Where the agent's settings come from, for the hints: the config file, the agent's environment and
    /// its configured table (nil without `dynamodb:`).
    package struct Setting: Sendable {
        package var configPath: String
        package var environment: String
        package var table: String?

        // memberwise-init: package
    }

    package static func checkEnvironment(_ e: String) throws(APIError) {
        guard environments.contains(e) else {
            throw APIError(.unprocessable, "unknown environment '\(e)'", hint: "use development, test or production")
        }
    }

    /// The table for an environment: the configured one for the agent's own environment, else the
    /// guide's name.
    package static func table(_ env: String?, _ s: Setting) throws(APIError) -> String {
        let e = env ?? s.environment
        try checkEnvironment(e)
        guard let configured = s.table else {
            throw APIError(.notConfigured, "DynamoDB is not configured", hint: "configure dynamodb: in \(s.configPath)")
        }
        return e == s.environment ? configured : ScenarioTable.tableName(environment: e)
    }

    /// whatifd opens the dump itself, so the path must not depend on the client's working directory.
    package static func sourcePath(_ p: String) throws(APIError) -> String {
        guard p.hasPrefix("/") else {
            throw APIError(
                .unprocessable, "the source path '\(p)' is not absolute",
                hint: "whatifd reads the file itself: pass an absolute path (whatifctl does this for you)")
        }
        return p
    }

    /// A `migrate.scenarios` request's limits, and its table.
    package static func check(_ req: StartScenarioMigrationRequest, _ s: Setting) throws(APIError) -> String {
        _ = try sourcePath(req.from)
        if let b = req.batchSize, !(1...10_000).contains(b) {
            throw APIError(
                .unprocessable, "batch size \(b) is out of range", hint: "use 1 to 10000 (100 is the guide's)")
        }
        if let w = req.workers, !(1...64).contains(w) {
            throw APIError(.unprocessable, "\(w) workers is out of range", hint: "use 1 to 64")
        }
        if let u = req.wcuBudget, !(u >= 1 && u <= 10_000_000 && u.isFinite) {
            throw APIError(
                .unprocessable, "wcuBudget \(u) is out of range",
                hint: "write capacity units per second: 1 to 10000000 (a provisioned table's WCU, or less)")
        }
        return try table(req.environment, s)
    }

    /// The backup before a migration or a recreation: only the configured table is backed up.
    package static func checkBackup(of table: String, _ s: Setting) throws {
        guard s.table == table else {
            throw Failure(
                "\(table) is not the configured table (\(s.table ?? "none")), so the agent cannot back it up",
                hint: "set dynamodb.table: \(table) in \(s.configPath), or run without the backup")
        }
    }

    /// A `tables.setup` report that found differences it was not asked to fix, as the job's failure.
    package static func outcome(_ report: TablesReport, table: String, _ req: TablesSetupRequest, _ s: Setting)
        throws -> TablesReport
    {
        guard report.outcome == "differs" else { return report }
        let onlyIndexes = report.differences.allSatisfy { $0.hasPrefix("index ") && $0.hasSuffix("is missing") }
        throw JobFailed(
            "table \(table) differs from the expected schema: \(report.differences.joined(separator: "; "))",
            hint: onlyIndexes
                ? "add the missing indexes, keeping the table and its items: whatifctl tables setup \(req.environment ?? s.environment) --add-missing"
                : "migrate it by hand, or recreate it with --force --yes (the agent backs it up first; recreating loses items written since)",
            result: report)
    }

    /// A `migrate.verify` report that found differences, as the job's failure.
    package static func outcome(_ report: VerifyReport, table: String) throws -> VerifyReport {
        guard report.ok else {
            throw JobFailed(
                "\(table) differs from the source: \(report.missing) missing, \(report.extra) extra, \(report.differing) differing",
                hint: "run the migration again (it writes the same keys), then verify again", result: report)
        }
        return report
    }
}
