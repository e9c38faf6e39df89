import WhatIfCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// When a maintenance window opens, in UTC: RDS/ElastiCache's weekly `ddd:hh24:mi-ddd:hh24:mi`
/// (`sun:05:00-sun:06:00`, wrapping over the week's end allowed) or a cron expression
/// (`minute hour day-of-month month day-of-week`, Vixie cron's rules) with a duration.
public enum WindowSchedule: Sendable, Equatable, CustomStringConvertible {
    /// Minutes from Sunday 00:00 UTC, and the length in minutes.
    case weekly(startMinute: Int, minutes: Int)
    case cron(CronExpression, minutes: Int)

    public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        package var message: String
        package var hint: String
        public var description: String { "\(message) (\(hint))" }
    }

    static let days = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]

    /// `sun:05:00-sun:06:00`, or a cron expression with `duration` (required for cron).
    public static func parse(_ text: String, duration: Double? = nil) throws(ParseError) -> WindowSchedule {
        let t = String(text.lowercased().drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
        let parts = t.split(separator: "-", omittingEmptySubsequences: false)
        if parts.count == 2, parts.allSatisfy({ $0.split(separator: ":").count == 3 }) {
            guard duration == nil else {
                throw ParseError(
                    message: "a weekly window '\(text)' has its own end", hint: "drop duration, or use cron syntax")
            }
            let start = try weekMinute(String(parts[0]), text)
            var end = try weekMinute(String(parts[1]), text)
            if end <= start { end += 7 * 1440 }
            return .weekly(startMinute: start, minutes: end - start)
        }
        let cron: CronExpression
        do { cron = try CronExpression.parse(text) } catch {
            throw ParseError(
                message: "'\(text)' is neither ddd:hh24:mi-ddd:hh24:mi nor a cron expression: \(error.message)",
                hint: "write sun:05:00-sun:06:00 (UTC), or five cron fields such as \"0 5 * * sun\" with duration: 1h")
        }
        guard let duration, duration >= 60 else {
            throw ParseError(
                message: "the cron window '\(text)' has no duration",
                hint: "add duration: 1h (at least a minute)")
        }
        guard duration <= 7 * 86400 else {
            throw ParseError(
                message: "the cron window '\(text)' lasts longer than a week", hint: "use a duration of at most 7d")
        }
        return .cron(cron, minutes: Int(duration / 60))
    }

    static func weekMinute(_ s: String, _ text: String) throws(ParseError) -> Int {
        let f = s.split(separator: ":")
        guard f.count == 3, let d = days.firstIndex(of: String(f[0])), f[1].count == 2, f[2].count == 2,
            let h = Int(f[1]), let m = Int(f[2]), (0..<24).contains(h), (0..<60).contains(m)
        else {
            throw ParseError(
                message: "'\(s)' in '\(text)' is not ddd:hh24:mi",
                hint: "days are sun mon tue wed thu fri sat, times 00:00 to 23:59 UTC, e.g. sun:05:00-sun:06:00")
        }
        return d * 1440 + h * 60 + m
    }

    public var minutes: Int {
        switch self {
        case .weekly(_, let m), .cron(_, let m): m
        }
    }

    public var description: String {
        switch self {
        case .weekly(let start, let minutes):
            func text(_ w: Int) -> String {
                let m = w % (7 * 1440)
                let h = m % 1440
                return "\(Self.days[m / 1440]):\(Self.two(h / 60)):\(Self.two(h % 60))"
            }
            return "\(text(start))-\(text(start + minutes))"
        case .cron(let c, let minutes): return "\(c.text) for \(minutes)m"
        }
    }

    static func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }

    /// The first opening at or after `t` (seconds since 1970).
    public func nextStart(atOrAfter t: Double) -> Double? {
        let minute = Int((t / 60).rounded(.up))
        switch self {
        case .weekly(let start, _):
            // 1970-01-01 was a Thursday: minute 0 of the epoch is minute 4 * 1440 of its week.
            let ofWeek = ((minute + 4 * 1440) % (7 * 1440) + 7 * 1440) % (7 * 1440)
            var delta = start - ofWeek
            if delta < 0 { delta += 7 * 1440 }
            return Double(minute + delta) * 60
        case .cron(let c, _):
            return c.next(atOrAfterMinute: minute).map { Double($0) * 60 }
        }
    }

    /// The occurrence that is open at `t`, if any: (start, end).
    public func open(at t: Double) -> (start: Double, end: Double)? {
        guard let s = latestStart(atOrBefore: t) else { return nil }
        let end = s + Double(minutes) * 60
        return t < end ? (s, end) : nil
    }

    /// The last opening at or before `t`.
    public func latestStart(atOrBefore t: Double) -> Double? {
        let minute = Int((t / 60).rounded(.down))
        switch self {
        case .weekly(let start, _):
            let ofWeek = ((minute + 4 * 1440) % (7 * 1440) + 7 * 1440) % (7 * 1440)
            var delta = ofWeek - start
            if delta < 0 { delta += 7 * 1440 }
            return Double(minute - delta) * 60
        case .cron(let c, _):
            return c.previous(atOrBeforeMinute: minute).map { Double($0) * 60 }
        }
    }
}

