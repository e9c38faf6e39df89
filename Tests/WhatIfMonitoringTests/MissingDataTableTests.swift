import Testing

@testable import WhatIfMonitoring

/// AWS's tables in "Configuring how CloudWatch alarms treat missing data" (Amazon CloudWatch User
/// Guide, "How alarm state is evaluated when data is missing"), row by row. Data points are the
/// evaluation range of 5, oldest first: 0 is not breaching, X breaching, - missing. The expected
/// columns are MISSING, IGNORE, BREACHING, NOT BREACHING; "keep" is "Retain current state".
struct MissingDataTableTests {
    enum Expect: Equatable {
        case ok, alarm, insufficient, keep
    }

    struct Row: CustomTestStringConvertible {
        var points: String
        var missing: Expect
        var ignore: Expect
        var breaching: Expect
        var notBreaching: Expect
        var testDescription: String { points }
    }

    /// Datapoints to Alarm 3, Evaluation Periods 3.
    static let threeOfThree: [Row] = [
        Row(points: "0 - X - X", missing: .ok, ignore: .ok, breaching: .ok, notBreaching: .ok),
        Row(points: "0 - - - -", missing: .ok, ignore: .ok, breaching: .ok, notBreaching: .ok),
        Row(points: "- - - - -", missing: .insufficient, ignore: .keep, breaching: .alarm, notBreaching: .ok),
        Row(points: "0 X X - X", missing: .alarm, ignore: .alarm, breaching: .alarm, notBreaching: .alarm),
        Row(points: "- - X - -", missing: .alarm, ignore: .keep, breaching: .alarm, notBreaching: .ok),
    ]

    /// Datapoints to Alarm 2, Evaluation Periods 3 (an M out of N alarm).
    static let twoOfThree: [Row] = [
        Row(points: "0 - X - X", missing: .alarm, ignore: .alarm, breaching: .alarm, notBreaching: .alarm),
        Row(points: "0 0 X 0 X", missing: .alarm, ignore: .alarm, breaching: .alarm, notBreaching: .alarm),
        Row(points: "0 - X - -", missing: .ok, ignore: .ok, breaching: .alarm, notBreaching: .ok),
        Row(points: "- - - - 0", missing: .ok, ignore: .ok, breaching: .alarm, notBreaching: .ok),
        Row(points: "- - - X -", missing: .alarm, ignore: .keep, breaching: .alarm, notBreaching: .ok),
    ]

    /// The cases the "avoiding premature transitions to alarm state" section describes in prose (3 of 3),
    /// and the row an earlier revision of the page had (`X - - - -`: "the oldest evaluated data point is
    /// breaching and there aren't any non-breaching data points"), whose state follows from the same rule.
    static let premature: [Row] = [
        Row(points: "- - - - X", missing: .insufficient, ignore: .keep, breaching: .alarm, notBreaching: .ok),
        Row(points: "- - - X -", missing: .insufficient, ignore: .keep, breaching: .alarm, notBreaching: .ok),
        Row(points: "X - - - -", missing: .alarm, ignore: .keep, breaching: .alarm, notBreaching: .ok),
    ]

    static func range(_ points: String) -> [PeriodDatapoint] {
        points.split(separator: " ").enumerated().map { i, c in
            PeriodDatapoint(start: 1_764_000_000 + Double(i) * 300, value: c == "X" ? 10 : c == "0" ? 1 : nil)
        }
    }

    static func alarm(m: Int, n: Int, _ treat: AlarmDefinition.TreatMissingData, namespace: String = "WhatIf/Test")
        -> AlarmDefinition
    {
        AlarmDefinition(
            name: "t", namespace: namespace, metricName: "M", dimensions: [], statistic: .average, period: 300,
            evaluationPeriods: n, datapointsToAlarm: m, threshold: 5, comparison: .greaterThanThreshold,
            treatMissingData: treat)
    }

    static func check(_ row: Row, m: Int) {
        let columns: [(AlarmDefinition.TreatMissingData, Expect)] = [
            (.missing, row.missing), (.ignore, row.ignore), (.breaching, row.breaching),
            (.notBreaching, row.notBreaching),
        ]
        #expect(alarm(m: m, n: 3, .missing).evaluationRange == 5)
        for (treat, expect) in columns {
            let got = AlarmEvaluator.evaluate(alarm(m: m, n: 3, treat), range: range(row.points))
            let mapped: Expect =
                switch got.state {
                case .ok: .ok
                case .alarm: .alarm
                case .insufficientData: .insufficient
                case nil: .keep
                }
            #expect(mapped == expect, "\(row.points) M=\(m) \(treat): got \(mapped) (\(got.reason))")
        }
    }

    @Test(arguments: threeOfThree) func threeOutOfThree(_ row: Row) { Self.check(row, m: 3) }
    @Test(arguments: twoOfThree) func twoOutOfThree(_ row: Row) { Self.check(row, m: 2) }
    @Test(arguments: premature) func prematureAlarm(_ row: Row) { Self.check(row, m: 3) }

    /// "Alarms that evaluate metrics in the AWS/DynamoDB namespace always ignore missing data even if you
    /// choose a different option": every TreatMissingData behaves as ignore there.
    @Test(arguments: AlarmDefinition.TreatMissingData.allCases)
    func dynamoDBIgnoresMissingData(_ treat: AlarmDefinition.TreatMissingData) {
        let a = Self.alarm(m: 3, n: 3, treat, namespace: "AWS/DynamoDB")
        #expect(AlarmEvaluator.evaluate(a, range: Self.range("- - - - -")).state == nil)
        #expect(AlarmEvaluator.evaluate(a, range: Self.range("- - X - -")).state == nil)
        #expect(AlarmEvaluator.evaluate(a, range: Self.range("0 - - - -")).state == .ok)
        #expect(AlarmEvaluator.evaluate(a, range: Self.range("0 X X - X")).state == .alarm)
    }

    /// Without missing data the most recent N decide and older ones in the range are not used.
    @Test func olderPointsBeyondNAreNotUsed() {
        let a = Self.alarm(m: 3, n: 3, .missing)
        #expect(AlarmEvaluator.evaluate(a, range: Self.range("X X 0 X X")).state == .ok)
        #expect(AlarmEvaluator.evaluate(a, range: Self.range("0 0 X X X")).state == .alarm)
    }

    @Test func reasonReadsLikeAWS() {
        let a = Self.alarm(m: 3, n: 3, .missing)
        let r = AlarmEvaluator.evaluate(a, range: Self.range("0 X X - X"))
        #expect(r.reason.hasPrefix("Threshold Crossed: 3 out of the last 3 datapoints [10.0 ("))
        #expect(
            r.reason.hasSuffix(
                "were greater than the threshold (5.0) (minimum 3 datapoints for OK -> ALARM transition)."))
        let i = AlarmEvaluator.evaluate(a, range: Self.range("- - - - -"))
        #expect(i.reason == "Insufficient Data: 5 datapoints were unknown.")
    }
}
