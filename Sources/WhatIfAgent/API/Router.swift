import Logging
import WhatIfCore
import WhatIfProtocol
import WhatIfUnits

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

package struct AdminRequest: Sendable {
    package var method: String
    /// Path without the query.
    package var path: String
    package var query: [String: String]
    package var body: [UInt8]
    package var peer: Peer
    package var role: Role
    package var userName: String?

    package init(method: String, target: String, body: [UInt8], peer: Peer, role: Role, userName: String?) {
        self.method = method
        if let q = target.firstIndex(of: "?") {
            path = String(target[..<q])
            query = Self.parseQuery(String(target[target.index(after: q)...]))
        } else {
            path = target
            query = [:]
        }
        self.body = body
        self.peer = peer
        self.role = role
        self.userName = userName
    }

    static func parseQuery(_ q: String) -> [String: String] {
        var out: [String: String] = [:]
        for pair in q.split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1)
            let key = APIPath.percentDecode(kv[0]) ?? String(kv[0])
            out[key] = kv.count > 1 ? (APIPath.percentDecode(kv[1]) ?? String(kv[1])) : ""
        }
        return out
    }

    /// The caller as the audit trail and job logs name them.
    var caller: String { userName ?? "uid \(peer.uid)" }

    func flag(_ name: String) -> Bool {
        guard let v = query[name] else { return false }
        return v.isEmpty || v == "true" || v == "1" || v == "yes"
    }
}

package struct AdminResponse: Sendable {
    package enum Body: Sendable {
        case bytes([UInt8])
        /// NDJSON lines, written as they come (chunked).
        case stream(AsyncStream<[UInt8]>)
    }

    package var status: Int
    package var contentType: String = "application/json"
    package var headers: [(String, String)] = []
    package var body: Body

    package static func json(_ value: some Encodable, status: Int = 200) -> AdminResponse {
        do {
            var bytes = try APICoding.encode(value)
            bytes.append(10)
            return AdminResponse(status: status, body: .bytes(bytes))
        } catch {
            return .error(APIError(.internalError, "cannot encode the answer: \(error)"))
        }
    }

    package static func error(_ e: APIError, headers: [(String, String)] = []) -> AdminResponse {
        var bytes =
            (try? APICoding.encode(APIErrorBody(e)))
            ?? Array("{\"error\":{\"code\":\"internal\",\"message\":\"error\"}}".utf8)
        bytes.append(10)
        return AdminResponse(status: e.code.httpStatus, headers: headers, body: .bytes(bytes))
    }
}

