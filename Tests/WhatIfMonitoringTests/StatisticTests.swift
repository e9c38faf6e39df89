import Testing

@testable import WhatIfMonitoring

struct StatisticTests {
    @Test func parsesCloudWatchNames() {
        #expect(Statistic("Average") == .average)
        #expect(Statistic("SampleCount") == .sampleCount)
        #expect(Statistic("p99") == .percentile(99))
        #expect(Statistic("p99.9") == .percentile(99.9))
        #expect(Statistic("p0.05") == .percentile(0.05))
        #expect(Statistic("p100") == .percentile(100))
        for bad in ["average", "p", "p101", "p99.999", "p-1", "p9x", "p.5", "p5.", "Avg", ""] {
            #expect(Statistic(bad) == nil, "\(bad)")
        }
    }

    @Test func basicStatistics() {
        let v: [Double] = [4, 1, 3, 2]
        #expect(Statistic.sampleCount.compute(v) == 4)
        #expect(Statistic.sum.compute(v) == 10)
        #expect(Statistic.average.compute(v) == 2.5)
        #expect(Statistic.minimum.compute(v) == 1)
        #expect(Statistic.maximum.compute(v) == 4)
        #expect(Statistic.average.compute([Double]()) == nil)
    }

    /// Nearest rank: the answer is always one of the samples.
    @Test func percentilesOverFewSamples() {
        #expect(Statistic.percentile(50).compute([7.0]) == 7)
        #expect(Statistic.percentile(99).compute([7.0]) == 7)
        #expect(Statistic.percentile(0).compute([3.0, 1, 2]) == 1)
        #expect(Statistic.percentile(100).compute([3.0, 1, 2]) == 3)
        #expect(Statistic.percentile(50).compute([1.0, 2, 3, 4]) == 2)
        #expect(Statistic.percentile(51).compute([1.0, 2, 3, 4]) == 3)
        #expect(Statistic.percentile(75).compute([1.0, 2, 3, 4]) == 3)
        #expect(Statistic.percentile(90).compute([1.0, 2]) == 2)
        #expect(Statistic.percentile(99).compute(Array(1...100).map(Double.init)) == 99)
        #expect(Statistic.percentile(99.5).compute(Array(1...100).map(Double.init)) == 100)
    }

    /// CloudWatch's "low data samples" rule: 10/(1-p) for p >= 0.5, 10/p below.
    @Test func lowSampleRule() {
        #expect(Statistic.percentile(99).isLowSample(count: 999))
        #expect(!Statistic.percentile(99).isLowSample(count: 1000))
        #expect(Statistic.percentile(50).isLowSample(count: 19))
        #expect(!Statistic.percentile(50).isLowSample(count: 20))
        #expect(Statistic.percentile(10).isLowSample(count: 99))
        #expect(!Statistic.percentile(10).isLowSample(count: 100))
        #expect(!Statistic.average.isLowSample(count: 1))
    }

    /// A value exactly at the threshold breaches only for the "or equal" operators.
    @Test(arguments: AlarmDefinition.Comparison.allCases)
    func valueAtThreshold(_ op: AlarmDefinition.Comparison) {
        let atIs = op == .greaterThanOrEqualToThreshold || op == .lessThanOrEqualToThreshold
        #expect(op.breaches(5, 5) == atIs)
        let a = AlarmDefinition(
            name: "t", namespace: "N", metricName: "M", dimensions: [], statistic: .maximum, period: 60,
            evaluationPeriods: 1, threshold: 5, comparison: op)
        let r = AlarmEvaluator.evaluate(a, range: [PeriodDatapoint(start: 0, value: 5)])
        #expect(r.state == (atIs ? .alarm : .ok))
        #expect(op.breaches(5.000001, 5) == (op == .greaterThanThreshold || op == .greaterThanOrEqualToThreshold))
        #expect(op.breaches(4.999999, 5) == (op == .lessThanThreshold || op == .lessThanOrEqualToThreshold))
    }

    /// EvaluateLowSampleCountPercentile ignore keeps the state while a percentile has too few samples.
    @Test func lowSamplePercentileIgnored() {
        var a = AlarmDefinition(
            name: "t", namespace: "N", metricName: "M", dimensions: [], statistic: .percentile(99), period: 60,
            evaluationPeriods: 1, threshold: 5, comparison: .greaterThanThreshold)
        let range = [PeriodDatapoint(start: 0, value: 9, lowSample: true)]
        #expect(AlarmEvaluator.evaluate(a, range: range).state == .alarm)
        a.evaluateLowSampleCountPercentile = false
        #expect(AlarmEvaluator.evaluate(a, range: range).state == nil)
    }

    @Test func civilTime() {
        #expect(AlarmEvaluator.stamp(0) == "01/01/70 00:00:00")
        #expect(AlarmEvaluator.stamp(1_667_906_700) == "08/11/22 11:25:00")
        #expect(AlarmEvaluator.stamp(951_782_400) == "29/02/00 00:00:00")
    }
}
