import CLinuxShims
import Logging
import WhatIfCore
import WhatIfHTTP
import WhatIfJSON
import WhatIfProtocol
import WhatIfUnits

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
#if canImport(Glibc)
    import Glibc
#endif

/// What an alert hook is told: an alarm changed state (or is still in ALARM at the repeat interval),
/// or a job ended. Executables get it as JSON on stdin; webhooks get it as an Alertmanager alert.
package struct HookEvent: Sendable, Codable, Equatable {
    package struct Alarm: Sendable, Codable, Equatable {
        package var name: String
        package var description: String?
        package var state: AlarmState
        package var previousState: AlarmState
        package var reason: String
        package var namespace: String
        package var metricName: String
        package var dimensions: [String: String]
        package var threshold: Double
        package var comparisonOperator: String
        /// True when this is a reminder (still in ALARM after the repeat interval), not a change.
        package var isRepeat: Bool
        /// When the alarm entered its current state.
        package var since: Date
        /// The maintenance window(s) open when the alarm changed state (an annotation, not a silence).
        package var maintenanceWindow: String?
    }

    /// A maintenance window ran (or was missed): its outcome and what each job did.
    package struct Window: Sendable, Codable, Equatable {
        package var name: String
        /// succeeded, partial, failed, skipped or missed.
        package var outcome: String
        /// scheduled, catch-up or manual.
        package var trigger: String
        package var occurrence: Date
        /// One line per job: "backup: succeeded", "vacuum: skipped (estimated 2h, 40m left)".
        package var steps: [String]
        package var jobId: String?

        // memberwise-init: package
    }

    package struct Job: Sendable, Codable, Equatable {
        package var id: String
        package var kind: String
        package var state: String
        package var error: String?
        package var hint: String?
        package var startedAt: Date?
        package var endedAt: Date?
        // memberwise-init: package
    }

    /// "alarm", "job" or "maintenance".
    package var type: String
    package var time: Date
    package var host: String
    package var environment: String
    package var alarm: Alarm?
    package var job: Job?
    package var window: Window?

    // memberwise-init: package

    package var summary: String {
        if let a = alarm { return "alarm \(a.name) \(a.previousState.rawValue) -> \(a.state.rawValue)" }
        if let j = job { return "job \(j.id) (\(j.kind)) \(j.state)" }
        if let w = window { return "maintenance window \(w.name) \(w.outcome)" }
        return type
    }

    /// The `WHATIF_*` variables an executable hook gets.
    package var environmentVariables: [String: String] {
        var env = ["WHATIF_EVENT": type, "WHATIF_HOST": host, "WHATIF_ENVIRONMENT": environment]
        env["WHATIF_TIME"] = Date.ISO8601FormatStyle().format(time)
        if let a = alarm {
            env["WHATIF_ALARM_NAME"] = a.name
            env["WHATIF_ALARM_STATE"] = a.state.rawValue
            env["WHATIF_ALARM_PREVIOUS_STATE"] = a.previousState.rawValue
            env["WHATIF_ALARM_REASON"] = a.reason
            env["WHATIF_ALARM_REPEAT"] = a.isRepeat ? "1" : "0"
            env["WHATIF_METRIC"] = "\(a.namespace) \(a.metricName)"
            if let w = a.maintenanceWindow { env["WHATIF_MAINTENANCE_WINDOW"] = w }
        }
        if let w = window {
            env["WHATIF_WINDOW_NAME"] = w.name
            env["WHATIF_WINDOW_OUTCOME"] = w.outcome
            env["WHATIF_WINDOW_TRIGGER"] = w.trigger
        }
        if let j = job {
            env["WHATIF_JOB_ID"] = j.id
            env["WHATIF_JOB_KIND"] = j.kind
            env["WHATIF_JOB_STATE"] = j.state
            if let e = j.error { env["WHATIF_JOB_ERROR"] = e }
        }
        return env
    }

    package func json() -> [UInt8] {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        e.dateEncodingStrategy = .iso8601
        return ((try? Array(e.encode(self))) ?? []) + [10]
    }
}

