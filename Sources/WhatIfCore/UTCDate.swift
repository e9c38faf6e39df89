#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

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

    public var dayKey: String { "\(year)-\(month)-\(day)" }
    public var monthKey: String { "\(year)-\(month)" }
    public var isoWeekKey: String {
        let w = isoWeek
        return "\(w.year)-W\(w.week)"
    }
}