/// A five-field cron expression: minute (0-59), hour (0-23), day of month (1-31), month (1-12 or
/// jan-dec), day of week (0-7 or sun-sat, 0 and 7 both Sunday); `*`, lists, ranges and `/` steps. As in
/// Vixie cron (Debian's cron), when neither day field starts with `*` a day matching either one matches;
/// otherwise both must (so `*/2` in one of them counts as `*` for this rule). Checked against croniter.
public struct CronExpression: Sendable, Equatable {
    package let text: String
    let minutes: [Bool]
    let hours: [Bool]
    let monthDays: [Bool]
    let months: [Bool]
    let weekDays: [Bool]
    let monthDayAny: Bool
    let weekDayAny: Bool

    package struct Problem: Error, Sendable {
        package var message: String
    }

    package static func parse(_ text: String) throws(Problem) -> CronExpression {
        let f = text.split(whereSeparator: { $0 == " " || $0 == "\t" }).map { String($0).lowercased() }
        guard f.count == 5 else { throw Problem(message: "a cron expression has 5 fields, this has \(f.count)") }
        let monthNames = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
        let minute = try field(f[0], "minute", 0...59, names: [])
        let hour = try field(f[1], "hour", 0...23, names: [])
        let dom = try field(f[2], "day of month", 1...31, names: [])
        let month = try field(f[3], "month", 1...12, names: monthNames, nameBase: 1)
        var dow = try field(f[4], "day of week", 0...7, names: WindowSchedule.days)
        if dow[7] { dow[0] = true }
        return CronExpression(
            text: f.joined(separator: " "), minutes: minute, hours: hour, monthDays: dom, months: month,
            weekDays: Array(dow.prefix(7)), monthDayAny: f[2].hasPrefix("*"), weekDayAny: f[4].hasPrefix("*"))
    }

    static func field(
        _ s: String, _ what: String, _ range: ClosedRange<Int>, names: [String], nameBase: Int = 0
    ) throws(Problem) -> [Bool] {
        var set = [Bool](repeating: false, count: range.upperBound + 1)
        func value(_ t: Substring) throws(Problem) -> Int {
            if let v = Int(t), range.contains(v) { return v }
            if let i = names.firstIndex(of: String(t)) { return i + nameBase }
            throw Problem(message: "\(what) '\(t)' is not in \(range.lowerBound)-\(range.upperBound)")
        }
        for part in s.split(separator: ",", omittingEmptySubsequences: false) {
            var body = part
            var step = 1
            if let slash = part.firstIndex(of: "/") {
                guard let st = Int(part[part.index(after: slash)...]), st > 0 else {
                    throw Problem(message: "\(what) step in '\(part)' is not a positive number")
                }
                step = st
                body = part[..<slash]
            }
            var lo = range.lowerBound
            var hi = range.upperBound
            if body != "*" {
                let r = body.split(separator: "-", omittingEmptySubsequences: false)
                guard r.count == 1 || r.count == 2, !r[0].isEmpty else {
                    throw Problem(message: "\(what) '\(part)' is not a value, range or list")
                }
                lo = try value(r[0])
                hi = r.count == 2 ? try value(r[1]) : (part.contains("/") ? range.upperBound : lo)
                guard lo <= hi else { throw Problem(message: "\(what) range '\(body)' runs backwards") }
            }
            var v = lo
            while v <= hi {
                set[v] = true
                v += step
            }
        }
        return set
    }

    func dayMatches(_ d: UTCDate) -> Bool {
        guard months[d.month] else { return false }
        let weekday = (d.isoWeekday + 1) % 7  // 0 = Sunday
        let dom = monthDays[d.day]
        let dow = weekDays[weekday]
        // Vixie cron (Debian's cron) exactly: a day field written starting with `*` (`*`, `*/2`) makes the
        // two day fields both apply; otherwise either one matching is enough.
        return monthDayAny || weekDayAny ? dom && dow : dom || dow
    }

    /// Minutes since 1970 of the first match at or after `m`, within five years.
    func next(atOrAfterMinute m: Int) -> Int? {
        var day = Int((Double(m) / 1440).rounded(.down))
        var from = m - day * 1440
        for _ in 0..<(5 * 366) {
            let d = UTCDate(days: day)
            if dayMatches(d) {
                for h in (from / 60)..<24 where hours[h] {
                    for mi in 0..<60 where minutes[mi] {
                        let t = h * 60 + mi
                        if t >= from { return day * 1440 + t }
                    }
                }
            }
            day += 1
            from = 0
        }
        return nil
    }

    /// Minutes since 1970 of the last match at or before `m`, within five years.
    func previous(atOrBeforeMinute m: Int) -> Int? {
        var day = Int((Double(m) / 1440).rounded(.down))
        var upTo = m - day * 1440
        for _ in 0..<(5 * 366) {
            let d = UTCDate(days: day)
            if dayMatches(d) {
                for h in stride(from: upTo / 60, through: 0, by: -1) where hours[h] {
                    for mi in stride(from: 59, through: 0, by: -1) where minutes[mi] {
                        let t = h * 60 + mi
                        if t <= upTo { return day * 1440 + t }
                    }
                }
            }
            day -= 1
            upTo = 1439
        }
        return nil
    }
}
