import Logging
import WhatIfCore
import WhatIfProtocol

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Runs jobs: one per resource at a time, independent of the client that started them, with progress
/// events for followers, cancellation, and a record of every job in the state directory.
package actor JobManager {
    struct Record {
        var info: JobInfo
        var logs: [JobEvent] = []
        var lastProgress: JobEvent?
        /// The first and the latest state events: a replay starts and (for a finished job) ends with them.
        var firstState: JobEvent?
        var lastState: JobEvent?
        var seq = 0
        var subscribers: [UUID: AsyncStream<JobEvent>.Continuation] = [:]
        var task: Task<Void, Never>?
        var context: JobContext?
        var rate = RateEstimator()
        var lastPersist = ContinuousClock.now
    }

    /// How many log lines a job keeps (older ones are dropped from memory and the record).
    static let maxLogLines = 2000
    /// How many finished jobs are kept.
    static let maxFinished = 500

    private var kinds: [String: JobKind] = [:]
    private var records: [String: Record] = [:]
    private var order: [String] = []
    private var locks: [String: String] = [:]
    private var accepting = true
    private let directory: String
    private let checkpointDirectory: String
    private let writer: JobRecordWriter
    /// Who waits for the last running job to end (shutdown).
    private var idleWaiters: [UUID: CheckedContinuation<Void, Never>] = [:]
    /// Who waits for a given job to end (a window waiting for its step).
    private var endWaiters: [String: [CheckedContinuation<JobInfo, Never>]] = [:]
    private let logger: Logger
    private var configProvider: @Sendable () -> AgentConfig
    private var onFinish: (@Sendable (JobInfo) -> Void)?

    /// Called with every job's final record (the alert hooks hear about job outcomes through it).
    package func setOnFinish(_ body: @escaping @Sendable (JobInfo) -> Void) { onFinish = body }

    private var audit: (@Sendable (AuditEntry) -> Void)?
    /// Told of every job's start, cancellation and end (the audit trail).
    package func setAudit(_ body: @escaping @Sendable (AuditEntry) -> Void) { audit = body }

    /// `execute` runs the record writer's work on a thread that may block (the agent's blocking pool;
    /// a thread of its own by default).
    package init(
        stateDirectory: String, logger: Logger, config: @escaping @Sendable () -> AgentConfig,
        execute: @escaping @Sendable (@escaping @Sendable () -> Void) -> Void = { Threads.start($0).detach() }
    ) {
        writer = JobRecordWriter(logger: logger, execute: execute)
        directory = "\(stateDirectory)/jobs"
        checkpointDirectory = "\(stateDirectory)/checkpoints"
        self.logger = logger
        configProvider = config
    }

    package func register(_ kind: JobKind) {
        kinds[kind.name] = kind
    }

    package func kindList() -> [JobKindInfo] {
        kinds.values.map { JobKindInfo(kind: $0.name, summary: $0.summary) }.sorted { $0.kind < $1.kind }
    }

    /// Loads the job history. Jobs that were queued or running when the agent stopped are marked interrupted.
    package func restore() throws {
        try Files.makeDirectories(directory)
        try Files.makeDirectories(checkpointDirectory)
        // What a killed agent left half-written (records and checkpoints are written through a
        // temporary file renamed into place): gone at the next start.
        for dir in [directory, checkpointDirectory] {
            for name in Files.list(dir) where name.contains(".tmp-") {
                unlink("\(dir)/\(name)")
                logger.notice("removed a half-written file", metadata: ["file": "\(dir)/\(name)"])
            }
        }
        var loaded: [JobInfo] = []
        for name in Files.list(directory) where name.hasSuffix(".json") {
            let path = "\(directory)/\(name)"
            guard let bytes = try? Files.read(path, limit: 16 << 20),
                var info = try? APICoding.decode(JobInfo.self, from: bytes)
            else {
                logger.warning("ignoring unreadable job record", metadata: ["file": "\(path)"])
                continue
            }
            if !info.state.isFinal {
                info.state = .interrupted
                info.endedAt = info.endedAt ?? Date()
                info.error = APIError(
                    .interrupted, "the agent stopped while this job ran",
                    hint: "start it again; jobs that checkpoint resume where they stopped")
                persist(info)
            }
            loaded.append(info)
        }
        loaded.sort { $0.createdAt < $1.createdAt }
        for info in loaded {
            records[info.id] = Record(info: info)
            order.append(info.id)
        }
        prune()
    }

    /// Starts a job of a kind named at run time (`POST /v1/jobs`): its parameters are decoded strictly,
    /// once, here.
    package func start(kind name: String, params: JSONValue?, requestedBy: String?) throws(APIError) -> JobInfo {
        let kind = try registered(name)
        return try start(kind, params: try kind.decode(params), requestedBy: requestedBy)
    }

    /// Starts a job of a declared kind with parameters already decoded.
    package func start<S: JobSpec>(_ spec: S.Type, _ params: S.Params, requestedBy: String?) throws(APIError)
        -> JobInfo
    {
        try start(try registered(S.name), params: params, requestedBy: requestedBy)
    }

    private func registered(_ name: String) throws(APIError) -> JobKind {
        guard let kind = kinds[name] else {
            throw APIError(
                .unprocessable, "unknown job kind '\(name)'",
                hint: kinds.isEmpty
                    ? "this agent runs no job kinds" : "known kinds: \(kinds.keys.sorted().joined(separator: ", "))")
        }
        return kind
    }

    private func start(_ kind: JobKind, params typed: any Sendable, requestedBy: String?) throws(APIError) -> JobInfo {
        guard accepting else {
            throw APIError(.shuttingDown, "the agent is shutting down", hint: "start the job after it restarts")
        }
        let name = kind.name
        let params = kind.encode(typed)
        let config = configProvider()
        let resources: [String]
        do { resources = try kind.resources(typed, config).map(\.description) } catch let e as APIError {
            throw e
        } catch {
            let (message, hint) = Self.describe(error)
            throw APIError(.unprocessable, "bad parameters for \(name): \(message)", hint: hint)
        }
        for resource in resources {
            if let holder = locks[resource], let r = records[holder], !r.info.state.isFinal {
                throw APIError(
                    .conflict, "\(resource) is busy: job \(holder) (\(r.info.kind)) is \(r.info.state.rawValue)",
                    hint:
                        "wait for it (`whatifctl jobs follow \(holder)`) or cancel it (`whatifctl jobs cancel \(holder)`)",
                    jobId: holder)
            }
        }
        let resource = resources.joined(separator: ", ")
        let id = Self.newID(kind: name)
        let info = JobInfo(
            id: id, kind: name, resource: resource, state: .running, createdAt: Date(), startedAt: Date(),
            requestedBy: requestedBy,
            params: params)
        var record = Record(info: info)
        let jobLogger = { () -> Logger in
            var l = logger
            l[metadataKey: "job_id"] = "\(id)"
            l[metadataKey: "job_kind"] = "\(name)"
            return l
        }()
        let checkpoint = "\(checkpointDirectory)/\(name)-\(Self.fileSafe(resource)).json"
        // Updates flow through one ordered stream per job, drained before the job's end is recorded.
        let (updates, updateSink) = AsyncStream<JobUpdate>.makeStream()
        let context = JobContext(
            id: id, kind: name, resource: resource, params: params, config: config, logger: jobLogger,
            checkpointPath: checkpoint
        ) { update in updateSink.yield(update) }
        record.context = context
        for r in resources { locks[r] = id }
        records[id] = record
        order.append(id)
        emit(id, JobEvent(seq: 0, time: Date(), type: .state, job: info))
        persist(info)
        logger.info("job started", metadata: ["job_id": "\(id)", "job_kind": "\(name)", "resource": "\(resource)"])
        audit?(
            AuditEntry(
                event: "job.started", user: requestedBy, params: params, jobId: id, kind: name, outcome: "running",
                message: resource.isEmpty ? nil : "holds \(resource)"))
        // Detached: the job belongs to the agent, not to the request that started it.
        records[id]?.task = Task.detached { [weak self] in
            let drain = Task { [weak self] in
                for await u in updates { await self?.apply(u, to: id) }
            }
            let outcome: Result<JSONValue?, any Error>
            do { outcome = .success(try await kind.run(context, typed)) } catch { outcome = .failure(error) }
            updateSink.finish()
            await drain.value
            await self?.finish(id, outcome)
        }
        prune()
        return info
    }

    private func apply(_ update: JobUpdate, to id: String) {
        guard var r = records[id], !r.info.state.isFinal else { return }
        switch update {
        case .progress(var p):
            r.rate.add(done: p.done)
            p.rate = r.rate.rate
            if let rate = p.rate, rate > 0, let total = p.total, total >= p.done {
                p.etaSeconds = (total - p.done) / rate
            }
            r.info.progress = p
            records[id] = r
            emit(id, JobEvent(seq: 0, time: Date(), type: .progress, progress: p))
            // Progress is persisted now and then, not on every update.
            if ContinuousClock.now - r.lastPersist > .seconds(5) {
                records[id]?.lastPersist = .now
                persist(r.info)
            }
        case .log(let level, let message):
            emit(id, JobEvent(seq: 0, time: Date(), type: .log, level: level.rawValue, message: message))
        }
    }

    private func finish(_ id: String, _ outcome: Result<JSONValue?, any Error>) {
        guard var r = records[id] else { return }
        let wasCancelled = r.context?.isCancelled ?? false
        switch outcome {
        case .success(let result):
            r.info.result = result
            r.info.state = wasCancelled && result == nil ? .cancelled : .succeeded
        case .failure(let error as APIError):
            r.info.state = wasCancelled ? .cancelled : .failed
            r.info.error = error
        case .failure(let error as JobFailed):
            r.info.state = wasCancelled ? .cancelled : .failed
            r.info.result = error.result.flatMap { try? JSONValue.encoding($0) }
            r.info.error = APIError(.failed, error.message, hint: error.hint)
        case .failure(let error) where error is CancellationError || wasCancelled:
            r.info.state = .cancelled
            r.info.error = APIError(.cancelled, "cancelled")
        case .failure(let error):
            r.info.state = .failed
            // An operator's error (a service down, a helper failed) is a failure; anything else is a bug.
            let (message, hint) = Self.describe(error)
            r.info.error = APIError(error is any OperatorError ? .failed : .internalError, message, hint: hint)
        }
        r.info.endedAt = Date()
        r.task = nil
        r.context = nil
        records[id] = r
        for (resource, holder) in locks where holder == id { locks[resource] = nil }
        logger.log(
            level: r.info.state == .succeeded ? .info : .warning, "job ended",
            metadata: [
                "job_id": "\(id)", "job_kind": "\(r.info.kind)", "state": "\(r.info.state.rawValue)",
                "error": "\(r.info.error?.message ?? "")",
            ])
        // Recorded before anyone hears of it: the API reports an end once its record is on disk.
        persist(r.info)
        emit(id, JobEvent(seq: 0, time: Date(), type: .state, job: r.info))
        onFinish?(r.info)
        audit?(
            AuditEntry(
                event: "job.finished", user: r.info.requestedBy, jobId: id, kind: r.info.kind,
                outcome: r.info.state.rawValue, message: r.info.error?.message))
        for c in endWaiters.removeValue(forKey: id) ?? [] { c.resume(returning: r.info) }
        if runningCount == 0 {
            for (_, c) in idleWaiters { c.resume() }
            idleWaiters = [:]
        }
        // End every follower's stream.
        for (_, c) in records[id]?.subscribers ?? [:] { c.finish() }
        records[id]?.subscribers = [:]
    }

    static func describe(_ error: any Error) -> (String, String?) {
        if let e = error as? any OperatorError { return (e.message, e.hint) }
        return ("\(error)", nil)
    }

    private func emit(_ id: String, _ event: JobEvent) {
        guard var r = records[id] else { return }
        r.seq += 1
        var e = event
        e.seq = r.seq
        switch e.type {
        case .log:
            r.logs.append(e)
            if r.logs.count > Self.maxLogLines { r.logs.removeFirst(r.logs.count - Self.maxLogLines) }
        case .progress:
            r.lastProgress = e
        case .state:
            if r.firstState == nil { r.firstState = e }
            r.lastState = e
        }
        records[id] = r
        for (_, c) in r.subscribers { c.yield(e) }
    }

    package func list() -> [JobInfo] { order.compactMap { records[$0]?.info }.reversed() }

    package func get(_ id: String) -> JobInfo? { records[id]?.info }

    /// How long the kept successful runs of `kind` with these parameters took, newest first (the
    /// maintenance windows estimate from them).
    package func durations(kind: String, params: JSONValue?) -> [Double] {
        order.reversed().compactMap { id -> Double? in
            guard let i = records[id]?.info, i.kind == kind, i.state == .succeeded, i.params == params,
                let s = i.startedAt, let e = i.endedAt
            else { return nil }
            return e.timeIntervalSince(s)
        }
    }

    package var runningCount: Int { records.values.filter { !$0.info.state.isFinal }.count }

    /// Which job holds each locked resource.
    package func heldResources() -> [String: String] { locks }

    /// Asks a running job to stop; `by` (a user, "maintenance window") goes in its log and the audit trail.
    package func cancel(_ id: String, by: String? = nil) throws(APIError) -> JobInfo {
        guard let r = records[id] else {
            throw APIError(.notFound, "no job \(id)", hint: "`whatifctl jobs list` shows the jobs")
        }
        guard !r.info.state.isFinal else { return r.info }
        r.context?.markCancelled()
        r.task?.cancel()
        let message = "cancellation requested" + (by.map { " by \($0)" } ?? "")
        emit(id, JobEvent(seq: 0, time: Date(), type: .log, level: "notice", message: message))
        logger.notice("\(message)", metadata: ["job_id": "\(id)", "job_kind": "\(r.info.kind)"])
        audit?(
            AuditEntry(event: "job.cancel-requested", user: by, jobId: id, kind: r.info.kind, outcome: "requested"))
        return r.info
    }

    /// The job's events so far, then (with `follow`) live ones until it ends.
    package func events(_ id: String, follow: Bool) throws(APIError) -> AsyncStream<JobEvent> {
        guard let r = records[id] else {
            throw APIError(.notFound, "no job \(id)", hint: "`whatifctl jobs list` shows the jobs")
        }
        let (stream, continuation) = AsyncStream<JobEvent>.makeStream(bufferingPolicy: .bufferingNewest(10_000))
        // Replay, in the order it happened (seq strictly increasing): the job's first state, its log
        // lines, its latest progress while it runs, and for a finished job its final state last. A job
        // read back from disk after a restart has no events: its record alone, as seq 1.
        var replay: [JobEvent] = []
        if let first = r.firstState { replay.append(first) }
        replay += r.logs
        if r.info.state.isFinal {
            if let last = r.lastState, last.job?.state.isFinal == true {
                replay.append(last)
            } else {
                // Read back from disk, or ended by a shutdown: no event says how it ended; its record does
                // (no event can follow a finished job, so this seq stays unique).
                replay.append(JobEvent(seq: r.seq + 1, time: Date(), type: .state, job: r.info))
            }
        } else if let p = r.lastProgress {
            replay.append(p)
        }
        var seen = -1
        for e in replay.sorted(by: { $0.seq < $1.seq }) where e.seq > seen {
            seen = e.seq
            continuation.yield(e)
        }
        if !follow || r.info.state.isFinal {
            continuation.finish()
            return stream
        }
        let token = UUID()
        records[id]?.subscribers[token] = continuation
        continuation.onTermination = { [weak self] _ in
            Task { await self?.unsubscribe(id, token) }
        }
        return stream
    }

    private func unsubscribe(_ id: String, _ token: UUID) {
        records[id]?.subscribers[token] = nil
    }

    /// The job's record once it has ended (at once if it has); nil for an unknown id. Jobs always end:
    /// cancelled ones checkpoint and stop, and shutdown records the rest as interrupted.
    package func ended(_ id: String) async -> JobInfo? {
        guard let r = records[id] else { return nil }
        if r.info.state.isFinal { return r.info }
        return await withCheckedContinuation { c in endWaiters[id, default: []].append(c) }
    }

    /// Returns when no job runs (at once if none does), or when the calling task is cancelled.
    func idle() async {
        let id = UUID()
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                if runningCount == 0 || Task.isCancelled { c.resume() } else { idleWaiters[id] = c }
            }
        } onCancel: {
            Task { await self.stopWaiting(id) }
        }
    }

    private func stopWaiting(_ id: UUID) { idleWaiters.removeValue(forKey: id)?.resume() }

    /// Stops taking jobs, asks running ones to stop (they checkpoint), and waits up to `grace` seconds.
    /// Jobs still running then are recorded as interrupted.
    package func shutdown(grace: Double) async {
        accepting = false
        let running = records.values.filter { !$0.info.state.isFinal }
        for r in running {
            r.context?.markCancelled()
            r.task?.cancel()
        }
        // Woken by the last job's end, or by the grace running out: no polling.
        if runningCount > 0 {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await self.idle() }
                group.addTask { try? await Task.sleep(for: .milliseconds(Int(grace * 1000))) }
                await group.next()
                group.cancelAll()
            }
        }
        for id in records.keys where !(records[id]!.info.state.isFinal) {
            records[id]!.info.state = .interrupted
            records[id]!.info.endedAt = Date()
            records[id]!.info.error = APIError(
                .interrupted, "the agent stopped before the job finished", hint: "start it again")
            persist(records[id]!.info)
            for (_, c) in records[id]!.subscribers { c.finish() }
            for c in endWaiters.removeValue(forKey: id) ?? [] { c.resume(returning: records[id]!.info) }
        }
        await writer.recorded()
    }

    /// Hands the record to the writer (in order; fsynced on the blocking pool, never on this actor).
    private func persist(_ info: JobInfo) {
        do {
            writer.write("\(directory)/\(info.id).json", try APICoding.encode(info, pretty: true))
        } catch {
            logger.error("cannot record job", metadata: ["job_id": "\(info.id)", "error": "\(error)"])
        }
    }

    /// Returns once every job record changed so far is on disk.
    package nonisolated func recorded() async { await writer.recorded() }

    private func prune() {
        let finished = order.filter { records[$0]?.info.state.isFinal ?? false }
        guard finished.count > Self.maxFinished else { return }
        for id in finished.prefix(finished.count - Self.maxFinished) {
            records[id] = nil
            writer.remove("\(directory)/\(id).json")
        }
        order.removeAll { records[$0] == nil }
    }

    static func newID(kind: String) -> String {
        let t = Timestamp.format(Date()).filter { $0.isNumber }.prefix(14)
        let suffix = String(UInt32.random(in: 0...0xFFFF), radix: 16)
        let k = kind.map { $0.isLetter || $0.isNumber ? $0 : "-" }
        return "\(t)-\(String(k))-\(String(repeating: "0", count: 4 - suffix.count))\(suffix)"
    }

    static func fileSafe(_ s: String) -> String {
        String(s.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." ? $0 : "_" })
    }
}

/// Units per second over the last few seconds of progress reports.
struct RateEstimator {
    private var samples: [(ContinuousClock.Instant, Double)] = []

    mutating func add(done: Double, at now: ContinuousClock.Instant = .now) {
        samples.append((now, done))
        while let first = samples.first, now - first.0 > .seconds(10), samples.count > 2 { samples.removeFirst() }
    }

    var rate: Double? {
        guard let first = samples.first, let last = samples.last, samples.count >= 2 else { return nil }
        let d = last.0 - first.0
        let seconds = Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
        guard seconds > 0.05 else { return nil }
        return max(0, (last.1 - first.1) / seconds)
    }
}

#if canImport(Glibc)
    import Glibc
#endif
