import WhatIfCore
import WhatIfProtocol

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Which backups a retention policy keeps. Pure: the same list and policy always give the same answer.
package enum Retention {
    package struct Candidate: Sendable, Equatable {
        package var id: String
        package var kind: BackupKind
        /// When the backup's data was taken (its start).
        package var time: Date
        package var pinned: Bool
        package var verified: Bool
        /// A restore or a verify is reading it.
        package var inUse: Bool = false
        /// An incremental export: the backup it continues (kept as long as it is).
        package var previous: String?

        // memberwise-init: package
    }

    /// Decisions for every candidate of one kind, newest first. The rules, as restic's `forget` has them:
    /// `keep_last` keeps the N newest; `daily`/`weekly`/`monthly` keep the newest backup of each of the
    /// last N days, ISO weeks, months (UTC) that have one. Whatever the policy, pinned backups, backups
    /// in use and the newest verified backup are kept. An empty policy keeps everything.
    package static func plan(_ candidates: [Candidate], policy: RetentionPolicy) -> [PruneDecision] {
        let sorted = candidates.sorted { ($0.time, $0.id) > ($1.time, $1.id) }
        var reasons: [String: [String]] = [:]
        func keep(_ id: String, _ why: String) { reasons[id, default: []].append(why) }

        if policy.isEmpty {
            for c in sorted { keep(c.id, "no retention rule") }
        }
        if let n = policy.keepLast {
            for c in sorted.prefix(max(0, n)) { keep(c.id, "keep_last") }
        }
        func bucketed(_ count: Int?, _ name: String, _ bucket: (Date) -> String) {
            guard let count, count > 0 else { return }
            var seen: Set<String> = []
            for c in sorted {
                let b = bucket(c.time)
                if seen.contains(b) { continue }
                guard seen.count < count else { break }
                seen.insert(b)
                keep(c.id, name)
            }
        }
        bucketed(policy.daily, "daily") { UTCDate($0).dayKey }
        bucketed(policy.weekly, "weekly") { UTCDate($0).isoWeekKey }
        bucketed(policy.monthly, "monthly") { UTCDate($0).monthKey }
        for c in sorted where c.pinned { keep(c.id, "pinned") }
        for c in sorted where c.inUse { keep(c.id, "in use") }
        if let newestVerified = sorted.first(where: \.verified) { keep(newestVerified.id, "newest verified") }
        // An incremental export restores only with the exports before it: each kept one keeps its chain.
        let previous = Dictionary(sorted.map { ($0.id, $0.previous) }, uniquingKeysWith: { a, _ in a })
        for c in sorted where reasons[c.id] != nil {
            var cursor = c.previous
            var seen: Set<String> = [c.id]
            while let p = cursor, previous[p] != nil, seen.insert(p).inserted {
                if !(reasons[p] ?? []).contains(where: { $0.hasPrefix("chain of ") }) { keep(p, "chain of \(c.id)") }
                cursor = previous[p] ?? nil
            }
        }

        return sorted.map { c in
            let r = reasons[c.id] ?? []
            return PruneDecision(id: c.id, kind: c.kind, keep: !r.isEmpty, reasons: r)
        }
    }
}
