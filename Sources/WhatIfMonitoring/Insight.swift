import WhatIfCore
import WhatIfPostgres
import WhatIfProtocol
import WhatIfRedis

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The database's own view of what is slow: pg_stat_statements, Redis's SLOWLOG and LATENCY LATEST.
/// Blocking: run it off the event loop.
package enum DatabaseInsight {
    /// What the server lacks for a figure (an extension): the configuration's to fix, not the server's.
    package struct Missing: OperatorError, Sendable {
        package var message: String
        package var hint: String?
    }

    /// The statements that took the most time (`by`: total, mean or calls). A missing extension is an
    /// operator's error that says how to add it, on a server of one's own and on RDS.
    package static func top(_ conn: PostgresConnection, by: String, limit: Int) throws -> PostgresTop {
        let order =
            switch by {
            case "mean": "mean_exec_time"
            case "calls": "calls"
            default: "total_exec_time"
            }
        let r: PostgresResult
        do {
            r = try conn.query(
                """
                SELECT query, calls, total_exec_time, mean_exec_time, rows FROM pg_stat_statements
                 WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
                 ORDER BY \(order) DESC LIMIT $1
                """, [String(limit)], deadline: .after(seconds: 15))
        } catch {
            // 42P01: the view does not exist (no CREATE EXTENSION); 55000: the library is not loaded.
            if error.sqlState == "42P01" || error.sqlState == "55000" {
                throw Missing(
                    message:
                        "pg_stat_statements is not available in this database: \(error.message)",
                    hint:
                        "add pg_stat_statements to shared_preload_libraries (on RDS: the DB parameter group; a restart applies it), then CREATE EXTENSION pg_stat_statements; in this database as its owner"
                )
            }
            throw error
        }
        var out: [PostgresTop.Statement] = []
        for i in 0..<r.rows.count {
            out.append(
                PostgresTop.Statement(
                    query: r.value(i, "query") ?? "", calls: Int64(r.value(i, "calls") ?? "") ?? 0,
                    totalMs: Double(r.value(i, "total_exec_time") ?? "") ?? 0,
                    meanMs: Double(r.value(i, "mean_exec_time") ?? "") ?? 0,
                    rows: Int64(r.value(i, "rows") ?? "") ?? 0))
        }
        return PostgresTop(by: by, statements: out)
    }

    /// SLOWLOG GET `count`, SLOWLOG LEN, and the threshold when CONFIG GET answers.
    package static func slowlog(_ conn: RedisConnection, count: Int) throws -> RedisSlowlog {
        let reply = try conn.command("SLOWLOG", "GET", String(count))
        guard case .array(let items) = reply else { throw Failure("SLOWLOG GET answered \(reply)") }
        let entries = items.compactMap(entry)
        var length: Int64 = Int64(entries.count)
        if case .integer(let n)? = try? conn.command("SLOWLOG", "LEN") { length = n }
        return RedisSlowlog(
            entries: entries, length: length, thresholdMicroseconds: config(conn, "slowlog-log-slower-than"))
    }

    /// One SLOWLOG entry: id, unix time, microseconds, arguments, then (Redis 4+) client and name.
    static func entry(_ v: RESPValue) -> RedisSlowlog.Entry? {
        guard case .array(let f) = v, f.count >= 4, case .integer(let id) = f[0], case .integer(let t) = f[1],
            case .integer(let us) = f[2], case .array(let args) = f[3]
        else { return nil }
        return RedisSlowlog.Entry(
            id: id, time: Date(timeIntervalSince1970: Double(t)), microseconds: us,
            command: args.compactMap(\.string), client: f.count > 4 ? f[4].string : nil,
            clientName: f.count > 5 ? f[5].string.flatMap { $0.isEmpty ? nil : $0 } : nil)
    }

    /// LATENCY LATEST: event, unix time, latest ms, max ms (Redis 7 adds a sum and a count: ignored).
    package static func latency(_ conn: RedisConnection) throws -> RedisLatency {
        let reply = try conn.command("LATENCY", "LATEST")
        guard case .array(let items) = reply else { throw Failure("LATENCY LATEST answered \(reply)") }
        let events = items.compactMap { v -> RedisLatency.Event? in
            guard case .array(let f) = v, f.count >= 4, let name = f[0].string, case .integer(let t) = f[1],
                case .integer(let latest) = f[2], case .integer(let most) = f[3]
            else { return nil }
            return RedisLatency.Event(
                event: name, time: Date(timeIntervalSince1970: Double(t)), latestMs: latest, maxMs: most)
        }
        return RedisLatency(events: events, thresholdMs: config(conn, "latency-monitor-threshold"))
    }

    /// A numeric setting from CONFIG GET, or nil where CONFIG is not allowed (ElastiCache renames it).
    static func config(_ conn: RedisConnection, _ name: String) -> Int64? {
        guard case .array(let kv)? = try? conn.command("CONFIG", "GET", name), kv.count == 2,
            let v = kv[1].string
        else { return nil }
        return Int64(v)
    }
}
