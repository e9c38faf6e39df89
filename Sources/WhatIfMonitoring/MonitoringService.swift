import Logging
import WhatIfAWS
import WhatIfCore
import WhatIfProtocol

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
#if canImport(Glibc)
    import Glibc
#endif

package struct MonitoringSettings: Sendable, Equatable {
    /// Seconds between collections (60 by default; 10 for high resolution).
    package var interval: Double = 60
    /// Seconds of history kept (24 h by default).
    package var retention: Double = 86400
    /// Seconds between alarm evaluations (CloudWatch's minute).
    package var evaluationInterval: Double = 60
    /// node_exporter textfile-collector file, rewritten atomically each cycle.
    package var textfile: String?
    /// Publish the collected metrics to CloudWatch under this namespace (PutMetricData).
    package var publishNamespace: String?

    // memberwise-init: package
}

/// Alarm states and their history, kept in `<state>/metrics/alarms.json`.
struct AlarmRecord: Codable {
    var state: AlarmState
    var since: Date
    var reason: String
    var lastEvaluated: Date?
    var lastNotified: Date?
    /// The definition the state belongs to: a changed alarm starts over.
    var fingerprint: String
    var history: [AlarmHistoryItem]
    /// The state the hooks last heard of, while a maintenance window keeps changes from them.
    var silencedFrom: AlarmState?
    /// An operator's silence (`whatifctl alarms silence`): until when, by whom, why.
    var silence: AlarmNote?
    /// An operator's acknowledgement of the current ALARM (no reminders until the state changes).
    var acknowledged: AlarmNote?
}

/// Who silenced or acknowledged an alarm, when, why, and (a silence) until when.
package struct AlarmNote: Codable, Sendable, Equatable {
    package var by: String
    package var at: Date
    package var until: Date?
    package var comment: String?
}

