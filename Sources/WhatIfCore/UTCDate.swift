#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A UTC calendar date, computed without time-zone data (Howard Hinnant's civil-from-days).
package struct UTCDate: Sendable, Equatable {
    package var year: Int
    package var month: Int
    package var day: Int
    /// Days since 1970-01-01.
    package var days: Int

    package init(_ date: Date) {
        self.init(days: Int((date.timeIntervalSince1970 / 86400).rounded(.down)))
    }

    package init(days: Int) {
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
    package static func days(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// 0 = Monday ... 6 = Sunday (1970-01-01 was a Thursday).
    package var isoWeekday: Int { ((days % 7) + 7 + 3) % 7 }

    /// ISO 8601 week-numbering year and week.
    package var isoWeek: (year: Int, week: Int) {
        let thursday = UTCDate(days: days - isoWeekday + 3)
        let jan1 = Self.days(year: thursday.year, month: 1, day: 1)
        return (thursday.year, (thursday.days - jan1) / 7 + 1)
    }

    package var dayKey: String { "\(year)-\(month)-\(day)" }
    package var monthKey: String { "\(year)-\(month)" }
    package var isoWeekKey: String {
        let w = isoWeek
        return "\(w.year)-W\(w.week)"
    }
}
