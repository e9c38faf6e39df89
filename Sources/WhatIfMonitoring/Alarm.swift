import WhatIfCore

/// An alarm, with PutMetricAlarm's fields.
package struct AlarmDefinition: Sendable, Equatable {
    package enum Comparison: String, Sendable, CaseIterable {
        case greaterThanOrEqualToThreshold = "GreaterThanOrEqualToThreshold"
        case greaterThanThreshold = "GreaterThanThreshold"
        case lessThanThreshold = "LessThanThreshold"
        case lessThanOrEqualToThreshold = "LessThanOrEqualToThreshold"

        package func breaches(_ value: Double, _ threshold: Double) -> Bool {
            switch self {
            case .greaterThanOrEqualToThreshold: value >= threshold
            case .greaterThanThreshold: value > threshold
            case .lessThanThreshold: value < threshold
            case .lessThanOrEqualToThreshold: value <= threshold
            }
        }

        /// As AWS words it in a StateReason: "were greater than the threshold".
        var phrase: String {
            switch self {
            case .greaterThanOrEqualToThreshold: "greater than or equal to"
            case .greaterThanThreshold: "greater than"
            case .lessThanThreshold: "less than"
            case .lessThanOrEqualToThreshold: "less than or equal to"
            }
        }
    }

    package enum TreatMissingData: String, Sendable, CaseIterable {
        case missing, notBreaching, breaching, ignore
    }

    package var name: String
    package var description: String?
    package var namespace: String
    package var metricName: String
    package var dimensions: [MetricKey.Dimension]
    package var statistic: Statistic
    /// Seconds: 10, 20, 30 or a multiple of 60.
    package var period: Int
    package var evaluationPeriods: Int
    package var datapointsToAlarm: Int
    package var threshold: Double
    package var comparison: Comparison
    package var treatMissingData: TreatMissingData
    /// EvaluateLowSampleCountPercentile: true is `evaluate` (the default), false is `ignore`.
    package var evaluateLowSampleCountPercentile: Bool

    package init(
        name: String, description: String? = nil, namespace: String, metricName: String,
        dimensions: [MetricKey.Dimension], statistic: Statistic, period: Int, evaluationPeriods: Int,
        datapointsToAlarm: Int? = nil, threshold: Double, comparison: Comparison,
        treatMissingData: TreatMissingData = .missing, evaluateLowSampleCountPercentile: Bool = true
    ) {
        self.name = name
        self.description = description
        self.namespace = namespace
        self.metricName = metricName
        self.dimensions = dimensions.sorted { $0.name < $1.name }
        self.statistic = statistic
        self.period = period
        self.evaluationPeriods = evaluationPeriods
        self.datapointsToAlarm = datapointsToAlarm ?? evaluationPeriods
        self.threshold = threshold
        self.comparison = comparison
        self.treatMissingData = treatMissingData
        self.evaluateLowSampleCountPercentile = evaluateLowSampleCountPercentile
    }

    /// How many periods are read at each evaluation: EvaluationPeriods plus two, as in every example of
    /// AWS's "how alarm state is evaluated when data is missing" (N = 3, evaluation range 5). AWS does
    /// not publish its formula beyond that.
    package var evaluationRange: Int { evaluationPeriods + 2 }

    /// Alarms on AWS/DynamoDB metrics always ignore missing data, whatever TreatMissingData says.
    package var effectiveTreatMissingData: TreatMissingData {
        namespace == "AWS/DynamoDB" ? .ignore : treatMissingData
    }
}

package enum AlarmState: String, Sendable, Codable, CaseIterable {
    case ok = "OK"
    case alarm = "ALARM"
    case insufficientData = "INSUFFICIENT_DATA"
}

/// One period's datapoint in an evaluation range: its start (seconds since the epoch), its statistic
/// value or nil when missing, and whether a percentile had too few samples.
package struct PeriodDatapoint: Sendable, Equatable {
    package var start: Double
    package var value: Double?
    package var lowSample: Bool = false
}