/// Collects every cycle, keeps history, evaluates alarms every evaluation interval and tells the hooks.
/// Collection and evaluation run on one dedicated thread; hooks run on their own.
package final class MonitoringService: Sendable {
    struct Runtime {
        var settings: MonitoringSettings
        var collectors: [any Collector]
        var alarms: [AlarmDefinition]
        var hooks: HookDispatcher?
        var cloudwatch: (@Sendable () -> CloudWatch)?
        var host: String
        var environment: String
    }

    package let store: MetricStore
    let logger: Logger
    let alarmsPath: String?
    private let runtime: Locked<Runtime>
    private let records = Locked<[String: AlarmRecord]>([:])
    private let statuses = Locked<[String: CollectorStatus]>([:])
    private let lastEvaluation = Locked<Double>(0)
    private let running = Locked<Threads.Handle?>(nil)
    private let stopFlag = Locked(false)
    /// Serialises cycles (the loop, and `cycle` called by tests or the bench).
    private let cycleLock = Locked(())
    /// Maintenance windows open now, each with the alarms it silences (`*`: all).
    private let maintenance = Locked<[String: [String]]>([:])

    package init(
        settings: MonitoringSettings, stateDirectory: String?, logger: Logger, host: String, environment: String,
        now: Double = Date().timeIntervalSince1970
    ) throws(Failure) {
        self.logger = logger
        let dir = stateDirectory.map { "\($0)/metrics" }
        store = try MetricStore(retention: settings.retention, directory: dir, logger: logger, now: now)
        alarmsPath = dir.map { "\($0)/alarms.json" }
        runtime = Locked(
            Runtime(
                settings: settings, collectors: [], alarms: [], hooks: nil, cloudwatch: nil, host: host,
                environment: environment))
        if let alarmsPath, Files.exists(alarmsPath) {
            do {
                let bytes = try Files.read(alarmsPath, limit: 64 << 20)
                let d = JSONDecoder()
                d.dateDecodingStrategy = .iso8601
                records.set(try d.decode([String: AlarmRecord].self, from: Data(bytes)))
            } catch {
                logger.warning(
                    "cannot read the saved alarm states; alarms start from INSUFFICIENT_DATA",
                    metadata: ["file": "\(alarmsPath)", "error": "\(error)"])
            }
        }
    }

    /// Sets what is collected and evaluated (at start and on reload). Replaced hooks finish their queue.
    package func configure(
        settings: MonitoringSettings, collectors: [any Collector], alarms: [AlarmDefinition], hooks: HookDispatcher?,
        cloudwatch: (@Sendable () -> CloudWatch)?
    ) {
        let old = runtime.withLock { r -> HookDispatcher? in
            let old = r.hooks
            r.settings = settings
            r.collectors = collectors
            r.alarms = alarms
            r.hooks = hooks
            r.cloudwatch = cloudwatch
            return old
        }
        if let old, old !== hooks { Threads.start { old.shutdown() }.detach() }
        let names = Set(collectors.map(\.name))
        statuses.withLock { s in s = s.filter { names.contains($0.key) } }
        records.withLock { recs in
            // Alarms no longer in the config are forgotten.
            let names = Set(alarms.map(\.name))
            recs = recs.filter { names.contains($0.key) }
            for a in alarms {
                let fp = Self.fingerprint(a)
                if recs[a.name]?.fingerprint != fp {
                    let reason =
                        recs[a.name] == nil ? "Unchecked: Initial alarm creation" : "Unchecked: Alarm updated"
                    recs[a.name] = AlarmRecord(
                        state: .insufficientData, since: Date(), reason: reason, fingerprint: fp,
                        history: recs[a.name]?.history ?? [])
                }
            }
        }
        saveAlarms()
    }

    package var settings: MonitoringSettings { runtime.withLock { $0.settings } }
    package var hooks: HookDispatcher? { runtime.withLock { $0.hooks } }
    package var alarmDefinitions: [AlarmDefinition] { runtime.withLock { $0.alarms } }

    static func fingerprint(_ a: AlarmDefinition) -> String {
        "\(a.namespace)|\(a.metricName)|\(a.dimensions.map { "\($0.name)=\($0.value)" })|\(a.statistic)|\(a.period)|\(a.evaluationPeriods)|\(a.datapointsToAlarm)|\(a.threshold)|\(a.comparison.rawValue)|\(a.treatMissingData.rawValue)|\(a.evaluateLowSampleCountPercentile)"
    }

    // MARK: The loop

    /// Starts the collection thread: a cycle at every multiple of the interval.
    package func start(clock: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }) {
        stopFlag.set(false)
        let handle = Threads.start { [self] in
            while !stopFlag.value {
                let interval = settings.interval
                let now = clock()
                let next = ((now / interval).rounded(.down) + 1) * interval
                while !stopFlag.value, clock() < next { sleepThread(seconds: min(0.2, max(0.001, next - clock()))) }
                if stopFlag.value { break }
                cycle(now: clock())
            }
        }
        running.set(handle)
    }

    /// Stops the loop (after the cycle in progress) and closes the history and hooks, giving queued hook
    /// events up to `hookGrace` seconds.
    package func stop(hookGrace: Double = .infinity) {
        stopFlag.set(true)
        if let h = running.withLock({ h -> Threads.Handle? in
            defer { h = nil }
            return h
        }) {
            h.join()
        }
        hooks?.shutdown(grace: hookGrace)
        store.close()
    }

    /// One cycle: every collector (in parallel), the store, alarms when due, the textfile, publishing.
    package func cycle(now: Double) {
        cycleLock.withLock { _ in
            let r = runtime.withLock { $0 }
            let results = Locked<[(String, Result<[Sample], any Error>, Double)]>([])
            let collectors = r.collectors
            if !collectors.isEmpty {
                try? Threads.parallel(collectors.count) { i in
                    let watch = Stopwatch()
                    let outcome = Result { try collectors[i].collect(now: now) }
                    results.withLock { $0.append((collectors[i].name, outcome, watch.elapsedSeconds)) }
                }
            }
            var samples: [Sample] = []
            for (name, outcome, seconds) in results.value {
                let up: Bool
                switch outcome {
                case .success(let s):
                    samples += s
                    up = true
                    let was = statuses.withLock { $0[name] }
                    if let was, !was.up { logger.notice("collector recovered", metadata: ["collector": "\(name)"]) }
                    statuses.withLock {
                        $0[name] = CollectorStatus(
                            name: name, up: true, lastRun: Date(timeIntervalSince1970: now), seconds: seconds,
                            samples: s.count)
                    }
                case .failure(let e):
                    up = false
                    let (message, hint) = Self.describe(e)
                    let was = statuses.withLock { $0[name] }
                    if was?.up ?? true || was?.error != message {
                        logger.error(
                            "collector failed; the others go on",
                            metadata: ["collector": "\(name)", "error": "\(message)", "hint": "\(hint ?? "")"])
                    }
                    statuses.withLock {
                        $0[name] = CollectorStatus(
                            name: name, up: false, lastRun: Date(timeIntervalSince1970: now), seconds: seconds,
                            samples: 0, error: message, hint: hint)
                    }
                }
                samples.append(
                    Sample(
                        key: MetricKey(
                            namespace: "WhatIf/Agent", name: "CollectorUp", dimensions: [.init("Collector", name)],
                            unit: MetricUnit.count), value: up ? 1 : 0, time: now))
            }
            if let hooks = r.hooks {
                let s = hooks.stats
                let dims = [MetricKey.Dimension("Host", r.host)]
                for (n, v) in [("HooksDelivered", s.delivered), ("HooksFailed", s.failed), ("HooksDropped", s.dropped)]
                {
                    samples.append(
                        Sample(
                            key: MetricKey(
                                namespace: "WhatIf/Agent", name: n, dimensions: dims, unit: MetricUnit.count),
                            value: Double(v), time: now))
                }
            }
            store.append(samples, now: now)
            if now - lastEvaluation.value >= r.settings.evaluationInterval - 0.001 {
                lastEvaluation.set(now)
                evaluateAlarms(now: now)
            }
            if let path = r.settings.textfile {
                do throws(Failure) {
                    try Files.writeAtomically(path, Array(prometheusText().utf8), mode: 0o644)
                } catch {
                    logger.error(
                        "cannot write the textfile-collector file",
                        metadata: ["file": "\(path)", "error": "\(error.message)"])
                }
            }
            if let ns = r.settings.publishNamespace, let cw = r.cloudwatch {
                publish(samples.filter { !$0.key.namespace.hasPrefix("WhatIf/Agent") }, namespace: ns, cloudwatch: cw())
            }
        }
    }

    static func describe(_ e: any Error) -> (String, String?) {
        if let o = e as? any OperatorError { return (o.message, o.hint) }
        return ("\(e)", nil)
    }

    /// Sends samples to CloudWatch, 500 a request. CloudWatch refuses a whole request over one value it
    /// does not take (NaN, an infinity, beyond ±2^360), so those stay out, as they stay out of the history.
    package func publish(_ samples: [Sample], namespace: String, cloudwatch: CloudWatch) {
        let samples = samples.filter { $0.value.isFinite && abs($0.value) <= 0x1p360 }
        var i = 0
        while i < samples.count {
            let chunk = samples[i..<min(i + 500, samples.count)]
            let data = chunk.map {
                CloudWatch.Datum(
                    metricName: $0.key.name,
                    dimensions: $0.key.dimensions.map { CloudWatch.Dimension(name: $0.name, value: $0.value) },
                    value: $0.value, unit: $0.key.unit, timestamp: Date(timeIntervalSince1970: $0.time))
            }
            do {
                try cloudwatch.putMetricData(namespace: namespace, data: data)
            } catch {
                logger.error("cannot publish metrics to CloudWatch", metadata: ["error": "\(error)"])
                return
            }
            i += chunk.count
        }
    }

    // MARK: Alarms

    /// The evaluation range of `alarm` at `now`: complete periods only, oldest first.
    package func range(for alarm: AlarmDefinition, now: Double) -> [PeriodDatapoint] {
        let p = Double(alarm.period)
        let end = (now / p).rounded(.down) * p
        let n = alarm.evaluationRange
        let buckets = store.periodValues(
            namespace: alarm.namespace, name: alarm.metricName, dimensions: alarm.dimensions, period: p, count: n,
            end: end)
        return buckets.enumerated().map { i, values in
            PeriodDatapoint(
                start: end - p * Double(n - i), value: alarm.statistic.compute(values),
                lowSample: alarm.statistic.isLowSample(count: values.count))
        }
    }

    /// Evaluates every alarm; state changes are recorded and sent to the hooks.
    package func evaluateAlarms(now: Double) {
        let r = runtime.withLock { $0 }
        // Each change, and whether an open maintenance window keeps it from the hooks.
        var events: [(event: HookEvent, silenced: Bool)] = []
        var changed = false
        let nowDate = Date(timeIntervalSince1970: now)
        let windows = maintenance.value
        let annotation = windows.isEmpty ? nil : windows.keys.sorted().joined(separator: ", ")
        endExpiredSilences(now: now)
        for alarm in r.alarms {
            let result = AlarmEvaluator.evaluate(alarm, range: range(for: alarm, now: now))
            records.withLock { recs in
                guard var rec = recs[alarm.name] else { return }
                let silenced =
                    Self.isSilenced(alarm.name, windows) || (rec.silence?.until.map { $0 > nowDate } ?? false)
                rec.lastEvaluated = nowDate
                if let new = result.state, new != rec.state {
                    let previous = rec.state
                    rec.history.insert(
                        AlarmHistoryItem(
                            time: nowDate, from: previous.rawValue, to: new.rawValue, reason: result.reason,
                            maintenanceWindow: annotation, silenced: silenced ? true : nil),
                        at: 0)
                    if rec.history.count > 200 { rec.history.removeLast(rec.history.count - 200) }
                    rec.state = new
                    rec.since = nowDate
                    rec.reason = result.reason
                    rec.acknowledged = nil
                    changed = true
                    let e = event(
                        alarm, rec, previous: previous, isRepeat: false, r, nowDate, maintenanceWindow: annotation)
                    if silenced {
                        if rec.silencedFrom == nil { rec.silencedFrom = previous }
                    } else {
                        rec.lastNotified = nowDate
                    }
                    events.append((e, silenced))
                } else if rec.state == .alarm, !silenced, rec.acknowledged == nil,
                    let every = r.hooks?.settings.repeatInterval,
                    now - (rec.lastNotified ?? rec.since).timeIntervalSince1970 >= every
                {
                    rec.lastNotified = nowDate
                    changed = true
                    let e = event(
                        alarm, rec, previous: .alarm, isRepeat: true, r, nowDate, maintenanceWindow: annotation)
                    events.append((e, silenced: false))
                }
                recs[alarm.name] = rec
            }
        }
        for (e, silenced) in events {
            let a = e.alarm!
            logger.notice(
                silenced
                    ? "alarm state changed in a maintenance window that silences it; the hooks are not told"
                    : a.isRepeat ? "alarm still in ALARM" : "alarm state changed",
                metadata: [
                    "alarm": "\(a.name)", "from": "\(a.previousState.rawValue)", "to": "\(a.state.rawValue)",
                    "reason": "\(a.reason)", "window": "\(annotation ?? "")",
                ])
            if !silenced { r.hooks?.send(e) }
        }
        if changed { saveAlarms() }
    }

    /// Silences that ran out: the hooks hear of a state they missed, as when a window closes.
    func endExpiredSilences(now: Double) {
        let nowDate = Date(timeIntervalSince1970: now)
        let expired = records.value.filter { $0.value.silence?.until.map { $0 <= nowDate } ?? false }.map(\.key)
        for name in expired { _ = try? unsilence(name, by: "expiry", now: now) }
    }

    /// What an operator did to an alarm, or why not.
    package enum AlarmChange: Error, Equatable {
        case noSuchAlarm
        case notInAlarm(String)
    }

    /// `whatifctl alarms silence NAME --for 2h`: the hooks are not told of the alarm's changes until then
    /// (the history records them, marked silenced); when it ends, a state they missed is sent.
    package func silence(
        _ name: String, for seconds: Double, by: String, comment: String?, now: Double = Date().timeIntervalSince1970
    )
        throws(AlarmChange) -> AlarmInfo
    {
        let nowDate = Date(timeIntervalSince1970: now)
        try change(name) { rec in
            if rec.silencedFrom == nil { rec.silencedFrom = rec.state }
            rec.silence = AlarmNote(by: by, at: nowDate, until: nowDate.addingTimeInterval(seconds), comment: comment)
        }
        logger.notice(
            "alarm silenced",
            metadata: ["alarm": "\(name)", "by": "\(by)", "seconds": "\(Int(seconds))", "comment": "\(comment ?? "")"])
        return try info(name)
    }

    /// Ends a silence now (`whatifctl alarms unsilence`, or its time ran out): a state the hooks missed
    /// is sent.
    @discardableResult
    package func unsilence(_ name: String, by: String, now: Double = Date().timeIntervalSince1970) throws(AlarmChange)
        -> AlarmInfo
    {
        let r = runtime.withLock { $0 }
        let nowDate = Date(timeIntervalSince1970: now)
        guard let alarm = r.alarms.first(where: { $0.name == name }) else { throw .noSuchAlarm }
        var missed: HookEvent?
        let windows = maintenance.value
        try change(name) { rec in
            guard rec.silence != nil else { return }
            rec.silence = nil
            guard !Self.isSilenced(name, windows), let from = rec.silencedFrom else { return }
            rec.silencedFrom = nil
            if rec.state != from {
                var e = event(alarm, rec, previous: from, isRepeat: false, r, nowDate)
                e.alarm?.reason = "after a silence: " + rec.reason
                missed = e
                rec.lastNotified = nowDate
            }
        }
        logger.notice("alarm silence ended", metadata: ["alarm": "\(name)", "by": "\(by)"])
        if let missed { r.hooks?.send(missed) }
        return try info(name)
    }

    /// `whatifctl alarms ack NAME`: the ALARM is known; no reminders until the state changes.
    package func acknowledge(_ name: String, by: String, comment: String?, now: Double = Date().timeIntervalSince1970)
        throws(AlarmChange) -> AlarmInfo
    {
        try change(name) { rec throws(AlarmChange) in
            guard rec.state == .alarm else { throw .notInAlarm(rec.state.rawValue) }
            rec.acknowledged = AlarmNote(by: by, at: Date(timeIntervalSince1970: now), until: nil, comment: comment)
        }
        logger.notice(
            "alarm acknowledged", metadata: ["alarm": "\(name)", "by": "\(by)", "comment": "\(comment ?? "")"])
        return try info(name)
    }

    /// AWS's SetAlarmState: the alarm takes `state` with `reason` now (history, hooks, unless silenced);
    /// the next evaluation sets it to what the data say, as CloudWatch does.
    package func setState(
        _ name: String, _ state: AlarmState, reason: String, by: String, now: Double = Date().timeIntervalSince1970
    ) throws(AlarmChange) -> AlarmInfo {
        let r = runtime.withLock { $0 }
        guard let alarm = r.alarms.first(where: { $0.name == name }) else { throw .noSuchAlarm }
        let nowDate = Date(timeIntervalSince1970: now)
        let windows = maintenance.value
        var sent: (HookEvent, Bool)?
        try change(name) { rec in
            let silenced = Self.isSilenced(name, windows) || (rec.silence?.until.map { $0 > nowDate } ?? false)
            let previous = rec.state
            let why = "set by \(by): \(reason)"
            rec.history.insert(
                AlarmHistoryItem(
                    time: nowDate, from: previous.rawValue, to: state.rawValue, reason: why,
                    silenced: silenced ? true : nil), at: 0)
            if rec.history.count > 200 { rec.history.removeLast(rec.history.count - 200) }
            if previous != state {
                rec.since = nowDate
                rec.acknowledged = nil
            }
            rec.state = state
            rec.reason = why
            if silenced {
                if rec.silencedFrom == nil { rec.silencedFrom = previous }
            } else {
                rec.lastNotified = nowDate
            }
            sent = (event(alarm, rec, previous: previous, isRepeat: false, r, nowDate), silenced)
        }
        logger.notice(
            "alarm state set",
            metadata: ["alarm": "\(name)", "by": "\(by)", "state": "\(state.rawValue)", "reason": "\(reason)"])
        if let (e, silenced) = sent, !silenced { r.hooks?.send(e) }
        return try info(name)
    }

    private func change(_ name: String, _ body: (inout AlarmRecord) throws(AlarmChange) -> Void) throws(AlarmChange) {
        guard alarmDefinitions.contains(where: { $0.name == name }) else { throw .noSuchAlarm }
        try records.withLock { (recs: inout [String: AlarmRecord]) throws(AlarmChange) in
            guard var rec = recs[name] else { throw AlarmChange.noSuchAlarm }
            try body(&rec)
            recs[name] = rec
        }
        saveAlarms()
    }

    private func info(_ name: String) throws(AlarmChange) -> AlarmInfo {
        guard let i = alarmInfos().first(where: { $0.alarmName == name }) else { throw .noSuchAlarm }
        return i
    }

    /// Whether an open window silences `alarm`.
    static func isSilenced(_ alarm: String, _ windows: [String: [String]]) -> Bool {
        windows.values.contains { $0.contains(alarm) || $0.contains("*") }
    }

    /// A maintenance window opened: alarms that change state until it closes are annotated with its
    /// name, and those in `silence` (`*`: all) are kept from the hooks.
    package func beginMaintenance(window: String, silence: [String]) {
        maintenance.withLock { $0[window] = silence }
        logger.info("maintenance window open", metadata: ["window": "\(window)", "silenced": "\(silence)"])
    }

    /// The window closed. An alarm it silenced whose state differs from what the hooks last heard is
    /// sent now, so nothing that still matters is lost to the silence.
    package func endMaintenance(window: String, now: Double = Date().timeIntervalSince1970) {
        let windows = maintenance.withLock { m -> [String: [String]] in
            m[window] = nil
            return m
        }
        let r = runtime.withLock { $0 }
        let nowDate = Date(timeIntervalSince1970: now)
        var events: [HookEvent] = []
        records.withLock { recs in
            for alarm in r.alarms {
                guard var rec = recs[alarm.name], let from = rec.silencedFrom, !Self.isSilenced(alarm.name, windows)
                else { continue }
                rec.silencedFrom = nil
                if rec.state != from {
                    var e = event(alarm, rec, previous: from, isRepeat: false, r, nowDate, maintenanceWindow: window)
                    e.alarm?.reason = "after maintenance window \(window): " + rec.reason
                    events.append(e)
                    rec.lastNotified = nowDate
                }
                recs[alarm.name] = rec
            }
        }
        for e in events { r.hooks?.send(e) }
        saveAlarms()
        logger.info("maintenance window closed", metadata: ["window": "\(window)", "held_back": "\(events.count)"])
    }

    /// The windows open now and what they silence.
    package var openMaintenanceWindows: [String: [String]] { maintenance.value }

    private func event(
        _ a: AlarmDefinition, _ rec: AlarmRecord, previous: AlarmState, isRepeat: Bool, _ r: Runtime, _ now: Date,
        maintenanceWindow: String? = nil
    ) -> HookEvent {
        HookEvent(
            type: "alarm", time: now, host: r.host, environment: r.environment,
            alarm: HookEvent.Alarm(
                name: a.name, description: a.description, state: rec.state, previousState: previous,
                reason: rec.reason, namespace: a.namespace, metricName: a.metricName,
                dimensions: Dictionary(a.dimensions.map { ($0.name, $0.value) }, uniquingKeysWith: { x, _ in x }),
                threshold: a.threshold, comparisonOperator: a.comparison.rawValue, isRepeat: isRepeat,
                since: rec.since, maintenanceWindow: maintenanceWindow))
    }

    /// Sends a maintenance window's outcome to the hooks.
    package func windowEnded(_ window: HookEvent.Window, now: Date = Date()) {
        let r = runtime.withLock { $0 }
        r.hooks?.send(
            HookEvent(type: "maintenance", time: now, host: r.host, environment: r.environment, window: window))
    }

    /// Sends a job's outcome to the hooks.
    package func jobEnded(_ job: HookEvent.Job) {
        let r = runtime.withLock { $0 }
        r.hooks?.send(HookEvent(type: "job", time: Date(), host: r.host, environment: r.environment, job: job))
    }

    private func saveAlarms() {
        guard let alarmsPath else { return }
        let snapshot = records.value
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .prettyPrinted]
        e.dateEncodingStrategy = .iso8601
        do {
            try Files.writeAtomically(alarmsPath, Array(try e.encode(snapshot)), mode: 0o640)
        } catch {
            logger.error("cannot save alarm states", metadata: ["file": "\(alarmsPath)", "error": "\(error)"])
        }
    }

    // MARK: Reads for the admin API

    package var collectorStatuses: [CollectorStatus] { statuses.value.values.sorted { $0.name < $1.name } }

    package func alarmInfos() -> [AlarmInfo] {
        let defs = alarmDefinitions
        let recs = records.value
        return defs.map { a in
            let rec = recs[a.name]
            return AlarmInfo(
                alarmName: a.name, alarmDescription: a.description,
                stateValue: (rec?.state ?? .insufficientData).rawValue,
                stateReason: rec?.reason ?? "Unchecked: Initial alarm creation",
                stateUpdatedTimestamp: rec?.since ?? Date(), lastEvaluated: rec?.lastEvaluated,
                namespace: a.namespace, metricName: a.metricName,
                dimensions: Dictionary(a.dimensions.map { ($0.name, $0.value) }, uniquingKeysWith: { x, _ in x }),
                statistic: a.statistic.description, period: a.period, evaluationPeriods: a.evaluationPeriods,
                datapointsToAlarm: a.datapointsToAlarm, threshold: a.threshold,
                comparisonOperator: a.comparison.rawValue, treatMissingData: a.treatMissingData.rawValue,
                silence: rec?.silence.map {
                    AlarmNoteInfo(by: $0.by, at: $0.at, until: $0.until, comment: $0.comment)
                },
                acknowledged: rec?.acknowledged.map {
                    AlarmNoteInfo(by: $0.by, at: $0.at, until: $0.until, comment: $0.comment)
                })
        }
    }

    package func history(_ name: String) -> [AlarmHistoryItem]? {
        guard alarmDefinitions.contains(where: { $0.name == name }) else { return nil }
        return records.value[name]?.history ?? []
    }

    /// Series whose metric name (or `namespace/name`, or namespace) matches `name` (all when nil), since
    /// `since`; with `maxPoints`, each series is thinned to at most that many points (means of equal runs).
    package func report(name: String?, since: Double, now: Double, maxPoints: Int? = nil) -> MetricsReport {
        let keys = store.keys.filter { k in
            guard let name, !name.isEmpty else { return true }
            return k.name == name || "\(k.namespace)/\(k.name)" == name || k.namespace == name
        }.sorted { ($0.namespace, $0.name, "\($0.dimensions)") < ($1.namespace, $1.name, "\($1.dimensions)") }
        let series = keys.map { k -> MetricSeriesData in
            let raw = store.points(k, since: since)
            var points: [MetricPoint] = []
            if let maxPoints, maxPoints > 0, raw.count > maxPoints {
                points.reserveCapacity(maxPoints)
                for i in 0..<maxPoints {
                    let from = i * raw.count / maxPoints
                    let to = max(from + 1, (i + 1) * raw.count / maxPoints)
                    let slice = raw[from..<to]
                    points.append(
                        MetricPoint(
                            t: Date(timeIntervalSince1970: slice.first!.time),
                            v: slice.reduce(0) { $0 + $1.value } / Double(slice.count)))
                }
            } else {
                points = raw.map { MetricPoint(t: Date(timeIntervalSince1970: $0.time), v: $0.value) }
            }
            return MetricSeriesData(
                namespace: k.namespace, name: k.name,
                dimensions: Dictionary(k.dimensions.map { ($0.name, $0.value) }, uniquingKeysWith: { x, _ in x }),
                unit: k.unit, last: raw.last.map { MetricPoint(t: Date(timeIntervalSince1970: $0.time), v: $0.value) },
                min: raw.lazy.map(\.value).min(), max: raw.lazy.map(\.value).max(), points: points)
        }
        let s = settings
        return MetricsReport(
            generatedAt: Date(timeIntervalSince1970: now), interval: s.interval, retention: s.retention,
            collectors: collectorStatuses, series: series)
    }

    /// `report` as the admin API's JSON, written directly (a day of 200 series is 288,000 points, which
    /// JSONEncoder would turn into hundreds of megabytes of temporary objects).
    package static func encode(_ r: MetricsReport) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(4096 + r.series.reduce(0) { $0 + 200 + $1.points.count * 28 })
        func put(_ s: String) { out.append(contentsOf: s.utf8) }
        func quoted(_ s: String) { put(JSONString.quote(s)) }
        put("{\"collectors\":")
        out += (try? APICoding.encode(r.collectors)) ?? Array("[]".utf8)
        put(",\"generatedAt\":")
        quoted(Timestamp.format(r.generatedAt))
        put(",\"interval\":\(number(r.interval)),\"retention\":\(number(r.retention)),\"series\":[")
        for (i, s) in r.series.enumerated() {
            if i > 0 { put(",") }
            put("{\"dimensions\":{")
            for (j, k) in s.dimensions.keys.sorted().enumerated() {
                if j > 0 { put(",") }
                quoted(k)
                put(":")
                quoted(s.dimensions[k]!)
            }
            put("}")
            if let l = s.last { put(",\"last\":[\(number(l.t.timeIntervalSince1970)),\(number(l.v))]") }
            if let v = s.max { put(",\"max\":\(number(v))") }
            if let v = s.min { put(",\"min\":\(number(v))") }
            put(",\"name\":")
            quoted(s.name)
            put(",\"namespace\":")
            quoted(s.namespace)
            put(",\"points\":[")
            for (j, p) in s.points.enumerated() {
                if j > 0 { out.append(0x2c) }
                put("[\(number(p.t.timeIntervalSince1970)),\(number(p.v))]")
            }
            put("],\"unit\":")
            quoted(s.unit)
            put("}")
        }
        put("]}\n")
        return out
    }

    static func number(_ v: Double) -> String {
        guard v.isFinite else { return "null" }
        if v == v.rounded(), abs(v) < 1e15 { return String(Int64(v)) }
        return "\(v)"
    }

    /// Prometheus text exposition of every series's latest value and every alarm's state.
    package func prometheusText() -> String {
        PrometheusExposition.render(latest: store.latest(), totals: store.counterTotals(), alarms: alarmInfos())
    }
}
