import WhatIfProtocol

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Which backups a retention policy keeps. Pure: the same list and policy always give the same answer.
public enum Retention {
    public struct Candidate: Sendable, Equatable {
        public var id: String
        public var kind: BackupKind
        /// When the backup's data was taken (its start).
        public var time: Date
        public var pinned: Bool
        public var verified: Bool
        /// A restore or a verify is reading it.
        public var inUse: Bool

        public init(id: String, kind: BackupKind, time: Date, pinned: Bool, verified: Bool, inUse: Bool = false) {
            self.id = id
            self.kind = kind
            self.time = time
            self.pinned = pinned
            self.verified = verified
            self.inUse = inUse
        }
    }

    /// Decisions for every candidate of one kind, newest first. The rules, as restic's `forget` has them:
    /// `keep_last` keeps the N newest; `daily`/`weekly`/`monthly` keep the newest backup of each of the
    /// last N days, ISO weeks, months (UTC) that have one. Whatever the policy, pinned backups, backups
    /// in use and the newest verified backup are kept. An empty policy keeps everything.
    public static func plan(_ candidates: [Candidate], policy: RetentionPolicy) -> [PruneDecision] {
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

        return sorted.map { c in
            let r = reasons[c.id] ?? []
            return PruneDecision(id: c.id, kind: c.kind, keep: !r.isEmpty, reasons: r)
        }
    }
}

/// A UTC calendar date, computed without time-zone data (Howard Hinnant's civil-from-days).
public struct UTCDate: Sendable, Equatable {
    public var year: Int
    public var month: Int
    public var day: Int
    /// Days since 1970-01-01.
    public var days: Int

    public init(_ date: Date) {
        self.init(days: Int((date.timeIntervalSince1970 / 86400).rounded(.down)))
    }

    public init(days: Int) {
        self.days = days
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        day = doy - (153 * mp + 2) / 5 + 1
        month = mp < 10 ? mp + 3 : mp - 9
        year = yoe + era * 400 + (month <= 2 ? 1 : 0)
    }

    /// Days since 1970-01-01 of a civil date.
    public static func days(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// 0 = Monday ... 6 = Sunday (1970-01-01 was a Thursday).
    public var isoWeekday: Int { ((days % 7) + 7 + 3) % 7 }

    /// ISO 8601 week-numbering year and week.
    public var isoWeek: (year: Int, week: Int) {
        let thursday = UTCDate(days: days - isoWeekday + 3)
        let jan1 = Self.days(year: thursday.year, month: 1, day: 1)
        return (thursday.year, (thursday.days - jan1) / 7 + 1)
    }

    var dayKey: String { "\(year)-\(month)-\(day)" }
    var monthKey: String { "\(year)-\(month)" }
    var isoWeekKey: String {
        let w = isoWeek
        return "\(w.year)-W\(w.week)"
    }
}
