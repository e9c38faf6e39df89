import WhatIfCore
import WhatIfMonitoring
import WhatIfProtocol

/// The databases' own view of what is slow: pg_stat_statements, Redis's SLOWLOG and LATENCY (readers).
extension Router {
    static func insightRoutes(_ agent: AgentCore) -> [Route] {
        [
            Route(.postgresTop) { [agent] req, _ in
                let by = req.query["by"] ?? "total"
                guard ["total", "mean", "calls"].contains(by) else {
                    return .error(
                        APIError(.unprocessable, "by '\(by)' is not total, mean or calls", hint: "use by=total"))
                }
                guard let limit = Int(req.query["limit"] ?? "20"), (1...1000).contains(limit) else {
                    return .error(APIError(.unprocessable, "limit must be 1 to 1000", hint: "use limit=20"))
                }
                let clients = agent.clients
                guard clients.config.postgres != nil else {
                    return .error(
                        APIError(
                            .notConfigured, "PostgreSQL is not configured", hint: "configure postgres: in the config"))
                }
                return await insight(agent) {
                    let conn = try clients.postgres(deadline: .after(seconds: 10))
                    defer { conn.close() }
                    return try DatabaseInsight.top(conn, by: by, limit: limit)
                }
            },
            Route(.redisSlowlog) { [agent] req, _ in
                guard let count = Int(req.query["count"] ?? "20"), (1...1000).contains(count) else {
                    return .error(APIError(.unprocessable, "count must be 1 to 1000", hint: "use count=20"))
                }
                let clients = agent.clients
                guard clients.config.redis != nil else { return .error(noRedis) }
                return await insight(agent) {
                    let conn = try clients.redis()
                    defer { conn.close() }
                    return try DatabaseInsight.slowlog(conn, count: count)
                }
            },
            Route(.redisLatency) { [agent] _, _ in
                let clients = agent.clients
                guard clients.config.redis != nil else { return .error(noRedis) }
                return await insight(agent) {
                    let conn = try clients.redis()
                    defer { conn.close() }
                    return try DatabaseInsight.latency(conn)
                }
            },
        ]
    }

    static let noRedis = APIError(.notConfigured, "Redis is not configured", hint: "configure redis: in the config")

    /// Runs a read on the blocking pool: a missing extension is a configuration problem (its hint says how
    /// to add it), a server that cannot be reached is unavailable.
    static func insight<T: Encodable & Sendable>(_ agent: AgentCore, _ body: @escaping @Sendable () throws -> T) async
        -> AdminResponse
    {
        do { return .json(try await agent.pool.run(body)) } catch let e as DatabaseInsight.Missing {
            return .error(APIError(.notConfigured, e.message, hint: e.hint))
        } catch let e as any OperatorError {
            return .error(APIError(.unavailable, e.message, hint: e.hint))
        } catch {
            return .error(APIError(.internalError, "\(error)"))
        }
    }
}
