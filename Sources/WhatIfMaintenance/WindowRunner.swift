import Logging
import WhatIfCore
import WhatIfProtocol
import WhatIfUnits

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// What a window run needs from the agent that hosts it: its jobs (through the typed job contract), its
/// clock, the fleet's lease table, monitoring (annotating and silencing alarms) and the window's record
/// and hooks. The agent implements it in a few lines; tests can too.
package protocol WindowHost: Sendable {
    var clock: any MaintenanceClock { get }
    /// A lease client for the fleet's table, under this agent's owner name.
    func lease(_ fleet: MaintenanceConfig.Fleet) -> FleetLease
    /// How long past runs of this kind with these parameters took, newest first.
    func durations(kind: String, params: JSONValue?) async -> [Double]
    /// Starts a job of a declared kind.
    func start<S: JobSpec>(_ spec: S.Type, _ params: S.Params, requestedBy: String) async throws(APIError) -> JobInfo
    /// Starts a job of a kind named at run time (one the config let through but no kind may implement).
    func start(kind: String, requestedBy: String) async throws(APIError) -> JobInfo
    func job(_ id: String) async -> JobInfo?
    /// The job's record once it has ended (at once if it has); nil for an unknown id.
    func ended(_ id: String) async -> JobInfo?
    func cancelJob(_ id: String) async
    func beginMaintenance(window: String, silence: [String])
    func endMaintenance(window: String, now: Double)
    /// Each window's last handled occurrence and last run (kept by this module, held by the host so
    /// that they outlive a reload).
    var states: WindowStates { get }
    /// Tells the hooks a window's outcome (run, failed to run, or missed).
    func sendWindowHook(
        _ window: String, occurrence: Double, outcome: String, trigger: String, steps: [String], jobId: String?)
}

extension WindowHost {
    /// A window's outcome: recorded as its last run, and told to the hooks.
    func windowEnded(
        _ window: String, occurrence: Double, outcome: String, trigger: String, steps: [String], jobId: String?
    ) {
        states.record(
            window,
            WindowLastRun(
                occurrence: Date(timeIntervalSince1970: occurrence), outcome: outcome, trigger: trigger, jobId: jobId,
                at: Date()))
        sendWindowHook(window, occurrence: occurrence, outcome: outcome, trigger: trigger, steps: steps, jobId: jobId)
    }
}

/// Whether the window's fleet lease was lost, and the job running meanwhile: losing the lease cancels
/// that job, so the window stops as soon as another agent owns it.
final class LeaseGuard: Sendable {
    private let state = Locked<(lost: Bool, job: String?)>((false, nil))
    let host: any WindowHost

    init(host: any WindowHost) { self.host = host }

    var isLost: Bool { state.value.lost }

    func lose() {
        let job = state.withLock { s -> String? in
            s.lost = true
            return s.job
        }
        if let job { Task { [host] in await host.cancelJob(job) } }
    }

    func running(_ job: String?) { state.withLock { $0.job = job } }
}

/// The job a window runs as: progress, log, cancellation, and its id.
package protocol WindowJobContext: JobReporter {
    var id: String { get }
    func checkCancellation() throws
}

/// A window's job names as the jobs they run as.
package enum WindowSteps {
    /// A window's job name as the agent job it runs as.
    package static func step(_ job: String) -> WindowStep {
        switch job {
        case "backup": WindowStep(JobSpecs.Backup.self, StartBackupRequest(kinds: []))
        case _ where job.hasPrefix("backup:"):
            if let kind = BackupKind(rawValue: String(job.dropFirst(7))) {
                WindowStep(JobSpecs.Backup.self, StartBackupRequest(kinds: [kind]))
            } else {
                WindowStep(unknown: job)
            }
        case "prune": WindowStep(JobSpecs.BackupPrune.self, NoParams())
        case "verify": WindowStep(JobSpecs.BackupVerify.self, VerifyRequest(ids: []))
        case "restore-drill": WindowStep(JobSpecs.RestoreDrill.self, NoParams())
        case "redis-expiry": WindowStep(JobSpecs.RedisExpiry.self, StartExpiryRequest(enforce: false))
        case "redis-expiry:enforce": WindowStep(JobSpecs.RedisExpiry.self, StartExpiryRequest(enforce: true))
        case "vacuum": WindowStep(JobSpecs.Vacuum.self, NoParams())
        case "schema-check": WindowStep(JobSpecs.TablesSetup.self, TablesSetupRequest(checkOnly: true))
        default: WindowStep(unknown: job)
        }
    }
}

