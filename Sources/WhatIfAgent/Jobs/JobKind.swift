import Logging
import WhatIfCore
import WhatIfProtocol

/// A kind of long work the agent runs as a job (backup, restore, migration, sweep, ...).
/// Capabilities register kinds; the admin API starts them by name.
public struct JobKind: Sendable {
    public var name: String
    public var summary: String
    /// The resources a job with these parameters locks (one job per resource at a time; a job that
    /// needs several takes all of them or none). Throws `APIError(.unprocessable, ...)` for parameters
    /// that make no sense.
    public var resources: @Sendable (_ params: JSONValue?, _ config: AgentConfig) throws -> [String]
    /// The work. Report progress and logs through the context; honour cancellation; return a result.
    public var run: @Sendable (_ context: JobContext) async throws -> JSONValue?

    public init(
        name: String, summary: String,
        resources: @escaping @Sendable (_ params: JSONValue?, _ config: AgentConfig) throws -> [String],
        run: @escaping @Sendable (_ context: JobContext) async throws -> JSONValue?
    ) {
        self.name = name
        self.summary = summary
        self.resources = resources
        self.run = run
    }

    public init(
        name: String, summary: String,
        resource: @escaping @Sendable (_ params: JSONValue?, _ config: AgentConfig) throws -> String,
        run: @escaping @Sendable (_ context: JobContext) async throws -> JSONValue?
    ) {
        self.init(name: name, summary: summary, resources: { [try resource($0, $1)] }, run: run)
    }
}

/// A job that failed but has a result worth keeping (a backup of two parts where one failed).
public struct JobFailed: OperatorError, Sendable {
    public var message: String
    public var hint: String?
    public var result: JSONValue?

    public init(_ message: String, hint: String? = nil, result: JSONValue? = nil) {
        self.message = message
        self.hint = hint
        self.result = result
    }
}

extension JSONValue {
    /// Any Encodable value as JSON (for job results).
    public static func encoding(_ value: some Encodable) throws -> JSONValue {
        try APICoding.decode(JSONValue.self, from: try APICoding.encode(value))
    }
}

/// What a running job sees: its parameters and config, and ways to report progress, log, checkpoint,
/// and learn that it was cancelled.
public final class JobContext: Sendable, JobReporter {
    public let id: String
    public let kind: String
    public let resource: String
    public let params: JSONValue?
    public let config: AgentConfig
    public let logger: Logger
    private let sink: @Sendable (JobUpdate) -> Void
    private let cancelled = Locked(false)
    private let checkpointPath: String

    init(
        id: String, kind: String, resource: String, params: JSONValue?, config: AgentConfig, logger: Logger,
        checkpointPath: String, sink: @escaping @Sendable (JobUpdate) -> Void
    ) {
        self.id = id
        self.kind = kind
        self.resource = resource
        self.params = params
        self.config = config
        self.logger = logger
        self.checkpointPath = checkpointPath
        self.sink = sink
    }

    /// True once cancellation was asked for (by `whatifctl jobs cancel` or agent shutdown).
    public var isCancelled: Bool { cancelled.value || Task.isCancelled }

    func markCancelled() { cancelled.set(true) }

    /// Throws `CancellationError` when the job should stop.
    public func checkCancellation() throws {
        if isCancelled { throw CancellationError() }
    }

    public func progress(done: Double, total: Double?, unit: String, phase: String?) {
        sink(.progress(JobProgress(done: done, total: total, unit: unit, phase: phase)))
    }

    public func log(_ level: Logger.Level, _ message: String) {
        logger.log(level: level, "\(message)")
        sink(.log(level, message))
    }

    /// A small JSON document that lets a restarted job resume (a scan cursor, a file offset).
    /// Stored per kind and resource, written atomically.
    public func saveCheckpoint(_ value: JSONValue) throws {
        try Files.writeAtomically(checkpointPath, try APICoding.encode(value), mode: 0o640)
    }

    public func loadCheckpoint() -> JSONValue? {
        guard let bytes = try? Files.read(checkpointPath, limit: 16 << 20) else { return nil }
        return try? APICoding.decode(JSONValue.self, from: bytes)
    }

    public func clearCheckpoint() {
        unlink(checkpointPath)
    }
}

enum JobUpdate: Sendable {
    case progress(JobProgress)
    case log(Logger.Level, String)
}

#if canImport(Glibc)
    import Glibc
#endif
