#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// One point of a series, in JSON a pair `[seconds since the epoch, value]` (a day of a series is
/// thousands of points).
public struct MetricPoint: Codable, Sendable, Equatable {
    /// When the value was collected.
    public var t: Date
    /// The value, in the series' unit.
    public var v: Double
    package init(t: Date, v: Double) {
        self.t = t
        self.v = v
    }

    /// Reads a `[t, v]` pair.
    public init(from decoder: any Decoder) throws {
        var c = try decoder.unkeyedContainer()
        t = Date(timeIntervalSince1970: try c.decode(Double.self))
        v = try c.decode(Double.self)
    }

    /// Writes a `[t, v]` pair.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.unkeyedContainer()
        try c.encode(t.timeIntervalSince1970)
        try c.encode(v)
    }
}

/// One metric's history, named as CloudWatch names it.
public struct MetricSeriesData: Codable, Sendable, Equatable {
    /// `WhatIf/Host`, `AWS/RDS`, ... (CloudWatch's namespaces where AWS has one).
    public var namespace: String
    /// The metric's name (`CPUUtilization`, `DatabaseConnections`, ...).
    public var name: String
    /// CloudWatch dimensions (`DBInstanceIdentifier`, `TableName`, ...).
    public var dimensions: [String: String]
    /// CloudWatch's unit (`Percent`, `Bytes`, `Count`, `Seconds`, ...).
    public var unit: String
    /// The newest point (also when `points` was thinned out with max_points).
    public var last: MetricPoint?
    /// The lowest and highest value of every point in the span (thinned points are means, which would
    /// hide the extremes); nil when there is none.
    public var min: Double?
    /// See `min`.
    public var max: Double?
    /// The points in the span, oldest first (thinned to about `max_points` when asked).
    public var points: [MetricPoint]
    // memberwise-init: package
}

/// How one collector fared at its last run.
public struct CollectorStatus: Codable, Sendable, Equatable {
    /// The collector (`host`, `postgres`, `redis`, `dynamodb`, `cloudwatch`).
    public var name: String
    /// True when its last run succeeded.
    public var up: Bool
    /// When it last ran.
    public var lastRun: Date?
    /// How long its last run took.
    public var seconds: Double?
    /// Samples its last run produced.
    public var samples: Int
    /// Why its last run failed.
    public var error: String?
    /// How to fix it, when the agent knows.
    public var hint: String?
    // memberwise-init: package
}

/// `GET /v1/metrics`.
public struct MetricsReport: Codable, Sendable, Equatable {
    /// When the report was made.
    public var generatedAt: Date
    /// Seconds between collections.
    public var interval: Double
    /// Seconds of history kept.
    public var retention: Double
    /// Each collector's last run.
    public var collectors: [CollectorStatus]
    /// The series asked for.
    public var series: [MetricSeriesData]
    // memberwise-init: package
}

/// One alarm as `GET /v1/alarms` shows it, with PutMetricAlarm's field names.
public struct AlarmInfo: Codable, Sendable, Equatable {
    /// The alarm's name, from the config.
    public var alarmName: String
    /// Its description, from the config.
    public var alarmDescription: String?
    /// OK, ALARM or INSUFFICIENT_DATA.
    public var stateValue: String
    /// Why it is in that state, in CloudWatch's words (the datapoints that decided it).
    public var stateReason: String
    /// When the state last changed.
    public var stateUpdatedTimestamp: Date
    /// When it was last evaluated.
    public var lastEvaluated: Date?
    /// The metric's namespace.
    public var namespace: String
    /// The metric's name.
    public var metricName: String
    /// The metric's dimensions.
    public var dimensions: [String: String]
    /// `Average`, `Minimum`, `Maximum`, `Sum` or `SampleCount`.
    public var statistic: String
    /// Seconds per datapoint.
    public var period: Int
    /// Datapoints looked at.
    public var evaluationPeriods: Int
    /// Of those, how many must breach.
    public var datapointsToAlarm: Int
    /// The value compared with.
    public var threshold: Double
    /// `GreaterThanThreshold`, `LessThanOrEqualToThreshold`, ...
    public var comparisonOperator: String
    /// `missing`, `notBreaching`, `breaching` or `ignore`.
    public var treatMissingData: String
    /// An operator's silence, while it lasts: the hooks are not told of changes until `until`.
    public var silence: AlarmNoteInfo?
    /// An operator's acknowledgement of the current ALARM: no reminders until the state changes.
    public var acknowledged: AlarmNoteInfo?