/// One job of a window, as the agent job it runs as.
package struct WindowStep: Sendable {
    package let kind: String
    /// As job records keep them: past runs with the same parameters make the estimate.
    package let params: JSONValue?
    let start: @Sendable (_ host: any WindowHost, _ requestedBy: String) async throws(APIError) -> JobInfo

    init<S: JobSpec>(_ spec: S.Type, _ params: S.Params) {
        kind = S.name
        self.params = try? JSONValue.encoding(params)
        start = { host, by throws(APIError) in try await host.start(S.self, params, requestedBy: by) }
    }

    /// A job name the config check let through but no kind implements: starting it says so.
    init(unknown job: String) {
        kind = job
        params = nil
        start = { host, by throws(APIError) in try await host.start(kind: job, requestedBy: by) }
    }
}

/// One run of a window: the fleet lease (when configured), the alarms annotated and silenced, each job
/// started only if its past runs say it finishes before the window closes, the outcome recorded and
/// sent to the hooks.
package struct WindowRun {
    let host: any WindowHost
    let ctx: any WindowJobContext
    let window: MaintenanceConfig.Window
    let fleet: MaintenanceConfig.Fleet?
    let params: WindowParams

    // memberwise-init: package

    /// Runs the window and returns what it did; `outcome` says whether it succeeded (the caller decides
    /// what a partial or failed window means for its job).
    package func run() async throws -> WindowRunResult {
        let clock = host.clock
        let now = clock.now
        let trigger = params.trigger ?? "manual"
        let length = Double(window.schedule.minutes) * 60
        let occurrence: Double
        let end: Double
        if let o = params.occurrence {
            occurrence = o
            // A missed window caught up later gets a whole window's length from now.
            end = trigger == "catch-up" ? now + length : o + length
        } else if let open = window.schedule.open(at: now) {
            (occurrence, end) = (open.start, open.end)
        } else {
            (occurrence, end) = (now, now + length)
        }
        ctx.info(
            "window \(window.name) (\(trigger)): \(window.jobs.joined(separator: ", ")); plan to end by \(Timestamp.format(Date(timeIntervalSince1970: end)))"
        )
        var result = WindowRunResult(
            window: window.name, trigger: trigger, occurrence: Date(timeIntervalSince1970: occurrence),
            endsAt: Date(timeIntervalSince1970: end), outcome: "skipped", steps: [])

        // The fleet: one agent runs the window; the others wait for the lease or for its end.
        var held: (lease: FleetLease, holding: FleetLease.Holding)?
        if let fleet {
            let l = host.lease(fleet)
            switch try await acquire(l, fleet: fleet, occurrence: occurrence, end: end) {
            case .run(let h):
                held = (l, h)
                result.leaseOwner = l.owner
                result.fence = h.fence
            case .skip(let note):
                result.note = note
                ctx.info(note)
                return try finish(result, held: nil)
            }
        }
        let lost = LeaseGuard(host: host)
        // The newest holding: each heartbeat writes a new version, and the release must name it (with
        // the one acquired, a window longer than a heartbeat left its lease to expire, unreleased and
        // not marked completed, and another agent ran the occurrence again).
        let current = Locked(held?.holding)
        let heartbeat = held.map { h in
            startHeartbeat(h.lease, h.holding, every: fleet?.heartbeatSeconds ?? 20, lost: lost, newest: current)
        }
        defer { heartbeat?.cancel() }
        do {
            // Alarms are annotated (and silenced) exactly while the jobs run; the window's own outcome
            // goes to the hooks after what the silence held back.
            host.beginMaintenance(window: window.name, silence: window.silenceAlarms)
            defer { host.endMaintenance(window: window.name, now: clock.now) }
            result.steps = try await runJobs(end: end, held: held, lost: lost)
        }
        // Stopped, and any heartbeat in flight finished, before the release reads the newest version.
        heartbeat?.cancel()
        await heartbeat?.value
        if let h = held, let newest = current.value { held = (h.lease, newest) }
        let ran = result.steps.filter { $0.state != "skipped" }
        let succeeded = ran.filter { $0.state == "succeeded" }
        result.outcome =
            succeeded.count == result.steps.count
            ? "succeeded" : ran.isEmpty ? "skipped" : succeeded.isEmpty ? "failed" : "partial"
        if lost.isLost { result.note = "the fleet lease was lost during the window" }
        return try finish(result, held: lost.isLost ? nil : held)
    }

    /// The window's jobs in order: each started only when nothing rules it out (cancelled, lease lost,
    /// a failed backup before a prune, an estimate past the window's end).
    func runJobs(end: Double, held: (lease: FleetLease, holding: FleetLease.Holding)?, lost: LeaseGuard)
        async throws -> [WindowStepResult]
    {
        var steps: [WindowStepResult] = []
        var backupFailed = false
        for (i, job) in window.jobs.enumerated() {
            ctx.progress(done: Double(i), total: Double(window.jobs.count), unit: "jobs", phase: job)
            let planned = WindowSteps.step(job)
            let estimate = WindowPlanning.estimate(await host.durations(kind: planned.kind, params: planned.params))
            var step = WindowStepResult(job: job, kind: planned.kind, state: "skipped", estimateSeconds: estimate)
            let t = host.clock.now
            if ctx.isCancelled {
                step.reason = "the window was cancelled"
            } else if lost.isLost {
                step.reason = "the fleet lease was lost to another agent; it runs the rest"
            } else if let held, (try? await Threads.run { try held.lease.stillHolds(held.holding) }) == false {
                // Fencing: checked against the table before each job, not only by the heartbeat.
                lost.lose()
                step.reason =
                    "the fleet lease (fence \(held.holding.fence)) is no longer this agent's; another agent runs the rest"
            } else if job == "prune" && backupFailed {
                step.reason = "a backup in this window did not succeed, so nothing is pruned"
            } else if params.ignoreEstimates != true, !WindowPlanning.fits(estimate: estimate, now: t, end: end) {
                let left = max(0, end - t)
                step.reason =
                    estimate.map {
                        "would not finish before the window closes: its last runs took up to \(Units.duration($0)), \(Units.duration(left)) left"
                    } ?? "the window has closed"
            } else {
                step = try await runStep(job, planned, estimate: estimate, lost: lost)
            }
            if step.state == "skipped" { ctx.log(.warning, "\(job): skipped: \(step.reason ?? "")") }
            if job.hasPrefix("backup"), step.state != "succeeded" { backupFailed = true }
            steps.append(step)
        }
        ctx.progress(done: Double(window.jobs.count), total: Double(window.jobs.count), unit: "jobs", phase: "done")
        return steps
    }

    enum Acquired {
        case run(FleetLease.Holding)
        case skip(String)
    }

    /// Takes the window's lease, waiting while another live agent holds it. An occurrence a holder
    /// already finished is not run again.
    func acquire(_ l: FleetLease, fleet: MaintenanceConfig.Fleet, occurrence: Double, end: Double) async throws
        -> Acquired
    {
        let name = "window:\(window.name)"
        try await Threads.run { try l.ensureTable() }
        var announced = ""
        let done = "another agent of the fleet already ran this occurrence of \(window.name)"
        while true {
            try ctx.checkCancellation()
            // Finished already: nothing to take (and the fence does not move).
            switch try await Threads.run({ try l.tryAcquire(name, unlessCompletedSince: occurrence) }) {
            case .completed:
                return .skip(done)
            case .acquired(let h):
                ctx.info("holding the fleet lease \(name) (fence \(h.fence))")
                return .run(h)
            case .heldBy(let owner, let wait):
                if announced != owner {
                    ctx.info(
                        "\(owner) holds the fleet lease \(name); waiting (taken over if it stops heartbeating for \(Units.duration(wait)))"
                    )
                    announced = owner
                }
            }
            if host.clock.now >= end {
                return .skip(
                    "\(announced) held the fleet lease \(name) until the window closed; the window was its to run")
            }
            try await Task.sleep(for: .milliseconds(Int(fleet.heartbeatSeconds * 1000)))
        }
    }

    func startHeartbeat(
        _ l: FleetLease, _ h: FleetLease.Holding, every: Double, lost: LeaseGuard,
        newest: Locked<FleetLease.Holding?>
    ) -> Task<Void, Never> {
        let ctx = self.ctx
        return Task.detached {
            var h = h
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(Int(every * 1000)))
                if Task.isCancelled { return }
                let current = h
                do {
                    let ok = try await Threads.run { () throws -> (Bool, FleetLease.Holding) in
                        var next = current
                        let ok = try l.heartbeat(&next)
                        return (ok, next)
                    }
                    if ok.0 {
                        h = ok.1
                        newest.set(ok.1)
                    } else {
                        lost.lose()
                        ctx.log(.error, "lost the fleet lease \(h.name) to another agent; no further jobs start here")
                        return
                    }
                } catch {
                    // A failed heartbeat is retried; the lease lasts several heartbeats.
                    ctx.log(.warning, "fleet lease heartbeat failed: \(Self.describe(error))")
                }
            }
        }
    }

    /// Starts one job and waits for it; cancelling the window, or losing its lease, cancels the job.
    func runStep(_ job: String, _ planned: WindowStep, estimate: Double?, lost: LeaseGuard) async throws
        -> WindowStepResult
    {
        let kind = planned.kind
        var step = WindowStepResult(job: job, kind: kind, state: "failed", estimateSeconds: estimate)
        let info: JobInfo
        do throws(APIError) {
            info = try await planned.start(host, "window \(window.name)")
        } catch {
            step.reason = error.message
            ctx.log(.error, "\(job): not started: \(error.message)")
            return step
        }
        step.jobId = info.id
        ctx.info("\(job): job \(info.id) (\(kind)) started")
        // Waits for the job's end, no polling: cancelling the window (its task) or losing the lease
        // (the heartbeat, or the fence check) cancels the job, which then ends.
        lost.running(info.id)
        defer { lost.running(nil) }
        if ctx.isCancelled || lost.isLost { await host.cancelJob(info.id) }
        let id = info.id
        let host = self.host
        let final =
            await withTaskCancellationHandler {
                await host.ended(id)
            } onCancel: {
                Task { await host.cancelJob(id) }
            } ?? info
        step.state = final.state.rawValue
        if let s = final.startedAt, let e = final.endedAt { step.seconds = e.timeIntervalSince(s) }
        step.reason = final.error?.message
        ctx.log(
            final.state == .succeeded ? .info : .error,
            "\(job): \(final.state.rawValue)\(final.error.map { ": \($0.message)" } ?? "")")
        return step
    }

    /// The window as the `maintenance.window` job: a window that could not run at all (the lease table
    /// unreachable, cancelled while waiting) reaches the hooks as a failed window, not only as a log line,
    /// and one whose jobs did not all succeed is the job's failure, its result kept.
    package func runJob() async throws -> WindowRunResult {
        let result: WindowRunResult
        do { result = try await run() } catch {
            reportUnrun(error)
            throw error
        }
        guard Self.succeeded(result) else {
            let bad = result.steps.filter { $0.state != "succeeded" }
            throw JobFailed(
                "window \(window.name) \(result.outcome): " + bad.map(\.summary).joined(separator: "; "),
                hint: "`whatifctl jobs show \(ctx.id)` has each job's id", result: result)
        }
        return result
    }

    /// A window that could not run at all: recorded and sent to the hooks as failed.
    func reportUnrun(_ error: any Error) {
        let cancelled = error is CancellationError || ctx.isCancelled
        let why = cancelled ? "cancelled" : (error as? any OperatorError)?.message ?? "\(error)"
        host.windowEnded(
            window.name, occurrence: params.occurrence ?? host.clock.now, outcome: "failed",
            trigger: params.trigger ?? "manual", steps: ["the window did not run: \(why)"], jobId: ctx.id)
    }

    func finish(_ result: WindowRunResult, held: (lease: FleetLease, holding: FleetLease.Holding)?) throws
        -> WindowRunResult
    {
        if let held {
            // Marked finished only when something ran: a window whose jobs were all skipped is left to
            // another agent.
            let done = result.outcome == "skipped" ? nil : result.occurrence.timeIntervalSince1970
            do {
                if try !held.lease.release(held.holding, completed: done) {
                    ctx.log(
                        .warning,
                        "the fleet lease \(held.holding.name) was no longer this agent's to release (fence \(held.holding.fence))"
                    )
                }
            } catch {
                ctx.log(.warning, "cannot release the fleet lease: \(Self.describe(error))")
            }
        }
        host.windowEnded(
            window.name, occurrence: result.occurrence.timeIntervalSince1970, outcome: result.outcome,
            trigger: result.trigger,
            steps: result.steps.map(\.summary) + (result.note.map { [$0] } ?? []), jobId: ctx.id)
        return result
    }

    /// Whether a window's result counts as success: every job succeeded, or another agent of the fleet
    /// ran (or holds) the occurrence.
    package static func succeeded(_ result: WindowRunResult) -> Bool {
        result.outcome == "succeeded" || (result.outcome == "skipped" && result.note != nil && result.steps.isEmpty)
    }

    static func describe(_ error: any Error) -> String { (error as? any OperatorError)?.message ?? "\(error)" }
}