/// Prometheus Alertmanager's webhook payload (version 4), so existing receivers work unchanged.
package enum AlertmanagerPayload {
    /// An event as one alert: its labels (the identity), annotations, whether it fires, and when it
    /// started and (resolved) ended. Every receiver format starts from this.
    package struct Alert {
        package var labels: [String: String]
        package var annotations: [String: String]
        package var firing: Bool
        package var startsAt: Date
        package var endsAt: Date?
    }

    package static func alert(_ event: HookEvent) -> Alert {
        var labels: [String: String] = ["host": event.host, "environment": event.environment, "source": "whatifd"]
        var annotations: [String: String] = [:]
        let firing: Bool
        var startsAt = event.time
        var endsAt: Date?
        if let a = event.alarm {
            labels["alertname"] = a.name
            labels["namespace"] = a.namespace
            labels["metric"] = a.metricName
            labels["state"] = a.state.rawValue
            for (k, v) in a.dimensions { labels[k] = v }
            annotations["summary"] = "\(a.name) is \(a.state.rawValue)"
            annotations["description"] = a.reason
            if let d = a.description { annotations["alarm_description"] = d }
            if let w = a.maintenanceWindow { annotations["maintenance_window"] = w }
            firing = a.state == .alarm
            startsAt = a.since
            if !firing { endsAt = event.time }
        } else if let j = event.job {
            labels["alertname"] = "WhatIfJobFailed"
            labels["job_kind"] = j.kind
            labels["job_id"] = j.id
            labels["state"] = j.state
            annotations["summary"] = "\(j.kind) job \(j.id) \(j.state)"
            if let e = j.error { annotations["description"] = e + (j.hint.map { " (\($0))" } ?? "") }
            firing = j.state != "succeeded"
            startsAt = j.startedAt ?? event.time
            if !firing { endsAt = j.endedAt ?? event.time }
        } else if let w = event.window {
            labels["alertname"] = "WhatIfMaintenanceWindow"
            labels["window"] = w.name
            labels["state"] = w.outcome
            annotations["summary"] = "maintenance window \(w.name) \(w.outcome) (\(w.trigger))"
            annotations["description"] = w.steps.joined(separator: "; ")
            firing = w.outcome != "succeeded"
            startsAt = w.occurrence
            if !firing { endsAt = event.time }
        } else {
            labels["alertname"] = event.type
            firing = false
        }
        return Alert(labels: labels, annotations: annotations, firing: firing, startsAt: startsAt, endsAt: endsAt)
    }

    package static func encode(_ event: HookEvent, receiver: String = "whatif") -> [UInt8] {
        let iso = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
        let a = alert(event)
        let (labels, annotations) = (a.labels, a.annotations)
        let status = a.firing ? "firing" : "resolved"
        let identity = labels.filter { $0.key != "state" }.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
            .joined(separator: ",")
        let fingerprint = String(fnv1a64(Array(identity.utf8)), radix: 16)
        func strings(_ d: [String: String]) -> JSONValue { .object(d.mapValues { .string($0) }) }
        let alert: JSONValue = [
            "status": .string(status), "labels": strings(labels), "annotations": strings(annotations),
            "startsAt": .string(iso.format(a.startsAt)),
            "endsAt": .string(a.endsAt.map { iso.format($0) } ?? "0001-01-01T00:00:00Z"), "generatorURL": "",
            "fingerprint": .string(String(repeating: "0", count: max(0, 16 - fingerprint.count)) + fingerprint),
        ]
        let alertname = labels["alertname"] ?? ""
        let payload: JSONValue = [
            "version": "4", "groupKey": .string("{}:{alertname=\"\(alertname)\"}"), "truncatedAlerts": 0,
            "status": .string(status), "receiver": .string(receiver), "groupLabels": ["alertname": .string(alertname)],
            "commonLabels": strings(labels), "commonAnnotations": strings(annotations), "externalURL": "",
            "alerts": [alert],
        ]
        return (try? APICoding.encode(payload)) ?? []
    }

    static func fnv1a64(_ bytes: [UInt8]) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in bytes {
            h ^= UInt64(b)
            h = h &* 0x100_0000_01b3
        }
        return h
    }
}

package struct HookSettings: Sendable, Equatable {
    package struct Webhook: Sendable, Equatable {
        /// What `whatifctl alarms test NAME` and the logs call it (`webhook-1`, … by default).
        package var name: String = ""
        /// What it receives (Alertmanager's webhook payload by default).
        package var format: ReceiverFormat = .alertmanagerWebhook
        /// PagerDuty's integration (routing) key, read from this file at each delivery.
        package var routingKeyFile: String?
        package var url: String
        /// Literal header values.
        package var headers: [String: String] = [:]
        /// Header values read from files at each delivery (tokens), trimmed.
        package var headerFiles: [String: String] = [:]
        package var maxAttempts: Int = 5
        package var timeout: Double = 10
        // memberwise-init: package
    }

    /// run-parts style: every executable whose name is made of A-Z a-z 0-9 _ - runs, in name order.
    package var directory: String?
    /// An executable hook is sent SIGTERM after this many seconds, SIGKILL 2 s later.
    package var timeout: Double = 30
    package var webhooks: [Webhook] = []
    /// While an alarm stays in ALARM, hooks hear about it again this often (nil: only on changes).
    package var repeatInterval: Double? = 4 * 3600
    /// First retry delay for webhooks (doubles, full jitter, capped at 60 s).
    package var retryBase: Double = 1

    // memberwise-init: package
}