/// The admin API's routes. Pure request-in, response-out: the HTTP server feeds it, tests can too.
package final class Router: Sendable {
    let agent: AgentCore
    private let routes: [Route]

    init(agent: AgentCore) {
        self.agent = agent
        // Literal routes first, so "jobs/kinds" wins over "jobs/{id}".
        routes = Self.routes(agent).sorted { !$0.pattern.contains("{id}") && $1.pattern.contains("{id}") }
    }

    /// An endpoint of the protocol's table and what serves it.
    struct Route {
        var endpoint: Endpoint
        var handler: @Sendable (AdminRequest, [String]) async -> AdminResponse

        init(_ endpoint: Endpoint, handler: @escaping @Sendable (AdminRequest, [String]) async -> AdminResponse) {
            self.endpoint = endpoint
            self.handler = handler
        }

        var method: String { endpoint.method }
        var pattern: [String] { endpoint.pattern }
        var role: Role { endpoint.role }
        var takesBody: Bool { endpoint.takesBody }
    }

    /// The endpoints this router serves (a test holds them to `Endpoint.all`).
    package var endpoints: [Endpoint] { routes.map(\.endpoint) }

    private static func routes(_ agent: AgentCore) -> [Route] {
        [
            Route(.version) { _, _ in .json(VersionInfo()) },
            Route(.whoami) { req, _ in
                .json(
                    PeerInfo(
                        uid: req.peer.uid, gid: req.peer.gid, pid: req.peer.pid, user: req.userName, role: req.role))
            },
            Route(.status) { [agent] req, _ in
                let maxAge = req.flag("fresh") ? 0 : agent.config.status.maxAge
                let (_, json) = await agent.status.report(maxAge: maxAge)
                return AdminResponse(status: 200, body: .bytes(json + [10]))
            },
            // What the API says of a job is on disk: each answer waits for the records it read.
            Route(.listJobs) { [agent] _, _ in
                let jobs = await agent.jobs.list()
                await agent.jobs.recorded()
                return .json(JobList(jobs: jobs))
            },
            Route(.jobKinds) { [agent] _, _ in
                .json(JobKindList(kinds: await agent.jobs.kindList()))
            },
            Route(.startJob) { [agent] req, _ in
                let start: StartJobRequest
                do throws(APIError) {
                    start = try body(
                        req, as: StartJobRequest.self, what: "job", example: #"{"kind": "...", "params": {...}}"#,
                        allowEmpty: false)
                } catch { return .error(error) }
                do throws(APIError) {
                    let info = try await agent.jobs.start(
                        kind: start.kind, params: start.params, requestedBy: req.userName ?? "uid \(req.peer.uid)")
                    // Answered once its record is on disk: a 202 is a job the agent will remember.
                    await agent.jobs.recorded()
                    return .json(info, status: 202)
                } catch { return .error(error) }
            },
            Route(.showJob) { [agent] _, args in
                guard let info = await agent.jobs.get(args[0]) else {
                    return .error(
                        APIError(.notFound, "no job \(args[0])", hint: "`whatifctl jobs list` shows the jobs"))
                }
                await agent.jobs.recorded()
                return .json(info)
            },
            Route(.cancelJob) { [agent] req, args in
                do throws(APIError) {
                    let info = try await agent.jobs.cancel(args[0], by: req.caller)
                    await agent.jobs.recorded()
                    return .json(info, status: 202)
                } catch {
                    return .error(error)
                }
            },
            Route(.jobEvents) { [agent] req, args in
                let events: AsyncStream<JobEvent>
                do throws(APIError) { events = try await agent.jobs.events(args[0], follow: req.flag("follow")) } catch
                {
                    return .error(error)
                }
                let lines = AsyncStream<[UInt8]> { continuation in
                    let task = Task {
                        let encoder = APICoding.encoder()
                        for await e in events {
                            // A job's end is reported once its record is on disk.
                            if e.type == .state, e.job?.state.isFinal == true { await agent.jobs.recorded() }
                            guard var line = try? Array(encoder.encode(e)) else { continue }
                            line.append(10)
                            continuation.yield(line)
                        }
                        continuation.finish()
                    }
                    continuation.onTermination = { _ in task.cancel() }
                }
                return AdminResponse(status: 200, contentType: "application/x-ndjson", body: .stream(lines))
            },
            Route(.config) { [agent] _, _ in
                .json(ConfigView.report(agent.clients.config))
            },
            Route(.audit) { [agent] req, _ in
                var since: Date?
                if let s = req.query["since"] {
                    if let d = Timestamp.parse(s) {
                        since = d
                    } else if let secs = DurationText.parse(s) {
                        since = Date(timeIntervalSinceNow: -secs)
                    } else {
                        return .error(
                            APIError(
                                .unprocessable, "since '\(s)' is neither a time nor a duration",
                                hint: "use RFC 3339 (2026-12-07T10:00:00Z) or a duration back from now (2h, 7d)"))
                    }
                }
                var limit = 200
                if let l = req.query["limit"] {
                    guard let n = Int(l), (1...100_000).contains(n) else {
                        return .error(APIError(.unprocessable, "limit '\(l)' is out of range", hint: "use 1 to 100000"))
                    }
                    limit = n
                }
                let (user, from, newest) = (req.query["user"], since, limit)
                let audit = agent.audit
                do {
                    return .json(try await agent.pool.run { audit.read(since: from, user: user, limit: newest) })
                } catch { return .error(APIError(.internalError, "cannot read the audit trail: \(error)")) }
            },
            Route(.reloadConfig) { [agent] req, _ in
                let result = await agent.reload(by: req.caller, uid: req.peer.uid, role: req.role.rawValue)
                return .json(result, status: result.reloaded ? 200 : 422)
            },
        ] + backupRoutes(agent) + monitoringRoutes(agent) + expiryRoutes(agent) + migrationRoutes(agent)
            + insightRoutes(agent)
    }

    /// Nothing, white space, or `{}`.
    static func isEmptyBody(_ body: [UInt8]) -> Bool {
        let trimmed = body.filter { $0 != 0x20 && $0 != 0x0A && $0 != 0x0D && $0 != 0x09 }
        return trimmed.isEmpty || trimmed == Array("{}".utf8)
    }

    /// A request that may change something, in the audit trail once answered: who, what (the body,
    /// secrets redacted), the status, the job it started, and the error's message.
    private func record(_ req: AdminRequest, _ endpoint: Endpoint, _ response: AdminResponse) async {
        var jobId: String?
        var kind: String?
        var message: String?
        if case .bytes(let b) = response.body, let v = try? StrictJSON.parse(b) {
            if response.status == 202 {
                jobId = v["id"]?.stringValue
                kind = v["kind"]?.stringValue
            }
            message = v["error"]?["message"]?.stringValue
        }
        agent.audit.record(
            AuditEntry(
                event: "request", uid: req.peer.uid, user: req.userName, role: req.role.rawValue, method: req.method,
                route: "\(endpoint)", path: req.path, params: AuditLog.redact(req.body), jobId: jobId, kind: kind,
                status: response.status,
                outcome: response.status < 400 ? "ok" : response.status == 403 ? "refused" : "error",
                message: message))
        await agent.audit.recorded()
    }

    package func handle(_ req: AdminRequest) async -> AdminResponse {
        let socket = agent.config.socket
        let readers = socket.readerGroup.map { "the group \($0)" } ?? "the reader group"
        let admins = socket.adminGroup.map { "the group \($0)" } ?? "the admin group"
        guard req.role > .none else {
            return .error(
                APIError(
                    .forbidden, "user \(req.userName ?? "uid \(req.peer.uid)") may not use the whatif agent",
                    hint: "add the user to \(readers) (read) or \(admins) (everything), then log in again"))
        }
        let segments = req.path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        // The resource is the pattern that matches with the most literal segments ("jobs/kinds" over
        // "jobs/{id}"); its routes are the methods the path allows.
        var resource: [(route: Route, args: [String])] = []
        var best = -1
        for route in routes where route.pattern.count == segments.count {
            var args: [String] = []
            var matches = true
            for (p, s) in zip(route.pattern, segments) {
                if p == "{id}" {
                    args.append(APIPath.percentDecode(s) ?? s)
                } else if p != s {
                    matches = false
                    break
                }
            }
            guard matches else { continue }
            let literals = route.pattern.count - args.count
            if literals > best {
                best = literals
                resource = []
            }
            if literals == best { resource.append((route, args)) }
        }
        // HEAD is GET without the body (the server drops it).
        let method = req.method == "HEAD" ? "GET" : req.method
        if let (route, args) = resource.first(where: { $0.route.method == method }) {
            guard req.role >= route.role else {
                if method != "GET" {
                    agent.audit.record(
                        AuditEntry(
                            event: "request", uid: req.peer.uid, user: req.userName, role: req.role.rawValue,
                            method: req.method, route: "\(route.endpoint)", path: req.path,
                            params: AuditLog.redact(req.body), status: 403, outcome: "refused",
                            message: "needs the admin role"))
                    await agent.audit.recorded()
                }
                return .error(
                    APIError(
                        .forbidden,
                        "\(req.method) \(req.path) needs the admin role; \(req.userName ?? "uid \(req.peer.uid)") is a \(req.role.rawValue)",
                        hint: "run it as root or as a member of \(admins)"))
            }
            if !route.takesBody, !Self.isEmptyBody(req.body) {
                return .error(
                    APIError(
                        .unprocessable, "\(req.method) \(req.path) takes no body; \(req.body.count) bytes were sent",
                        hint: "send the request without a body (options go in the query, see whatifd(8))"))
            }
            if let unknown = req.query.keys.sorted().first(where: { !route.endpoint.query.contains($0) }) {
                let takes = route.endpoint.query
                return .error(
                    APIError(
                        .unprocessable, "\(route.endpoint) takes no query parameter '\(unknown)'",
                        hint: takes.isEmpty
                            ? "send it without a query" : "it takes: \(takes.joined(separator: ", "))"))
            }
            let response = await route.handler(req, args)
            if method != "GET" { await record(req, route.endpoint, response) }
            return response
        }
        if !resource.isEmpty {
            var allowed: [String] = []
            for r in resource where !allowed.contains(r.route.method) {
                allowed.append(r.route.method)
                if r.route.method == "GET" { allowed.append("HEAD") }
            }
            return .error(
                APIError(
                    .methodNotAllowed, "\(req.method) is not allowed on \(req.path)",
                    hint: "use \(allowed.joined(separator: ", "))"),
                headers: [("Allow", allowed.joined(separator: ", "))])
        }
        return .error(
            APIError(.notFound, "no resource \(req.path)", hint: "see whatifd(8) for the admin API's resources"))
    }
}
