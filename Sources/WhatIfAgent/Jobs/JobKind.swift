import Logging
import WhatIfCore
import WhatIfProtocol

/// An implementation of a job kind (a `JobSpec` of WhatIfProtocol), registered with the job manager.
/// Built from typed closures: the parameters are decoded once, strictly, when the job is asked for
/// (`decode`), handed to `resources` and `run` as the spec's `Params`, and the run's `Result` is
/// encoded once, for the job record.
package struct JobKind: Sendable {
    package let name: String
    package let summary: String
    /// Strict decoding of the parameters: unknown, duplicate or mistyped keys are a 422 naming the key.
    let decode: @Sendable (_ params: JSONValue?) throws(APIError) -> any Sendable
    /// The parameters as the job record keeps them.
    let encode: @Sendable (_ params: any Sendable) -> JSONValue?
    /// The resources a job with these parameters locks. Throws `APIError(.unprocessable, ...)` for
    /// parameters that make no sense with this config.
    let resources: @Sendable (_ params: any Sendable, _ config: AgentConfig) throws -> [JobResource]
    /// The work: report progress and logs through the context, honour cancellation, return the result.
    let run: @Sendable (_ context: JobContext, _ params: any Sendable) async throws -> JSONValue?

    package init<S: JobSpec>(
        _ spec: S.Type,
        resources: @escaping @Sendable (_ params: S.Params, _ config: AgentConfig) throws -> [JobResource],
        run: @escaping @Sendable (_ context: JobContext, _ params: S.Params) async throws -> S.Result
    ) {
        name = S.name
        summary = S.summary
        decode = { (params: JSONValue?) throws(APIError) -> any Sendable in
            do throws(StrictJSONError) {
                return try StrictJSON.decode(S.Params.self, from: params ?? .object([:]))
            } catch {
                throw APIError(
                    error.kind == .syntax ? .badRequest : .unprocessable,
                    "bad parameters for \(S.name): \(error)", hint: "send \(S.example)")
            }
        }
        encode = { params in (params as? S.Params).flatMap { try? JSONValue.encoding($0) } }
        self.resources = { params, config in try resources(Self.cast(params, S.self), config) }
        self.run = { context, params in
            try JSONValue.encoding(try await run(context, try Self.cast(params, S.self)))
        }
    }

    package init<S: JobSpec>(
        _ spec: S.Type,
        resource: @escaping @Sendable (_ params: S.Params, _ config: AgentConfig) throws -> JobResource,
        run: @escaping @Sendable (_ context: JobContext, _ params: S.Params) async throws -> S.Result
    ) {
        self.init(spec, resources: { [try resource($0, $1)] }, run: run)
    }

    private static func cast<S: JobSpec>(_ params: any Sendable, _: S.Type) throws -> S.Params {
        guard let p = params as? S.Params else {
            throw APIError(.internalError, "parameters of another kind were passed to \(S.name)")
        }
        return p
    }
}

/// What a running job sees: its parameters and config, and ways to report progress, log, checkpoint,
/// and learn that it was cancelled.
package final class JobContext: Sendable, JobReporter {
    package let id: String
    package let kind: String
    package let resource: String
    /// The parameters as the job record keeps them (the run gets them typed).
    let params: JSONValue?
    package let config: AgentConfig
    package let logger: Logger
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
    package var isCancelled: Bool { cancelled.value || Task.isCancelled }

    func markCancelled() { cancelled.set(true) }

    /// Throws `CancellationError` when the job should stop.
    package func checkCancellation() throws {
        if isCancelled { throw CancellationError() }
    }

    package func progress(done: Double, total: Double?, unit: String, phase: String?) {
        sink(.progress(JobProgress(done: done, total: total, unit: unit, phase: phase)))
    }

    package func log(_ level: Logger.Level, _ message: String) {
        logger.log(level: level, "\(message)")
        sink(.log(level, message))
    }

    /// A small JSON document that lets a restarted job resume (a scan cursor, a file offset).
    /// Stored per kind and resource, written atomically.
    package func saveCheckpoint(_ value: JSONValue) throws {
        try Files.writeAtomically(checkpointPath, try APICoding.encode(value), mode: 0o640)
    }

    package func loadCheckpoint() -> JSONValue? {
        guard let bytes = try? Files.read(checkpointPath, limit: 16 << 20) else { return nil }
        return try? APICoding.decode(JSONValue.self, from: bytes)
    }

    package func clearCheckpoint() {
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
