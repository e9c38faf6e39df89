import Foundation
import Testing

@testable import WhatIfMaintenance

/// Seconds since 1970 of a UTC time written as ISO 8601.
func at(_ iso: String) -> Double {
    let f = ISO8601DateFormatter()
    f.timeZone = TimeZone(identifier: "UTC")
    return f.date(from: iso)!.timeIntervalSince1970
}

func iso(_ t: Double?) -> String {
    guard let t else { return "none" }
    let f = ISO8601DateFormatter()
    f.timeZone = TimeZone(identifier: "UTC")
    return f.string(from: Date(timeIntervalSince1970: t))
}

@Suite struct WindowTests {
    @Test func weeklyWindowsInRDSFormat() throws {
        let w = try WindowSchedule.parse("sun:05:00-sun:06:00")
        #expect(w == .weekly(startMinute: 300, minutes: 60))
        #expect(w.description == "sun:05:00-sun:06:00")
        // 2026-11-25 is a Wednesday: the next opening is Sunday the 29th.
        #expect(iso(w.nextStart(atOrAfter: at("2026-11-25T10:00:00Z"))) == "2026-11-29T05:00:00Z")
        // At the opening itself, and a second after it.
        #expect(iso(w.nextStart(atOrAfter: at("2026-11-29T05:00:00Z"))) == "2026-11-29T05:00:00Z")
        #expect(iso(w.nextStart(atOrAfter: at("2026-11-29T05:00:01Z"))) == "2026-12-06T05:00:00Z")
        // Open inside, closed at its end.
        #expect(w.open(at: at("2026-11-29T05:59:59Z")).map { iso($0.start) } == "2026-11-29T05:00:00Z")
        #expect(w.open(at: at("2026-11-29T06:00:00Z")) == nil)
        #expect(iso(w.latestStart(atOrBefore: at("2026-11-28T23:00:00Z"))) == "2026-11-22T05:00:00Z")
    }

    @Test func windowsAcrossDayAndWeekBoundaries() throws {
        let night = try WindowSchedule.parse("tue:23:30-wed:00:30")
        #expect(night.minutes == 60)
        #expect(night.open(at: at("2026-11-25T00:15:00Z")).map { iso($0.start) } == "2026-11-24T23:30:00Z")
        // Saturday into Sunday: the week wraps.
        let wrap = try WindowSchedule.parse("sat:23:00-sun:01:00")
        #expect(wrap.minutes == 120)
        #expect(wrap.open(at: at("2026-11-29T00:30:00Z")).map { iso($0.start) } == "2026-11-28T23:00:00Z")
        #expect(iso(wrap.nextStart(atOrAfter: at("2026-11-29T00:30:00Z"))) == "2026-12-05T23:00:00Z")
        // Across a month and a year.
        let w = try WindowSchedule.parse("thu:04:00-thu:05:00")
        #expect(iso(w.nextStart(atOrAfter: at("2026-12-31T04:30:00Z"))) == "2027-01-07T04:00:00Z")
        #expect(w.description == "thu:04:00-thu:05:00")
    }

    @Test func cronWindows() throws {
        let daily = try WindowSchedule.parse("30 2 * * *", duration: 3600)
        #expect(iso(daily.nextStart(atOrAfter: at("2026-11-25T02:31:00Z"))) == "2026-11-26T02:30:00Z")
        #expect(daily.open(at: at("2026-11-25T03:00:00Z")).map { iso($0.start) } == "2026-11-25T02:30:00Z")
        let sundays = try WindowSchedule.parse("0 5 * * sun", duration: 3600)
        #expect(iso(sundays.nextStart(atOrAfter: at("2026-11-25T00:00:00Z"))) == "2026-11-29T05:00:00Z")
        // Sunday as 7, steps, ranges, lists and month names.
        let steps = try WindowSchedule.parse("*/15 9-17 * jan,jul 1-5", duration: 600)
        #expect(iso(steps.nextStart(atOrAfter: at("2026-11-25T00:00:00Z"))) == "2027-01-01T09:00:00Z")
        #expect(
            iso(try WindowSchedule.parse("0 0 * * 7", duration: 60).nextStart(atOrAfter: at("2026-11-25T00:00:00Z")))
                == "2026-11-29T00:00:00Z")
        // Both day fields restricted: either matches (the 1st of the month, or any Monday).
        let either = try WindowSchedule.parse("0 3 1 * mon", duration: 60)
        #expect(iso(either.nextStart(atOrAfter: at("2026-11-25T00:00:00Z"))) == "2026-11-30T03:00:00Z")
        #expect(iso(either.nextStart(atOrAfter: at("2026-11-30T04:00:00Z"))) == "2026-12-01T03:00:00Z")
        // February 29th exists in 2028 only.
        let leap = try WindowSchedule.parse("0 0 29 feb *", duration: 60)
        #expect(iso(leap.nextStart(atOrAfter: at("2026-11-25T00:00:00Z"))) == "2028-02-29T00:00:00Z")
        #expect(iso(leap.latestStart(atOrBefore: at("2026-11-25T00:00:00Z"))) == "2024-02-29T00:00:00Z")
    }

    @Test func mistakesAreNamedWithTheFix() {
        func problem(_ s: String, _ d: Double? = nil) -> String {
            do {
                _ = try WindowSchedule.parse(s, duration: d)
                return "accepted"
            } catch { return error.description }
        }
        #expect(problem("sun:25:00-sun:26:00").contains("is not ddd:hh24:mi"))
        #expect(problem("sunday:05:00-sun:06:00").contains("days are sun mon"))
        #expect(problem("0 5 * *", 3600).contains("5 fields"))
        #expect(problem("0 5 * * fun", 3600).contains("day of week 'fun'"))
        #expect(problem("61 5 * * *", 3600).contains("minute '61'"))
        #expect(problem("0 5 * * *").contains("no duration"))
        #expect(problem("0 5-3 * * *", 3600).contains("runs backwards"))
        #expect(problem("sun:05:00-sun:06:00", 3600).contains("has its own end"))
        // Found by FuzzWindow: a duration past Int's range trapped instead of being refused.
        #expect(problem("3 22 2 * *", 8.8e21).contains("longer than a week"))
        #expect(problem("3 22 2 * *", .infinity).contains("longer than a week"))
    }
}
