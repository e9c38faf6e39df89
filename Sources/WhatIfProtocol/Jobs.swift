#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

public enum JobState: String, Codable, Sendable, CaseIterable {
    case queued, running, succeeded, failed, cancelled
    /// The agent stopped (or died) while the job ran, and the job could not resume.
    case interrupted

    public var isFinal: Bool {
        switch self {
        case .queued, .running: false
        case .succeeded, .failed, .cancelled, .interrupted: true
        }
    }
}

public struct JobProgress: Codable, Sendable, Equatable {
    public var done: Double
    public var total: Double?
    /// What `done` and `total` count: "bytes", "items", "keys", "rows", "steps".
    public var unit: String
    /// Units per second over the recent past.
    public var rate: Double?
    public var etaSeconds: Double?
    /// What the job is doing now, in a few words.
    public var phase: String?

    public init(
        done: Double, total: Double? = nil, unit: String, rate: Double? = nil, etaSeconds: Double? = nil,
        phase: String? = nil
    ) {
        self.done = done
        self.total = total
        self.unit = unit
        self.rate = rate
        self.etaSeconds = etaSeconds
        self.phase = phase
    }

    public var fraction: Double? {
        guard let total, total > 0 else { return nil }
        return min(1, max(0, done / total))
    }
}

public struct JobInfo: Codable, Sendable {
    public var id: String
    public var kind: String
    /// The resource the job locks (`postgres`, `dynamodb:<table>`, `redis`): one job per resource at a time.
    public var resource: String
    public var state: JobState
    public var createdAt: Date
    public var startedAt: Date?
    public var endedAt: Date?
    public var requestedBy: String?
    public var params: JSONValue?
    public var progress: JobProgress?
    public var result: JSONValue?
    public var error: APIError?

    public init(
        id: String, kind: String, resource: String, state: JobState, createdAt: Date, startedAt: Date? = nil,
        endedAt: Date? = nil, requestedBy: String? = nil, params: JSONValue? = nil, progress: JobProgress? = nil,
        result: JSONValue? = nil, error: APIError? = nil
    ) {
        self.id = id
        self.kind = kind
        self.resource = resource
        self.state = state
        self.createdAt = createdAt
        self.startedAt = startedAt
        self.endedAt = endedAt
        self.requestedBy = requestedBy
        self.params = params
        self.progress = progress
        self.result = result
        self.error = error
    }
}

public struct JobList: Codable, Sendable {
    public var jobs: [JobInfo]
    public init(jobs: [JobInfo]) { self.jobs = jobs }
}

/// `POST /v1/jobs`.
public struct StartJobRequest: Codable, Sendable {
    public var kind: String
    public var params: JSONValue?
    public init(kind: String, params: JSONValue? = nil) {
        self.kind = kind
        self.params = params
    }
}

public struct JobKindInfo: Codable, Sendable, Equatable {
    public var kind: String
    public var summary: String
    public init(kind: String, summary: String) {
        self.kind = kind
        self.summary = summary
    }
}

public struct JobKindList: Codable, Sendable {
    public var kinds: [JobKindInfo]
    public init(kinds: [JobKindInfo]) { self.kinds = kinds }
}

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
    public var time: Date
    public var type: JobEventType
    public var job: JobInfo?
    public var progress: JobProgress?
    public var level: String?
    public var message: String?

    public init(
        seq: Int, time: Date, type: JobEventType, job: JobInfo? = nil, progress: JobProgress? = nil,
        level: String? = nil, message: String? = nil
    ) {
        self.seq = seq
        self.time = time
        self.type = type
        self.job = job
        self.progress = progress
        self.level = level
        self.message = message
    }
}
