import WhatIfAWS
import WhatIfCore
import WhatIfProtocol

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Point-in-time recovery of the managed services, orchestrated: the agent checks what AWS checks (and
/// moto does not): recovery is on, the time is inside the restorable window, the target does not exist;
/// then it asks for the restore and waits until the target is ready. Blocking.
package struct PointInTimeRestore: Sendable {
    package var dynamodb: DynamoDB?
    /// The configured table (the source of a DynamoDB restore).
    package var table: String?
    package var rds: RDS?
    /// The configured RDS instance (the source of an RDS restore).
    package var instance: String?
    /// How long to wait for the target to be ready.
    package var timeout: Double = 7200
    package var poll: Double = 5

    // memberwise-init: package

    /// The time as text for messages.
    static func text(_ d: Date?) -> String { d.map(Timestamp.format) ?? "?" }

    /// Refuses a time outside `[earliest, latest]`, naming the window.
    static func checkWindow(_ time: Date?, earliest: Date?, latest: Date?, what: String) throws {
        guard let time else { return }
        if let earliest, time < earliest {
            throw Failure(
                "\(text(time)) is before the earliest restorable time of \(what) (\(text(earliest)))",
                hint: "choose a time from \(text(earliest)) to \(text(latest)), or use a backup by id")
        }
        if let latest, time > latest {
            throw Failure(
                "\(text(time)) is after the latest restorable time of \(what) (\(text(latest)))",
                hint: "choose a time up to \(text(latest)) (AWS lags a few minutes behind now), or latest")
        }
    }

    package func run(_ req: PointInTimeRestoreRequest, reporter: any JobReporter) throws -> PointInTimeRestoreResult {
        switch req.service {
        case .dynamodb: try restoreTable(req, reporter: reporter)
        case .rds: try restoreInstance(req, reporter: reporter)
        }
    }

    func restoreTable(_ req: PointInTimeRestoreRequest, reporter: any JobReporter) throws -> PointInTimeRestoreResult {
        let watch = Stopwatch()
        guard let ddb = dynamodb, let source = table else {
            throw Failure("DynamoDB is not configured", hint: "set dynamodb.table in the config")
        }
        guard DynamoDB.isValidName(req.target) else {
            throw Failure("\(req.target) is not a DynamoDB table name", hint: DynamoDB.nameRule)
        }
        let pitr = try ddb.pointInTimeRecovery(table: source)
        guard pitr.enabled else {
            throw Failure(
                "point-in-time recovery is off for table \(source), so it cannot be restored to a time",
                hint:
                    "turn it on (aws dynamodb update-continuous-backups --table-name \(source) --point-in-time-recovery-specification PointInTimeRecoveryEnabled=true); until then restore a backup by id"
            )
        }
        try Self.checkWindow(req.toTime, earliest: pitr.earliest, latest: pitr.latest, what: "table \(source)")
        if (try? ddb.describeTable(req.target)) != nil {
            throw Failure(
                "table \(req.target) already exists; a point-in-time restore creates its target",
                hint: "name a new table, or delete \(req.target) first")
        }
        reporter.info(
            "RestoreTableToPointInTime \(source) → \(req.target) at \(req.toTime.map { Self.text($0) } ?? "the latest restorable time")"
        )
        _ = try ddb.restoreTableToPointInTime(source: source, target: req.target, time: req.toTime)
        reporter.progress(done: 0, total: nil, unit: "seconds", phase: "waiting for \(req.target) to be ACTIVE")
        let t = try ddb.waitUntilActive(req.target, timeout: timeout, poll: poll)
        return PointInTimeRestoreResult(
            service: .dynamodb, source: source, target: req.target, toTime: req.toTime,
            earliestRestorable: pitr.earliest,
            latestRestorable: pitr.latest, status: t.tableStatus, arn: t.tableArn, seconds: watch.elapsedSeconds)
    }

    func restoreInstance(_ req: PointInTimeRestoreRequest, reporter: any JobReporter) throws -> PointInTimeRestoreResult
    {
        let watch = Stopwatch()
        guard let rds, let source = instance else {
            throw Failure("RDS is not configured", hint: "set rds.instance_id in the config")
        }
        guard Self.isInstanceIdentifier(req.target) else {
            throw Failure(
                "\(req.target) is not an RDS instance identifier",
                hint: "1-63 letters, digits and hyphens, starting with a letter, no two hyphens in a row or at the end")
        }
        guard let db = try rds.instance(source) else {
            throw Failure("RDS has no instance \(source) in this region", hint: "fix rds.instance_id")
        }
        guard let days = db.backupRetentionPeriod, days > 0 else {
            throw Failure(
                "automated backups are off for \(source) (backup retention 0), so it has no point-in-time recovery",
                hint:
                    "turn them on: aws rds modify-db-instance --db-instance-identifier \(source) --backup-retention-period 7 --apply-immediately"
            )
        }
        let latest = db.latestRestorableTime
        let earliest = max(
            db.instanceCreateTime ?? .distantPast, Date().addingTimeInterval(-Double(days) * 86400))
        try Self.checkWindow(req.toTime, earliest: earliest, latest: latest, what: "instance \(source)")
        if try rds.instance(req.target) != nil {
            throw Failure(
                "RDS instance \(req.target) already exists; a point-in-time restore creates its target",
                hint: "name a new instance, or delete \(req.target) first")
        }
        reporter.info(
            "RestoreDBInstanceToPointInTime \(source) → \(req.target) at \(req.toTime.map { Self.text($0) } ?? "the latest restorable time")"
        )
        let t = try rds.waitUntilAvailable(
            try rds.restoreToPointInTime(source: source, target: req.target, time: req.toTime), timeout: timeout,
            poll: poll
        ) { status in
            try reporter.checkCancelled()
            reporter.progress(
                done: watch.elapsedSeconds, total: nil, unit: "seconds", phase: "\(req.target) is \(status)")
        }
        return PointInTimeRestoreResult(
            service: .rds, source: source, target: req.target, toTime: req.toTime, earliestRestorable: earliest,
            latestRestorable: latest, status: t.status,
            endpoint: t.endpointAddress.map { "\($0):\(t.endpointPort ?? 5432)" }, seconds: watch.elapsedSeconds)
    }

    /// RDS's rule for DB instance identifiers.
    static func isInstanceIdentifier(_ s: String) -> Bool {
        guard (1...63).contains(s.count), let f = s.first, f.isASCII, f.isLetter, s.last != "-", !s.contains("--")
        else { return false }
        return s.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
    }
}