/// Each window's last handled occurrence and last run, in `<state>/maintenance/<window>.json`. The
/// copy in memory is what the scheduler goes by, so a state folder that cannot be written (logged) never
/// makes it run a window twice while the agent lives.
package final class WindowStates: Sendable {
    package struct State: Codable, Equatable, Sendable {
        /// The newest occurrence (start) that was run, reported missed, or was current when the agent
        /// first saw the window.
        package var handled: Double
        package var lastRun: WindowLastRun?
    }

    let directory: String
    let logger: Logger
    private let cache = Locked<[String: State]>([:])

    package init(stateDirectory: String, logger: Logger) {
        directory = "\(stateDirectory)/maintenance"
        self.logger = logger
    }

    /// The window's state file.
    func path(_ window: String) -> String {
        let safe = String(window.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." ? $0 : "_" })
        return "\(directory)/\(safe).json"
    }

    /// From memory, else from the file (an unreadable file is logged and counts as never seen).
    private func fetch(_ window: String, _ c: inout [String: State]) -> State? {
        if let s = c[window] { return s }
        let p = path(window)
        guard Files.exists(p) else { return nil }
        do {
            let s = try APICoding.decode(State.self, from: try Files.read(p, limit: 1 << 20))
            c[window] = s
            return s
        } catch {
            logger.warning(
                "cannot read a maintenance window's state; treating the window as new",
                metadata: ["file": "\(p)", "error": "\(error)"])
            return nil
        }
    }

    package func load(_ window: String) -> State? {
        cache.withLock { fetch(window, &$0) }
    }

    func update(_ window: String, _ body: (inout State?) -> Void) {
        cache.withLock { c in
            let old = fetch(window, &c)
            var s = old
            body(&s)
            guard let s, s != old else { return }
            c[window] = s
            do {
                try Files.makeDirectories(directory)
                try Files.writeAtomically(path(window), try APICoding.encode(s), mode: 0o640)
            } catch {
                logger.error(
                    "cannot save a maintenance window's state; after a restart the window may count as missed",
                    metadata: ["file": "\(path(window))", "error": "\(error)"])
            }
        }
    }

    package func handle(_ window: String, occurrence: Double) {
        update(window) { s in s = State(handled: max(s?.handled ?? occurrence, occurrence), lastRun: s?.lastRun) }
    }

    package func record(_ window: String, _ run: WindowLastRun) {
        update(window) { s in s = State(handled: s?.handled ?? run.occurrence.timeIntervalSince1970, lastRun: run) }
    }
}

/// Opens windows (trigger: agent) when they start, and deals with the ones missed while the agent was
/// down as `catch_up` says: runs them, or reports them to the hooks. Time is the host's clock; the
/// windows come from `config` at each tick, so a reload takes effect.
package struct WindowScheduler: BackgroundService {
    package let name = "maintenance scheduler"
    let host: any WindowHost
    let logger: Logger
    let config: @Sendable () -> MaintenanceConfig?

    var states: WindowStates { host.states }

    // memberwise-init: package

    /// Ticks until cancelled: at each window's opening, and at least every five minutes (a reloaded
    /// config may have changed the windows).
    package func run() async {
        while !Task.isCancelled {
            let next = await tick()
            let until = min(next ?? .infinity, host.clock.now + 300)
            do { try await host.clock.sleep(until: until) } catch { return }
        }
    }

    /// One look at every window: start those open now and not yet run, catch up or report missed ones.
    /// Returns when the next window opens.
    @discardableResult
    package func tick() async -> Double? {
        guard let m = config() else { return nil }
        let now = host.clock.now
        var next: Double?
        for w in m.windows where w.trigger == .agent {
            let open = w.schedule.open(at: now)
            // First sight: nothing before now counts as missed; an open window still runs.
            let handled =
                states.load(w.name)?.handled
                ?? open.map { $0.start - 60 } ?? w.schedule.latestStart(atOrBefore: now) ?? now
            states.handle(w.name, occurrence: handled)
            if let open, open.start > handled {
                states.handle(w.name, occurrence: open.start)
                await startWindow(w, trigger: "scheduled", occurrence: open.start)
            } else if let missed = WindowPlanning.missed(w.schedule, handled: handled, now: now) {
                states.handle(w.name, occurrence: missed)
                let about: Logger.Metadata = [
                    "window": "\(w.name)", "occurrence": "\(Timestamp.format(Date(timeIntervalSince1970: missed)))",
                ]
                switch m.catchUp {
                case .run:
                    logger.notice(
                        "maintenance window missed while the agent was down; running it now (catch_up: run)",
                        metadata: about)
                    await startWindow(w, trigger: "catch-up", occurrence: missed)
                case .report:
                    logger.warning(
                        "maintenance window missed while the agent was down; not run (catch_up: report)",
                        metadata: about)
                    host.windowEnded(
                        w.name, occurrence: missed, outcome: "missed", trigger: "catch-up",
                        steps: [
                            "the agent was down when the window was open; run it with `whatifctl maintenance run \(w.name)`"
                        ], jobId: nil)
                }
            }
            if let n = w.schedule.nextStart(atOrAfter: now + 1) { next = min(next ?? n, n) }
        }
        return next
    }

    func startWindow(_ w: MaintenanceConfig.Window, trigger: String, occurrence: Double) async {
        let params = WindowParams(window: w.name, trigger: trigger, occurrence: occurrence)
        do throws(APIError) {
            _ = try await host.start(JobSpecs.MaintenanceWindow.self, params, requestedBy: "schedule")
        } catch {
            logger.warning(
                "maintenance window not started", metadata: ["window": "\(w.name)", "reason": "\(error.message)"])
        }
    }
}
