import Foundation
import Testing
import WhatIfTesting

@testable import WhatIfMaintenance

/// Our cron schedules against an independent implementation (Python's croniter, installed by
/// scripts/stack): next and previous matches of random expressions from random times.
@Suite struct CronReferenceTests {
    /// A small seeded generator (SplitMix64), so a failure can be replayed.
    struct SplitMix: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    /// A field over `range`; `star` allows forms starting with `*` (for the day fields only plain `*`:
    /// croniter counts `*/2` there as a restriction, Vixie cron as `*`, tested on its own below).
    static func field(_ r: ClosedRange<Int>, names: [String] = [], nameBase: Int = 0, star: Bool, _ g: inout SplitMix)
        -> String
    {
        func n() -> Int { Int.random(in: r, using: &g) }
        func name(_ v: Int) -> String {
            !names.isEmpty && v - nameBase < names.count && Bool.random(using: &g) ? names[v - nameBase] : String(v)
        }
        // Ranges have two different ends: croniter 7 reads `5-5` as `*` and `21-21/2` as `*/2`, where cron
        // means {5} and {21}.
        let a = Int.random(in: r.lowerBound...(r.upperBound - 1), using: &g)
        let b = Int.random(in: (a + 1)...r.upperBound, using: &g)
        switch Int.random(in: 0..<8, using: &g) {
        case 0: return "*"
        case 1 where star: return "*/\(Int.random(in: 2...max(2, r.count / 3), using: &g))"
        case 2: return "\(name(a))-\(name(b))"
        case 3: return "\(a)-\(b)/\(Int.random(in: 1...4, using: &g))"
        case 4: return (0..<Int.random(in: 2...4, using: &g)).map { _ in name(n()) }.joined(separator: ",")
        default: return name(n())
        }
    }

    @Test func matchesCroniterOnRandomExpressions() throws {
        var g = SplitMix(state: 20_261_125)
        let months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
        var cases: [(String, Int)] = []
        for _ in 0..<600 {
            let expr = [
                Self.field(0...59, star: true, &g), Self.field(0...23, star: true, &g),
                Self.field(1...31, star: false, &g), Self.field(1...12, names: months, nameBase: 1, star: true, &g),
                Self.field(0...7, names: WindowSchedule.days, star: false, &g),
            ].joined(separator: " ")
            // Whole minutes between 2024 and 2031, across month, year and leap-day boundaries.
            let t = Int.random(in: 28_401_120...32_609_280, using: &g) * 60
            cases.append((expr, t))
        }
        let input = cases.map { "\($0.0)\t\($0.1)" }.joined(separator: "\n") + "\n"
        let r = try Run.command(
            ["python3", "\(TestPaths.repository)/Tests/tools/cron_reference.py"], input: input, timeout: 300)
        guard r.status == 0 else { throw TestFailure("cron_reference.py: \(r.output)") }
        let lines = r.stdout.split(separator: "\n")
        try #require(lines.count == cases.count)
        var compared = 0
        var mismatches: [String] = []
        for ((expr, t), line) in zip(cases, lines) {
            let parts = line.split(separator: " ").map { Int($0) }
            let s = try WindowSchedule.parse(expr, duration: 60)
            let ours = [s.nextStart(atOrAfter: Double(t)), s.latestStart(atOrBefore: Double(t))].map {
                $0.map { Int($0) }
            }
            for (i, (mine, theirs)) in zip(ours, parts).enumerated() {
                // Both search about five years; an answer near that edge on one side only is not a finding.
                if mine == nil || theirs == nil {
                    let found = mine ?? theirs!
                    if abs(found - t) < 4 * 365 * 86400 {
                        mismatches.append(
                            "\(expr) from \(t) \(i == 0 ? "next" : "prev"): ours \(String(describing: mine)), croniter \(String(describing: theirs))"
                        )
                    }
                    continue
                }
                compared += 1
                if mine != theirs {
                    mismatches.append(
                        "\(expr) from \(t) \(i == 0 ? "next" : "prev"): ours \(mine!), croniter \(theirs!)")
                }
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches.count) differences, first: \(mismatches.prefix(5))")
        #expect(compared > 1000, "too few comparisons: \(compared)")
    }

    /// Where croniter and Vixie cron differ, Debian's cron (Vixie's) wins: a day field written starting
    /// with `*` (`*/2`) makes both day fields apply; croniter would take either.
    @Test func vixieDayRuleForStarSteps() throws {
        let s = try WindowSchedule.parse("0 0 */2 * mon", duration: 60)
        // From Wednesday 2026-11-25: odd days that are Mondays: 2026-12-07 (not Fri 27 or Sun 29).
        #expect(s.nextStart(atOrAfter: 1_795_600_800) == 1_796_601_600)  // 2026-12-07T00:00:00Z
        let either = try WindowSchedule.parse("0 0 1-31/2 * mon", duration: 60)
        #expect(either.nextStart(atOrAfter: 1_795_600_800) == 1_795_737_600)  // Fri 2026-11-27
        // Ranges with equal ends are one value (where croniter 7 reads `*` and `*/2`).
        let one = try WindowSchedule.parse("56-56 21-21/2 * * *", duration: 60)
        let wednesday: Double = 1_795_600_800  // 2026-11-25T10:00:00Z
        let at2156: Double = wednesday + 11 * 3600 + 56 * 60
        #expect(one.nextStart(atOrAfter: wednesday) == at2156)
        #expect(one.nextStart(atOrAfter: at2156 + 60) == at2156 + 86400)
    }
}
