import WhatIfBackup
import WhatIfCore
import WhatIfProtocol

extension Router {
    /// Catalog reads and pins run on the blocking pool (an S3 listing takes a while); backups,
    /// verification and restores run as jobs.
    static func backupRoutes(_ agent: AgentCore) -> [Route] {
        [
            Route(method: "GET", pattern: ["v1", "backups"], role: .reader) { [agent] req, _ in
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
            Route(method: "GET", pattern: ["v1", "backups", "{id}"], role: .reader) { [agent] _, args in
                let service = agent.backups()
                return await catalog(agent) { try service.entry(args[0]) }
            },
            Route(method: "POST", pattern: ["v1", "backups"], role: .admin) { [agent] req, _ in
                await startJob(
                    agent, req, kind: "backup", StartBackupRequest.self, example: #"{"kinds": ["postgres"]}"#)
            },
            Route(method: "POST", pattern: ["v1", "backups", "verify"], role: .admin) { [agent] req, _ in
                await startJob(agent, req, kind: "backup.verify", VerifyRequest.self, example: #"{"ids": []}"#)
            },
            Route(method: "POST", pattern: ["v1", "backups", "prune"], role: .admin) { [agent] req, _ in
                let dryRun = req.flag("dry_run")
                var kinds: [BackupKind]?
                if let k = req.query["kind"], !k.isEmpty {
                    guard let parsed = BackupKind(rawValue: k) else {
                        return .error(
                            APIError(.badRequest, "unknown backup kind '\(k)'", hint: "kind=postgres or kind=dynamodb"))
                    }
                    kinds = [parsed]
                }
                let service = agent.backups()
                return await catalog(agent, timeout: 600) { [kinds] in service.prune(dryRun: dryRun, kinds: kinds) }
            },
            Route(method: "POST", pattern: ["v1", "backups", "{id}", "pin"], role: .admin) { [agent] req, args in
                var note: String?
                if !req.body.isEmpty {
                    do { note = try APICoding.decode(PinRequest.self, from: req.body).note } catch {
                        return .error(
                            APIError(
                                .badRequest, "the body is not a pin request: \(decodingReason(error))",
                                hint: #"send {"note": "..."} or nothing"#))
                    }
                }
                let by = req.userName ?? "uid \(req.peer.uid)"
                let service = agent.backups()
                return await catalog(agent) { [note] in try service.pin(args[0], by: by, note: note) }
            },
            Route(method: "DELETE", pattern: ["v1", "backups", "{id}", "pin"], role: .admin) { [agent] _, args in
                let service = agent.backups()
                return await catalog(agent) { try service.unpin(args[0]) }
            },
            Route(method: "POST", pattern: ["v1", "restores"], role: .admin) { [agent] req, _ in
                await startJob(
                    agent, req, kind: "restore", RestoreRequest.self,
                    example: #"{"kind": "postgres", "id": "...", "targetDatabase": "..."}"#)
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
                    .unavailable, "the backup catalog did not answer within \(Int(timeout)) s",
                    hint: "check the backup location and S3 (`whatifctl status`), then try again"))
        case .failure(let error as BackupError):
            return .error(APIError(error.kind == .badID ? .badRequest : .notFound, error.message, hint: error.hint))
        case .failure(let error as any OperatorError):
            return .error(APIError(.internalError, error.message, hint: error.hint))
        case .failure(let error):
            return .error(APIError(.internalError, "\(error)"))
        }
    }

    /// Checks the body's shape, then starts the job with the body as its parameters (202 + the job).
    static func startJob<T: Decodable>(
        _ agent: AgentCore, _ req: AdminRequest, kind: String, _ type: T.Type, example: String
    ) async -> AdminResponse {
        let body = req.body.isEmpty ? Array("{}".utf8) : req.body
        let params: JSONValue
        do {
            _ = try APICoding.decode(type, from: body)
            params = try APICoding.decode(JSONValue.self, from: body)
        } catch {
            return .error(
                APIError(
                    .badRequest, "the body is not a \(kind) request: \(decodingReason(error))", hint: "send \(example)")
            )
        }
        do throws(APIError) {
            let info = try await agent.jobs.start(
                kind: kind, params: params, requestedBy: req.userName ?? "uid \(req.peer.uid)")
            return .json(info, status: 202)
        } catch {
            return .error(error)
        }
    }
}