/// Delivers hook events off the caller's thread: one worker runs the executables (in order, one event
/// at a time), one worker per webhook retries with backoff. A full queue drops the event and counts it;
/// nothing here ever blocks alarm evaluation.
package final class HookDispatcher: Sendable {
    package struct Counters: Sendable, Codable, Equatable {
        package var delivered = 0
        package var failed = 0
        package var dropped = 0
        package init() {}
    }

    package let settings: HookSettings
    let http: HTTPClient
    let logger: Logger
    let baseEnvironment: [String: String]
    let stateDirectory: String
    private let execQueue = BlockingQueue<HookEvent>(capacity: 1000)
    private let webhookQueues: [BlockingQueue<HookEvent>]
    private let counters = Locked(Counters())
    /// Serializes appends to the dead-letter file.
    private let deadLetters = Locked(0)
    private let workers = Locked<[Threads.Handle]>([])
    /// Reaches zero when every worker has delivered what it was given and ended.
    private let finished: CountdownLatch

    package init(
        settings: HookSettings, http: HTTPClient, logger: Logger, baseEnvironment: [String: String],
        stateDirectory: String
    ) {
        self.settings = settings
        self.http = http
        self.logger = logger
        self.baseEnvironment = baseEnvironment
        self.stateDirectory = stateDirectory
        webhookQueues = settings.webhooks.map { _ in BlockingQueue(capacity: 1000) }
        finished = CountdownLatch(1 + settings.webhooks.count)
        var handles: [Threads.Handle] = []
        handles.append(
            Threads.start { [self] in
                while let e = execQueue.take() { runExecutables(e) }
                finished.countDown()
            })
        for (i, hook) in settings.webhooks.enumerated() {
            let q = webhookQueues[i]
            handles.append(
                Threads.start { [self] in
                    while let e = q.take() { deliver(e, to: hook) }
                    finished.countDown()
                })
        }
        workers.set(handles)
    }

    package var stats: Counters { counters.value }

    /// Queues `event` for every hook and returns at once.
    package func send(_ event: HookEvent) {
        if settings.directory != nil, !execQueue.offer(event) {
            counters.withLock { $0.dropped += 1 }
            logger.error("hook queue full; event dropped", metadata: ["event": "\(event.summary)"])
        }
        for q in webhookQueues where !q.offer(event) {
            counters.withLock { $0.dropped += 1 }
            logger.error("webhook queue full; event dropped", metadata: ["event": "\(event.summary)"])
        }
    }

    /// Stops taking events and waits up to `grace` seconds for the queued ones to be delivered; hooks
    /// still running after that are left to finish on their own (the process is about to exit).
    package func shutdown(grace: Double = .infinity) {
        execQueue.close()
        for q in webhookQueues { q.close() }
        let handles = workers.withLock { w -> [Threads.Handle] in
            defer { w = [] }
            return w
        }
        if grace.isInfinite {
            for h in handles { h.join() }
            return
        }
        if !finished.wait(seconds: grace) {
            logger.warning(
                "stopping with alert hooks still running; their events may not be delivered",
                metadata: ["grace_seconds": "\(grace)"])
            for h in handles { h.detach() }
        } else {
            for h in handles { h.join() }
        }
    }

    /// The executables `directory` holds, run-parts style.
    package static func executables(in directory: String) -> [String] {
        Files.list(directory).filter { name in
            !name.isEmpty
                && name.utf8.allSatisfy { c in
                    (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c == 0x5f
                        || c == 0x2d
                }
        }.map { "\(directory)/\($0)" }.filter { path in
            var st = stat()
            return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG && access(path, X_OK) == 0
        }
    }

    func runExecutables(_ event: HookEvent) {
        guard let dir = settings.directory else { return }
        for path in Self.executables(in: dir) {
            let outcome = runOne(path, event)
            counters.withLock { c in
                if outcome { c.delivered += 1 } else { c.failed += 1 }
            }
        }
    }

    /// Runs one hook with the event on stdin; its output goes to the log. True when it exited 0 in time.
    func runOne(_ path: String, _ event: HookEvent) -> Bool {
        var env = ["PATH": baseEnvironment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"]
        for (k, v) in event.environmentVariables { env[k] = v }
        // stdin: the event in a pipe (small, written before the hook starts); output: an unlinked file,
        // so a hook's own children holding it open never block us.
        var fds: [Int32] = [0, 0]
        guard whatif_pipe_cloexec(&fds) == 0 else {
            logger.error("cannot run hook: no pipe", metadata: ["hook": "\(path)"])
            return false
        }
        let body = event.json()
        let wrote = body.count <= 60_000 ? body.withUnsafeBytes { write(fds[1], $0.baseAddress, $0.count) } : -1
        close(fds[1])
        let outPath = "\(stateDirectory)/.hook-output-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let outFD = open(outPath, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        if outFD >= 0 { unlink(outPath) }
        defer {
            close(fds[0])
            if outFD >= 0 { close(outFD) }
        }
        guard wrote == body.count else {
            logger.error("cannot pass the event to the hook", metadata: ["hook": "\(path)"])
            return false
        }
        let out: Subprocess.Output = outFD >= 0 ? .descriptor(outFD) : .null
        let proc: Subprocess
        do {
            proc = try Subprocess.start(
                path, arguments: [event.type], environment: env, stdin: .descriptor(fds[0]), stdout: out, stderr: out)
        } catch {
            logger.error(
                "hook failed to start",
                metadata: ["hook": "\(path)", "error": "\(error.message)", "event": "\(event.summary)"])
            return false
        }
        let watch = Stopwatch()
        var timedOut = false
        var termination = proc.tryWait()
        while termination == nil {
            if watch.elapsedSeconds > settings.timeout {
                timedOut = true
                proc.kill(SIGTERM)
                let grace = Stopwatch()
                while proc.tryWait() == nil, grace.elapsedSeconds < 2 { usleep(20_000) }
                proc.kill(SIGKILL)
                termination = proc.wait()
                break
            }
            usleep(10_000)
            termination = proc.tryWait()
        }
        var output = ""
        if outFD >= 0 {
            lseek(outFD, 0, SEEK_SET)
            var buf = [UInt8](repeating: 0, count: 65536)
            let n = buf.withUnsafeMutableBytes { read(outFD, $0.baseAddress, $0.count) }
            if n > 0 { output = String(decoding: buf[0..<n], as: UTF8.self) }
        }
        let ok = !timedOut && termination == .exited(0)
        var meta: Logger.Metadata = [
            "hook": "\(path)", "event": "\(event.summary)", "outcome": "\(termination!)",
            "seconds": "\(Int(watch.elapsedSeconds * 1000) / 1000)",
        ]
        if !output.isEmpty { meta["output"] = "\(output.trimmingWhitespace())" }
        if timedOut {
            logger.error("hook timed out after \(Units.duration(settings.timeout)) and was killed", metadata: meta)
        } else if ok {
            logger.info("hook ran", metadata: meta)
        } else {
            logger.error("hook failed", metadata: meta)
        }
        return ok
    }

    /// The outcome of one delivery: delivered (with the attempts it took), skipped (nothing to say for
    /// this receiver), or failed with the last error.
    package enum Delivery: Sendable, Equatable {
        case delivered(attempts: Int, status: Int)
        case skipped
        case failed(String)
    }

    func deliver(_ event: HookEvent, to hook: HookSettings.Webhook) {
        let outcome = deliverNow(event, to: hook)
        let meta: Logger.Metadata = [
            "receiver": "\(hook.name)", "url": "\(HTTPClient.redactedURL(hook.url))", "event": "\(event.summary)",
        ]
        switch outcome {
        case .delivered(let attempts, _):
            counters.withLock { $0.delivered += 1 }
            logger.info("webhook delivered", metadata: meta.merging(["attempts": "\(attempts)"]) { a, _ in a })
        case .skipped: break
        case .failed(let error):
            counters.withLock { $0.failed += 1 }
            logger.error("webhook not delivered", metadata: meta.merging(["error": "\(error)"]) { a, _ in a })
            deadLetter(event, hook, error)
        }
    }

    /// Sends `event` to `hook` now, with the receiver's retries (exponential backoff, full jitter; a 4xx
    /// other than 408 and 429 is not retried). Blocking.
    package func deliverNow(_ event: HookEvent, to hook: HookSettings.Webhook) -> Delivery {
        var headers: [(name: String, value: String)] = [("Content-Type", "application/json")]
        for (k, v) in hook.headers.sorted(by: { $0.key < $1.key }) { headers.append((k, v)) }
        for (k, file) in hook.headerFiles.sorted(by: { $0.key < $1.key }) {
            guard let bytes = try? Files.read(file, limit: 64 << 10) else {
                return .failed("cannot read the header file \(file) (header \(k)): make it readable by the agent")
            }
            headers.append((k, String(decoding: bytes, as: UTF8.self).trimmingWhitespace()))
        }
        var routingKey: String?
        if let file = hook.routingKeyFile {
            guard let bytes = try? Files.read(file, limit: 4096) else {
                return .failed("cannot read the routing key file \(file): make it readable by the agent")
            }
            routingKey = String(decoding: bytes, as: UTF8.self).trimmingWhitespace()
        }
        guard
            let (url, body) = ReceiverPayload.request(event, format: hook.format, url: hook.url, routingKey: routingKey)
        else { return .skipped }
        let backoff = Backoff(base: settings.retryBase, cap: 60, maxAttempts: hook.maxAttempts)
        var lastError = ""
        for attempt in 1...max(1, hook.maxAttempts) {
            do {
                let r = try http.send(
                    HTTPRequest(method: "POST", url: url, headers: headers, body: body, timeout: .total(hook.timeout)))
                if (200..<300).contains(r.status) { return .delivered(attempts: attempt, status: r.status) }
                let text = String(decoding: r.body.prefix(300), as: UTF8.self)
                lastError = "HTTP \(r.status)" + (text.isEmpty ? "" : ": \(text)")
                // 4xx other than 408/429 will not get better by retrying.
                if (400..<500).contains(r.status), r.status != 408, r.status != 429 { break }
            } catch {
                lastError = "\(error)"
            }
            if attempt < hook.maxAttempts { sleepThread(seconds: backoff.delay(retry: attempt - 1)) }
        }
        return .failed(lastError)
    }

    /// An event no retry could deliver, kept for a look or a replay: one JSON line in
    /// `<state>/hooks/dead-letter.ndjson` (0640) with the receiver, the error and the event.
    func deadLetter(_ event: HookEvent, _ hook: HookSettings.Webhook, _ error: String) {
        let dir = stateDirectory + "/hooks"
        let line: JSONValue = [
            "time": .string(Date.ISO8601FormatStyle().format(Date())), "receiver": .string(hook.name),
            "format": .string(hook.format.rawValue), "url": .string(HTTPClient.redactedURL(hook.url)),
            "error": .string(error),
            "event": (try? APICoding.decode(JSONValue.self, from: event.json())) ?? .string(event.summary),
        ]
        guard var bytes = try? APICoding.encode(line) else { return }
        bytes.append(10)
        deadLetters.withLock { _ in
            try? Files.makeDirectories(dir, mode: 0o750)
            let fd = open(dir + "/dead-letter.ndjson", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o640)
            guard fd >= 0 else { return }
            _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            fdatasync(fd)
            close(fd)
        }
    }

    /// `whatifctl alarms test NAME`: a test alert to one receiver, now (PagerDuty gets the trigger and
    /// then its resolve, so no incident stays open). Nil when there is no receiver of that name.
    package func test(receiver name: String, host: String, environment: String) -> (HookSettings.Webhook, Delivery)? {
        guard let hook = settings.webhooks.first(where: { $0.name == name }) else { return nil }
        let now = Date()
        var alarm = HookEvent.Alarm(
            name: "WhatIfTestAlert", description: "A test alert sent by whatifctl alarms test \(name)", state: .alarm,
            previousState: .ok, reason: "a test: nothing is wrong", namespace: "WhatIf/Agent", metricName: "TestAlert",
            dimensions: ["Receiver": name], threshold: 0, comparisonOperator: "GreaterThanThreshold", isRepeat: false,
            since: now, maintenanceWindow: nil)
        var outcome = deliverNow(
            HookEvent(type: "alarm", time: now, host: host, environment: environment, alarm: alarm), to: hook)
        if case .delivered = outcome, hook.format == .pagerduty || hook.format == .alertmanager {
            alarm.state = .ok
            alarm.previousState = .alarm
            let resolved = deliverNow(
                HookEvent(type: "alarm", time: Date(), host: host, environment: environment, alarm: alarm), to: hook)
            if case .failed(let e) = resolved {
                outcome = .failed("the test alert was sent but its resolve failed: \(e)")
            }
        }
        return (hook, outcome)
    }
}
