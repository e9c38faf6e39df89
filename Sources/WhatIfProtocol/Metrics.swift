#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// One point of a series, in JSON a pair `[seconds since the epoch, value]` (a day of a series is
/// thousands of points).
public struct MetricPoint: Codable, Sendable, Equatable {
    public var t: Date
    public var v: Double
    public init(t: Date, v: Double) {
        self.t = t
        self.v = v
    }

    public init(from decoder: any Decoder) throws {
        var c = try decoder.unkeyedContainer()
        t = Date(timeIntervalSince1970: try c.decode(Double.self))
        v = try c.decode(Double.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.unkeyedContainer()
        try c.encode(t.timeIntervalSince1970)
        try c.encode(v)
    }
}

public struct MetricSeriesData: Codable, Sendable, Equatable {
    public var namespace: String
    public var name: String
    public var dimensions: [String: String]
    public var unit: String
    /// The newest point (also when `points` was thinned out with max_points).
    public var last: MetricPoint?
    /// The lowest and highest value of every point in the span (thinned points are means, which would
    /// hide the extremes); nil when there is none.
    public var min: Double?
    public var max: Double?
    public var points: [MetricPoint]
    public init(
        namespace: String, name: String, dimensions: [String: String], unit: String, last: MetricPoint?,
        min: Double? = nil, max: Double? = nil, points: [MetricPoint]
    ) {
        self.namespace = namespace
        self.name = name
        self.dimensions = dimensions
        self.unit = unit
        self.last = last
        self.min = min
        self.max = max
        self.points = points
    }
}

/// How one collector fared at its last run.
public struct CollectorStatus: Codable, Sendable, Equatable {
    public var name: String
    public var up: Bool
    public var lastRun: Date?
    public var seconds: Double?
    public var samples: Int
    public var error: String?
    public var hint: String?
    public init(
        name: String, up: Bool, lastRun: Date?, seconds: Double?, samples: Int, error: String? = nil,
        hint: String? = nil
    ) {
        self.name = name
        self.up = up
        self.lastRun = lastRun
        self.seconds = seconds
        self.samples = samples
        self.error = error
        self.hint = hint
    }
}

/// `GET /v1/metrics`.
public struct MetricsReport: Codable, Sendable, Equatable {
    public var generatedAt: Date
    /// Seconds between collections.
    public var interval: Double
    /// Seconds of history kept.
    public var retention: Double
    public var collectors: [CollectorStatus]
    public var series: [MetricSeriesData]
    public init(
        generatedAt: Date, interval: Double, retention: Double, collectors: [CollectorStatus],
        series: [MetricSeriesData]
    ) {
        self.generatedAt = generatedAt
        self.interval = interval
        self.retention = retention
        self.collectors = collectors
        self.series = series
    }
}

/// One alarm as `GET /v1/alarms` shows it, with PutMetricAlarm's field names.
public struct AlarmInfo: Codable, Sendable, Equatable {
    public var alarmName: String
    public var alarmDescription: String?
    /// OK, ALARM or INSUFFICIENT_DATA.
    public var stateValue: String
    public var stateReason: String
    public var stateUpdatedTimestamp: Date
    public var lastEvaluated: Date?
    public var namespace: String
    public var metricName: String
    public var dimensions: [String: String]
    public var statistic: String
    public var period: Int
    public var evaluationPeriods: Int
    public var datapointsToAlarm: Int
    public var threshold: Double
    public var comparisonOperator: String
    public var treatMissingData: String

    public init(
        alarmName: String, alarmDescription: String?, stateValue: String, stateReason: String,
        stateUpdatedTimestamp: Date, lastEvaluated: Date?, namespace: String, metricName: String,
        dimensions: [String: String], statistic: String, period: Int, evaluationPeriods: Int, datapointsToAlarm: Int,
        threshold: Double, comparisonOperator: String, treatMissingData: String
    ) {
        self.alarmName = alarmName
        self.alarmDescription = alarmDescription
        self.stateValue = stateValue
        self.stateReason = stateReason
        self.stateUpdatedTimestamp = stateUpdatedTimestamp
        self.lastEvaluated = lastEvaluated
        self.namespace = namespace
        self.metricName = metricName
        self.dimensions = dimensions
        self.statistic = statistic
        self.period = period
        self.evaluationPeriods = evaluationPeriods
        self.datapointsToAlarm = datapointsToAlarm
        self.threshold = threshold
        self.comparisonOperator = comparisonOperator
        self.treatMissingData = treatMissingData
    }
}

public struct HookCounters: Codable, Sendable, Equatable {
    public var delivered: Int
    public var failed: Int
    public var dropped: Int
    public init(delivered: Int, failed: Int, dropped: Int) {
        self.delivered = delivered
        self.failed = failed
        self.dropped = dropped
    }
}

/// `GET /v1/alarms`.
public struct AlarmList: Codable, Sendable, Equatable {
    public var alarms: [AlarmInfo]
    public var hooks: HookCounters
    public init(alarms: [AlarmInfo], hooks: HookCounters) {
        self.alarms = alarms
        self.hooks = hooks
    }
}

public struct AlarmHistoryItem: Codable, Sendable, Equatable {
    public var time: Date
    public var from: String
    public var to: String
    public var reason: String
    /// The maintenance window(s) open at the change; `silenced` when the window kept it from the hooks.
    public var maintenanceWindow: String?
    public var silenced: Bool?
    public init(
        time: Date, from: String, to: String, reason: String, maintenanceWindow: String? = nil, silenced: Bool? = nil
    ) {
        self.time = time
        self.from = from
        self.to = to
        self.reason = reason
        self.maintenanceWindow = maintenanceWindow
        self.silenced = silenced
    }
}

/// `GET /v1/alarms/{name}/history`: state changes, newest first.
public struct AlarmHistory: Codable, Sendable, Equatable {
    public var alarmName: String
    public var items: [AlarmHistoryItem]
    public init(alarmName: String, items: [AlarmHistoryItem]) {
        self.alarmName = alarmName
        self.items = items
    }
}
