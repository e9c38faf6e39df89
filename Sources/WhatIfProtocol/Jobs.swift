#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Where a job is in its life: `queued` → `running` → one of the final states.
public enum JobState: String, Codable, Sendable, CaseIterable {
    case queued, running, succeeded, failed, cancelled
    /// The agent stopped (or died) while the job ran, and the job could not resume.
    case interrupted

    /// True for the states a job never leaves (succeeded, failed, cancelled, interrupted).
    public var isFinal: Bool {
        switch self {
        case .queued, .running: false
        case .succeeded, .failed, .cancelled, .interrupted: true
        }
    }
}

/// How far a running job has come.
public struct JobProgress: Codable, Sendable, Equatable {
    /// Units done so far.
    public var done: Double
    /// Units in all, when known.
    public var total: Double?
    /// What `done` and `total` count: "bytes", "items", "keys", "rows", "steps".
    public var unit: String
    /// Units per second over the recent past.
    public var rate: Double?
    /// Seconds left at the current rate, when known.
    public var etaSeconds: Double?
    /// What the job is doing now, in a few words.
    public var phase: String?

    // memberwise-init: package

    /// `done / total` in 0...1, when the total is known.
    public var fraction: Double? {
        guard let total, total > 0 else { return nil }
        return min(1, max(0, done / total))
    }
}

/// A job's record, as kept on disk in the state directory and answered by `GET /v1/jobs/{id}`.
public struct JobInfo: Codable, Sendable {
    /// `<yyyymmddhhmmss>-<kind, dots as dashes>-<4 hex>`: unique on this host, sorts by creation.
    public var id: String
    /// The job kind (`backup`, `redis.expiry`, ...; `GET /v1/jobs/kinds` lists them).
    public var kind: String
    /// The resource the job locks (`postgres`, `dynamodb:<table>`, `redis`): one job per resource at a time.
    public var resource: String
    /// Where the job is in its life.
    public var state: JobState
    /// When it was accepted.
    public var createdAt: Date
    /// When it started running (after waiting for its resource).
    public var startedAt: Date?
    /// When it reached a final state.
    public var endedAt: Date?
    /// Who started it: a user name (or `uid N`), or what in the agent did (`schedule`, a window).
    public var requestedBy: String?
    /// Its parameters, as the kind's `Params` encode them.
    public var params: JSONValue?
    /// The last progress reported.
    public var progress: JobProgress?
    /// Its result once it ended, as the kind's `Result` encodes it (`JobSpec.decodeResult` reads it typed).
    public var result: JSONValue?
    /// Why it did not succeed.
    public var error: APIError?

    // memberwise-init: package
}

/// `GET /v1/jobs`: jobs, newest first.
public struct JobList: Codable, Sendable {
    /// The jobs.
    public var jobs: [JobInfo]
    package init(jobs: [JobInfo]) { self.jobs = jobs }
}

/// `POST /v1/jobs`.
public struct StartJobRequest: Codable, Sendable {
    /// The job kind's name.
    public var kind: String
    /// Its parameters (the kind's `Params`); absent for none.
    public var params: JSONValue?
    /// A request to start `kind` with `params`.
    public init(kind: String, params: JSONValue? = nil) {
        self.kind = kind
        self.params = params
    }
}

/// A job kind this agent runs.
public struct JobKindInfo: Codable, Sendable, Equatable {
    /// Its name, as `StartJobRequest.kind` takes it.
    public var kind: String
    /// What it does, in a line.
    public var summary: String
    // memberwise-init: package
}

/// `GET /v1/jobs/kinds`.
public struct JobKindList: Codable, Sendable {
    /// Every kind, by name.
    public var kinds: [JobKindInfo]
    package init(kinds: [JobKindInfo]) { self.kinds = kinds }
}

/// What a `JobEvent` reports.
public enum JobEventType: String, Codable, Sendable {
    /// The job's state changed; `job` holds the whole job.
    case state
    case progress
    case log
}

/// One line of `GET /v1/jobs/{id}/events` (NDJSON).
public struct JobEvent: Codable, Sendable {
    /// 1, 2, 3, ... per job.
    public var seq: Int
    /// When it happened.
    public var time: Date
    /// What it reports.
    public var type: JobEventType
    /// For `state`: the whole job.
    public var job: JobInfo?
    /// For `progress`: the progress.
    public var progress: JobProgress?
    /// For `log`: `debug`, `info`, `warning` or `error`.
    public var level: String?
    /// For `log`: the line.
    public var message: String?

    // memberwise-init: package
}
