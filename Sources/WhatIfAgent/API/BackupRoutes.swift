import WhatIfBackup
import WhatIfCore
import WhatIfProtocol
import WhatIfUnits

extension Router {
    /// Catalog reads and pins run on the blocking pool (an S3 listing takes a while); backups,
    /// verification and restores run as jobs.
    static func backupRoutes(_ agent: AgentCore) -> [Route] {
        [
            Route(.listBackups) { [agent] req, _ in
                var kind: BackupKind?
                if let k = req.query["kind"], !k.isEmpty {
                    guard let parsed = BackupKind(rawValue: k) else {
                        return .error(
                            APIError(.badRequest, "unknown backup kind '\(k)'", hint: "kind=postgres or kind=dynamodb"))
                    }
                    kind = parsed
                }
                let service = agent.backups()
                return await catalog(agent) { [kind] in service.list(kind: kind) }
            },
            Route(.showBackup) { [agent] _, args in
                let service = agent.backups()
                return await catalog(agent) { try service.entry(args[0]) }
            },
            Route(.startBackup) { [agent] req, _ in
                await startJob(agent, req, JobSpecs.Backup.self)
            },
            Route(.verifyBackups) {
                [agent] req, _ in
                await startJob(agent, req, JobSpecs.BackupVerify.self)
            },
            Route(.pruneBackups) { [agent] req, _ in
                let dryRun = req.flag("dry_run")
                let orphans = req.flag("orphans")
                var kinds: [BackupKind]?
                if let k = req.query["kind"], !k.isEmpty {
                    guard let parsed = BackupKind(rawValue: k) else {
                        return .error(
                            APIError(.badRequest, "unknown backup kind '\(k)'", hint: "kind=postgres or kind=dynamodb"))
                    }
                    kinds = [parsed]
                }
                let service = agent.backups()
                return await catalog(agent, timeout: 600) { [kinds] in
                    service.prune(dryRun: dryRun, kinds: kinds, orphans: orphans)
                }
            },
            Route(.pinBackup) {
                [agent] req, args in
                let note: String?
                do throws(APIError) {
                    note = try body(req, as: PinRequest.self, what: "pin", example: #"{"note": "..."} or nothing"#).note
                } catch { return .error(error) }
                let by = req.userName ?? "uid \(req.peer.uid)"
                let service = agent.backups()
                return await catalog(agent) { [note] in try service.pin(args[0], by: by, note: note) }
            },
            Route(.unpinBackup) { [agent] _, args in
                let service = agent.backups()
                return await catalog(agent) { try service.unpin(args[0]) }
            },
            Route(.startRestore) { [agent] req, _ in
                typealias Spec = JobSpecs.Restore
                let params: Spec.Params
                do throws(APIError) {
                    params = try body(req, as: Spec.Params.self, what: Spec.name, example: Spec.example)
                } catch {
                    return .error(error)
                }
                // A backup that is not in the catalog is a 404 here, not a job that fails.
                let service = agent.backups()
                let id = params.id
                let found = await catalog(agent, timeout: 60) { try service.entry(id).id }
                if found.status == 404 { return found }
                return await startJob(agent, req, Spec.self, params)
            },
        ]
    }

    /// Runs a catalog call off the cooperative pool and maps its errors.
    static func catalog<T: Encodable & Sendable>(
        _ agent: AgentCore, timeout: Double = 120, _ body: @escaping @Sendable () throws -> T
    ) async -> AdminResponse {
        switch await agent.pool.run(timeout: timeout, body) {
        case .value(let v): return .json(v)
        case .timedOut:
            return .error(
                APIError(
                    .unavailable, "the backup catalog did not answer within \(Units.duration(timeout))",
                    hint: "check the backup location and S3 (`whatifctl status`), then try again"))
        case .failure(let error as BackupError):
            // A name that cannot be an id names no backup either: both are "not found" (whatifctl exits 66).
            return .error(APIError(.notFound, error.message, hint: error.hint))
        case .failure(let error as any OperatorError):
            return .error(APIError(.internalError, error.message, hint: error.hint))
        case .failure(let error):
            return .error(APIError(.internalError, "\(error)"))
        }
    }

    /// Checks the body's shape, then starts the job with the body as its parameters (202 + the job).
    /// Starts a job of a declared kind: the body is decoded strictly, once, as the kind's parameters.
    static func startJob<S: JobSpec>(_ agent: AgentCore, _ req: AdminRequest, _ spec: S.Type) async -> AdminResponse {
        let params: S.Params
        do throws(APIError) { params = try body(req, as: S.Params.self, what: S.name, example: S.example) } catch {
            return .error(error)
        }
        return await startJob(agent, req, spec, params)
    }

    /// Starts a job of a declared kind with parameters the route put together.
    static func startJob<S: JobSpec>(_ agent: AgentCore, _ req: AdminRequest, _ spec: S.Type, _ params: S.Params)
        async -> AdminResponse
    {
        do throws(APIError) {
            let info = try await agent.jobs.start(S.self, params, requestedBy: req.userName ?? "uid \(req.peer.uid)")
            // Answered once its record is on disk: a 202 is a job the agent will remember.
            await agent.jobs.recorded()
            return .json(info, status: 202)
        } catch {
            return .error(error)
        }
    }

    /// A request's body decoded strictly (an empty body is `{}` unless `allowEmpty` is false): not JSON
    /// is a 400; a duplicate, unknown or misspelt key, a wrong type or a missing key is a 422 that names
    /// the key and the keys the request takes.
    static func body<T: Decodable>(
        _ req: AdminRequest, as type: T.Type, what: String, example: String, allowEmpty: Bool = true
    ) throws(APIError) -> T {
        let bytes = req.body.isEmpty && allowEmpty ? Array("{}".utf8) : req.body
        do { return try StrictJSON.decode(type, from: bytes) } catch {
            throw APIError(
                error.kind == .syntax ? .badRequest : .unprocessable,
                "the body is not a \(what) request: \(error)", hint: "send \(example)")
        }
    }

    /// Starts a job on behalf of the request's peer: 202 with the job, or why it was refused.
    static func startJob(_ agent: AgentCore, _ req: AdminRequest, kind: String, params: JSONValue?) async
        -> AdminResponse
    {
        do throws(APIError) {
            let info = try await agent.jobs.start(
                kind: kind, params: params, requestedBy: req.userName ?? "uid \(req.peer.uid)")
            // Answered once its record is on disk: a 202 is a job the agent will remember.
            await agent.jobs.recorded()
            return .json(info, status: 202)
        } catch {
            return .error(error)
        }
    }
}
