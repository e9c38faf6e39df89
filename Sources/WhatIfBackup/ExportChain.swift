import WhatIfAWS
import WhatIfCore
import WhatIfProtocol
import WhatIfUnits

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// How a DynamoDB native export is asked for: the backup request's options.
package struct ExportOptions: Sendable, Equatable {
    /// True: an incremental export continuing the chain (refused when it cannot); false: a full export;
    /// nil: `backups.dynamodb.incremental` decides, falling back to a full export and saying why.
    package var incremental: Bool?
    /// A full export of the table as it was at this time (inside its point-in-time recovery window).
    package var exportTime: Date?

    // memberwise-init: package

    package var isEmpty: Bool { incremental == nil && exportTime == nil }
}

/// What one native export will be.
package enum ExportPlan: Sendable, Equatable {
    /// A full export of the table at `at` (nil: now).
    case full(at: Date?)
    /// The changes in `[from, to)`, continuing backup `previous` in the chain that starts at `base`.
    case incremental(from: Date, to: Date, previous: String, base: String)
}

/// Incremental exports as AWS bounds them, and how a chain continues.
package enum ExportChain {
    /// AWS's bounds on an incremental export's window.
    package static let shortest: Double = 15 * 60
    package static let longest: Double = 24 * 3600

    /// The export that ends a chain, and how many incremental exports the chain has after its full one.
    package struct Tip: Sendable, Equatable {
        package var id: String
        package var export: BackupManifest.ExportInfo
        package var incrementals: Int
        // memberwise-init: package
    }

    /// The newest native export of `table` that did not fail verification, with its chain's length;
    /// `entries` newest first.
    package static func tip(_ entries: [BackupEntry], table: String) -> Tip? {
        let exports = entries.filter {
            $0.kind == .dynamodb && $0.manifest.method == "export" && $0.manifest.source.table == table
                && $0.manifest.export?.end != nil && !$0.failedVerification
        }
        guard let newest = exports.first, let export = newest.manifest.export else { return nil }
        let byID = Dictionary(exports.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        var n = 0
        var cursor = newest.manifest.export
        while let c = cursor, c.isIncremental {
            n += 1
            cursor = c.previous.flatMap { byID[$0]?.manifest.export }
            if n > 10_000 { break }
        }
        return Tip(id: newest.id, export: export, incrementals: n)
    }

    /// Full or incremental, from what was asked, the settings, the chain's tip and the table's PITR
    /// window. A forced incremental export that AWS would refuse (no chain, a window under 15 minutes or
    /// over 24 hours, a start AWS no longer keeps) is refused here, naming the fix; when the settings
    /// ask for one, a full export is taken instead and `note` says why.
    package static func plan(
        options: ExportOptions, settings: DynamoExportSettings, tip: Tip?, pitr: DynamoDB.PointInTimeRecovery,
        now: Date
    ) throws -> (plan: ExportPlan, note: String?) {
        if let at = options.exportTime {
            guard options.incremental != true else {
                throw Failure("an export time is for a full export, not an incremental one", hint: "drop one of them")
            }
            try PointInTimeRestore.checkWindow(
                at, earliest: pitr.earliest, latest: pitr.latest ?? now, what: "the table")
            return (.full(at: at), nil)
        }
        let forced = options.incremental == true
        guard options.incremental ?? settings.incremental else { return (.full(at: nil), nil) }
        func fallBack(_ why: String, hint: String) throws -> (plan: ExportPlan, note: String?) {
            if forced { throw Failure("cannot take an incremental export: \(why)", hint: hint) }
            return (.full(at: nil), "a full export instead of an incremental one: \(why)")
        }
        guard let tip, let from = tip.export.end else {
            return try fallBack(
                "there is no export of the table to continue",
                hint: "take a full export first (whatifctl backup dynamodb)")
        }
        if !forced, tip.incrementals + 1 >= settings.fullEvery {
            return (
                .full(at: nil),
                "a full export: the chain has \(tip.incrementals) incremental exports (backups.dynamodb.full_every: \(settings.fullEvery))"
            )
        }
        // The window ends at the newest time AWS can export (its PITR lags a few minutes behind now).
        let to = Date(timeIntervalSince1970: (min(pitr.latest ?? now, now).timeIntervalSince1970).rounded(.down))
        let window = to.timeIntervalSince(from)
        let t = PointInTimeRestore.text
        if let earliest = pitr.earliest, from < earliest {
            return try fallBack(
                "the newest export (\(tip.id)) ends at \(t(from)), before the table's earliest restorable time \(t(earliest))",
                hint: "take a full export")
        }
        if window < shortest {
            return try fallBack(
                "the newest export (\(tip.id)) ends at \(t(from)), \(DurationText.format(max(0, window))) before the latest exportable time; an incremental export covers 15 minutes to 24 hours",
                hint:
                    "wait until \(t(from.addingTimeInterval(shortest + (now.timeIntervalSince(to))))), or take a full export"
            )
        }
        if window > longest {
            return try fallBack(
                "the newest export (\(tip.id)) ends at \(t(from)), \(DurationText.format(window)) ago; an incremental export covers at most 24 hours",
                hint: "take a full export (whatifctl backup dynamodb --full)")
        }
        let base = tip.export.isIncremental ? (tip.export.base ?? tip.id) : tip.id
        return (.incremental(from: from, to: to, previous: tip.id, base: base), nil)
    }
}