    // memberwise-init: package
}

/// Who silenced or acknowledged an alarm, when, why, and (a silence) until when.
public struct AlarmNoteInfo: Codable, Sendable, Equatable {
    /// The caller (user name, or `uid N`).
    public var by: String
    /// When.
    public var at: Date
    /// A silence's end.
    public var until: Date?
    /// What the operator wrote.
    public var comment: String?
    // memberwise-init: package
}

/// `POST /v1/alarms/{name}/silence`: `for` a duration (`2h`, at most 30 days), with a comment.
public struct SilenceAlarmRequest: Codable, Sendable, Equatable {
    /// How long (`30m`, `2h`, `1d`).
    public var `for`: String
    /// Why, for the next person (shown by `whatifctl alarms`).
    public var comment: String?
    /// A silence of `for` with `comment`.
    public init(for duration: String, comment: String? = nil) {
        self.for = duration
        self.comment = comment
    }
}

/// `POST /v1/alarms/{name}/ack`: an acknowledgement of the current ALARM.
public struct AcknowledgeAlarmRequest: Codable, Sendable, Equatable {
    /// Why, or what is being done.
    public var comment: String?
    /// An acknowledgement with `comment`.
    public init(comment: String? = nil) { self.comment = comment }
}

/// `POST /v1/alarms/{name}/state`: AWS SetAlarmState's `StateValue` and `StateReason`.
public struct SetAlarmStateRequest: Codable, Sendable, Equatable {
    /// `OK`, `ALARM` or `INSUFFICIENT_DATA`.
    public var stateValue: String
    /// Why (at most 1023 characters, as AWS).
    public var stateReason: String
    /// Sets `stateValue` with `stateReason`.
    public init(stateValue: String, stateReason: String) {
        self.stateValue = stateValue
        self.stateReason = stateReason
    }
}

/// `POST /v1/receivers/{name}/test`: what a test alert to one receiver (a configured webhook) did.
public struct ReceiverTestResult: Codable, Sendable, Equatable {
    /// The receiver's name (`hooks.webhooks[].name`).
    public var receiver: String
    /// `alertmanager-webhook`, `slack`, `pagerduty` or `alertmanager`.
    public var format: String
    /// Where it was sent (credentials removed).
    public var url: String
    /// True when the receiver answered 2xx (for PagerDuty and Alertmanager, to the trigger and the
    /// resolve that follows it).
    public var delivered: Bool
    /// Attempts the trigger took.
    public var attempts: Int?
    /// The HTTP status of the last answer.
    public var status: Int?
    /// Why it was not delivered.
    public var error: String?

    // memberwise-init: package
}

/// What the alert hooks did since the agent started.
public struct HookCounters: Codable, Sendable, Equatable {
    /// Events a hook took (exit 0, or a 2xx answer).
    public var delivered: Int
    /// Events a hook failed on (after its retries).
    public var failed: Int
    /// Events dropped because a hook's queue was full.
    public var dropped: Int
    // memberwise-init: package
}

/// `GET /v1/alarms`.
public struct AlarmList: Codable, Sendable, Equatable {
    /// Every alarm.
    public var alarms: [AlarmInfo]
    /// The hooks' counters.
    public var hooks: HookCounters
    // memberwise-init: package
}

/// One state change of an alarm.
public struct AlarmHistoryItem: Codable, Sendable, Equatable {
    /// When it changed.
    public var time: Date
    /// The state before.
    public var from: String
    /// The state after.
    public var to: String
    /// Why, in CloudWatch's words.
    public var reason: String
    /// The maintenance window(s) open at the change; `silenced` when the window kept it from the hooks.
    public var maintenanceWindow: String?
    /// True when an open window kept the change from the hooks.
    public var silenced: Bool?
    // memberwise-init: package
}

/// `GET /v1/alarms/{name}/history`: state changes, newest first.
public struct AlarmHistory: Codable, Sendable, Equatable {
    /// The alarm's name.
    public var alarmName: String
    /// State changes, newest first.
    public var items: [AlarmHistoryItem]
    // memberwise-init: package
}