/// The outcome of one evaluation: the new state (nil: keep the current one) and why.
package struct AlarmEvaluation: Sendable, Equatable {
    package var state: AlarmState?
    package var reason: String
}

/// CloudWatch's alarm evaluation, as AWS documents it ("Using Amazon CloudWatch alarms": evaluating an
/// alarm, how alarm state is evaluated when data is missing, avoiding premature transitions to alarm
/// state, percentile-based alarms and low data samples).
package enum AlarmEvaluator {
    /// Evaluates `range` (the evaluation range, oldest first, one entry per period) for `alarm`.
    ///
    /// - Every real datapoint in the range counts; when there are at least EvaluationPeriods of them,
    ///   the most recent EvaluationPeriods decide and TreatMissingData is not used.
    /// - With fewer, the missing ones are filled as few times as possible (EvaluationPeriods minus the
    ///   real ones) as TreatMissingData says. `missing` and `ignore` fill nothing: the real points decide
    ///   when they can (M breaching: ALARM; one not breaching: OK); otherwise `missing` goes to ALARM when
    ///   the oldest breaching point is at least DatapointsToAlarm periods old (every newer one breaching or
    ///   missing), and to INSUFFICIENT_DATA if not; `ignore` keeps the state.
    /// - No real datapoint at all: missing → INSUFFICIENT_DATA, ignore → unchanged, breaching → ALARM,
    ///   notBreaching → OK.
    package static func evaluate(_ alarm: AlarmDefinition, range: [PeriodDatapoint]) -> AlarmEvaluation {
        let n = alarm.evaluationPeriods
        let m = alarm.datapointsToAlarm
        let treat = alarm.effectiveTreatMissingData
        struct Real {
            var age: Int
            var point: PeriodDatapoint
            var value: Double
            var breaching: Bool
        }
        var real: [Real] = []
        for (i, p) in range.enumerated() {
            guard let v = p.value else { continue }
            real.append(
                Real(age: range.count - i, point: p, value: v, breaching: alarm.comparison.breaches(v, alarm.threshold))
            )
        }
        let used = Array(real.suffix(n))
        if !alarm.evaluateLowSampleCountPercentile, used.contains(where: { $0.point.lowSample }) {
            return AlarmEvaluation(
                state: nil,
                reason:
                    "Unchanged: a datapoint had too few samples for \(alarm.statistic) and EvaluateLowSampleCountPercentile is ignore."
            )
        }
        let list = used.reversed().map { "\(format($0.value)) (\(stamp($0.point.start)))" }.joined(separator: ", ")
        let breachingCount = used.filter(\.breaching).count
        let thresholdText = "the threshold (\(format(alarm.threshold)))"
        let phrase = alarm.comparison.phrase

        if real.count >= n {
            let state: AlarmState = breachingCount >= m ? .alarm : .ok
            return AlarmEvaluation(
                state: state,
                reason: state == .alarm
                    ? "Threshold Crossed: \(breachingCount) out of the last \(n) datapoints [\(list)] \(breachingCount == 1 ? "was" : "were") \(phrase) \(thresholdText) (minimum \(m) \(plural(m, "datapoint")) for OK -> ALARM transition)."
                    : "Threshold Crossed: \(n - breachingCount) out of the last \(n) datapoints [\(list)] \(n - breachingCount == 1 ? "was" : "were") not \(phrase) \(thresholdText) (minimum \(n - m + 1) \(plural(n - m + 1, "datapoint")) for ALARM -> OK transition)."
            )
        }

        if real.isEmpty {
            switch treat {
            case .missing:
                return AlarmEvaluation(
                    state: .insufficientData,
                    reason: "Insufficient Data: \(range.count) \(plural(range.count, "datapoint")) were unknown.")
            case .ignore:
                return AlarmEvaluation(
                    state: nil,
                    reason:
                        "Unchanged: no datapoints were received for \(range.count) periods and missing data is ignored."
                )
            case .breaching:
                return AlarmEvaluation(
                    state: m <= n ? .alarm : .ok,
                    reason:
                        "Threshold Crossed: no datapoints were received for \(range.count) periods and \(n) missing \(plural(n, "datapoint")) were treated as [Breaching]."
                )
            case .notBreaching:
                return AlarmEvaluation(
                    state: .ok,
                    reason:
                        "Threshold Crossed: no datapoints were received for \(range.count) periods and \(n) missing \(plural(n, "datapoint")) were treated as [NonBreaching]."
                )
            }
        }

        let fill = n - real.count
        switch treat {
        case .breaching, .notBreaching:
            let filledBreaching = treat == .breaching ? fill : 0
            let total = breachingCount + filledBreaching
            let state: AlarmState = total >= m ? .alarm : .ok
            let how = treat == .breaching ? "Breaching" : "NonBreaching"
            return AlarmEvaluation(
                state: state,
                reason:
                    "Threshold Crossed: \(real.count) \(plural(real.count, "datapoint")) [\(list)] and \(fill) missing \(plural(fill, "datapoint")) treated as [\(how)]: \(total) of \(n) breaching, \(m) needed for ALARM."
            )
        case .missing, .ignore:
            if breachingCount >= m {
                return AlarmEvaluation(
                    state: .alarm,
                    reason:
                        "Threshold Crossed: \(breachingCount) out of the \(real.count) datapoints received [\(list)] \(breachingCount == 1 ? "was" : "were") \(phrase) \(thresholdText) (minimum \(m) \(plural(m, "datapoint")) for OK -> ALARM transition)."
                )
            }
            if used.contains(where: { !$0.breaching }) {
                return AlarmEvaluation(
                    state: .ok,
                    reason:
                        "Threshold Crossed: \(breachingCount) out of the \(real.count) datapoints received [\(list)] \(breachingCount == 1 ? "was" : "were") \(phrase) \(thresholdText); \(m) needed for ALARM and \(fill) \(plural(fill, "period")) had no data."
                )
            }
            // Every real datapoint breaches, but there are fewer than M of them.
            if treat == .missing, let oldest = used.first, oldest.age >= m {
                return AlarmEvaluation(
                    state: .alarm,
                    reason:
                        "Threshold Crossed: the oldest breaching datapoint [\(list)] is \(oldest.age) periods old (at least DatapointsToAlarm, \(m)) and every newer period breached or had no data."
                )
            }
            if treat == .ignore {
                return AlarmEvaluation(
                    state: nil,
                    reason:
                        "Unchanged: \(real.count) breaching \(plural(real.count, "datapoint")) [\(list)] of \(m) needed and missing data is ignored."
                )
            }
            return AlarmEvaluation(
                state: .insufficientData,
                reason:
                    "Insufficient Data: \(real.count) breaching \(plural(real.count, "datapoint")) [\(list)] of \(m) needed and \(fill) \(plural(fill, "datapoint")) unknown."
            )
        }
    }

    static func plural(_ n: Int, _ word: String) -> String { n == 1 ? word : word + "s" }

    static func format(_ v: Double) -> String {
        if v == v.rounded(), abs(v) < 1e15 { return "\(Int64(v)).0" }
        return "\(v)"
    }

    /// `dd/MM/yy HH:mm:ss` in UTC, as AWS's StateReason prints timestamps.
    static func stamp(_ t: Double) -> String {
        let civil = Civil(seconds: Int64(t.rounded(.down)))
        func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return
            "\(two(civil.day))/\(two(civil.month))/\(two(civil.year % 100)) \(two(civil.hour)):\(two(civil.minute)):\(two(civil.second))"
    }
}

/// A UTC calendar date and time from seconds since the epoch (the date from WhatIfCore's UTCDate).
struct Civil {
    var year, month, day, hour, minute, second: Int
    init(seconds: Int64) {
        let days = Int(seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400)
        let rem = Int(seconds - Int64(days) * 86400)
        hour = rem / 3600
        minute = rem % 3600 / 60
        second = rem % 60
        let date = UTCDate(days: days)
        year = date.year
        month = date.month
        day = date.day
    }
}
