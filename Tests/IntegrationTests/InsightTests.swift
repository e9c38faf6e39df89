import Foundation
import Testing
import WhatIfAgentTesting
import WhatIfClient
import WhatIfCore
import WhatIfProtocol
import WhatIfTesting

#if canImport(Glibc)
    import Glibc
#endif

/// `whatifctl postgres top`, `redis slowlog` and `redis latency` against real servers (a private stack:
/// the test changes server settings).
@Suite(.serialized) struct InsightTests {
    /// Runs `sql` in `db` (the agent's database, what_if_users, unless said).
    func psql(_ info: StackInfo, _ sql: String, db: String = "what_if_users") throws -> String {
        let r = try Run.command(
            ["/usr/lib/postgresql/15/bin/psql", "-X", "-v", "ON_ERROR_STOP=1", "-At", "-d", db, "-c", sql],
            environment: [
                "PGPASSWORD": info.pgPassword, "PGHOST": "127.0.0.1", "PGPORT": String(info.pgPort),
                "PGUSER": "postgres",
            ])
        guard r.status == 0 else { throw TestFailure("psql \(sql): \(r.output)") }
        return r.stdout
    }

    @Test func postgresTopNeedsTheExtensionAndThenListsTheSlowestStatements() throws {
        let stack = try Stack.startPrivate(["pg"])
        var config = TestConfig.forStack(stack.info)
        config.redis = nil
        config.dynamodb = nil
        config.aws = nil
        let a = try AgentProcess(config)
        // Without the library: refused as a configuration problem, saying how to add it.
        let missing = try a.ctl(["postgres", "top"])
        #expect(missing.status == 78, "\(missing.output)")
        #expect(missing.stderr.contains("shared_preload_libraries") && missing.stderr.contains("parameter group"))
        // Loaded and created: the statement run most is on top by calls.
        _ = try psql(stack.info, "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'", db: "postgres")
        try stack.stop("pg")
        try stack.start("pg")
        _ = try psql(stack.info, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        for _ in 0..<5 { _ = try psql(stack.info, "SELECT count(*) FROM generate_series(1, 20000) AS whatif_probe") }
        let top = try a.ctl(["postgres", "top", "--by", "calls", "--limit", "50", "--json"])
        #expect(top.status == 0, "\(top.output)")
        let list = try APICoding.decode(PostgresTop.self, from: Array(top.stdout.utf8))
        let probe = try #require(list.statements.first { $0.query.contains("whatif_probe") }, "\(list)")
        #expect(probe.calls >= 5 && probe.rows >= 5 && probe.totalMs > 0 && probe.meanMs > 0, "\(probe)")
        #expect(list.by == "calls" && list.statements.map(\.calls) == list.statements.map(\.calls).sorted(by: >))
        let table = try a.ctl(["postgres", "top"])
        #expect(table.status == 0 && table.stdout.contains("CALLS") && table.stdout.contains("whatif_probe"))
        #expect(try a.ctl(["postgres", "top", "--by", "slowness"]).status == 64)
    }

    /// PgBouncer (Debian's, run as postgres in front of the shared stack's server): its pools as
    /// WhatIf/PgBouncer metrics, read from the admin console with the simple query protocol.
    @Test func pgBouncerPoolsAreMetrics() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/sbin/pgbouncer") else { return }
        let stack = try Stack.shared()
        let dir = TempDir("whatif-pgbouncer")
        let port = freePort()
        _ = try dir.write(
            "pgbouncer.ini",
            """
            [databases]
            what_if_users = host=127.0.0.1 port=\(stack.pgPort) dbname=what_if_users
            [pgbouncer]
            listen_addr = 127.0.0.1
            listen_port = \(port)
            unix_socket_dir =
            auth_type = md5
            auth_file = \(dir.file("userlist.txt"))
            admin_users = postgres
            pool_mode = transaction
            pidfile = \(dir.file("pgbouncer.pid"))

            """)
        _ = try dir.write("userlist.txt", "\"postgres\" \"\(stack.pgPassword)\"\n")
        #expect(try Run.command(["chown", "-R", "postgres", dir.path]).status == 0)
        let bouncer = try BackgroundProcess(
            ["/usr/sbin/runuser", "-u", "postgres", "--", "/usr/sbin/pgbouncer", dir.file("pgbouncer.ini")],
            logPath: dir.file("pgbouncer.log"))
        // runuser does not pass a signal on: stop pgbouncer itself, by the pid it wrote.
        defer {
            if let text = try? String(contentsOfFile: dir.file("pgbouncer.pid"), encoding: .utf8),
                let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines))
            {
                kill(pid, SIGTERM)
            }
            bouncer.signal(SIGTERM)
        }
        #expect(
            eventually(timeout: 15) {
                (try? Sockets.connectTCP(host: "127.0.0.1", port: port, deadline: .after(seconds: 1))).map { close($0) }
                    != nil
            })
        var config = TestConfig.forStack(stack)
        config.redis = nil
        config.dynamodb = nil
        config.aws = nil
        config.postgres = (config.postgres ?? "") + "  pgbouncer:\n    host: 127.0.0.1\n    port: \(port)\n"
        config.metrics = "  interval: 1s\n"
        let a = try AgentProcess(config)
        // A client through the pooler, inside a statement: one active client connection.
        let client = try BackgroundProcess(
            ["/usr/lib/postgresql/15/bin/psql", "-X", "-d", "what_if_users", "-c", "SELECT pg_sleep(20)"],
            environment: [
                "PGPASSWORD": stack.pgPassword, "PGHOST": "127.0.0.1", "PGPORT": String(port), "PGUSER": "postgres",
            ], logPath: dir.file("psql.log"))
        defer { client.signal(SIGKILL) }
        let agent = a.client
        let active = try eventually(timeout: 30) {
            let r = try agent.metrics(name: "ClientConnectionsActive", since: "1h")
            return r.series.contains {
                $0.namespace == "WhatIf/PgBouncer"
                    && $0.dimensions == ["Database": "what_if_users", "User": "postgres"]
                    && $0.points.contains { $0.v >= 1 }
            }
        }
        #expect(active, "\((try? agent.metrics(name: nil, since: "1h").collectors) ?? [])")
        #expect(
            try eventually(timeout: 30) {
                !(try agent.metrics(name: "TransactionsPerSecond", since: "1h").series.isEmpty)
            })
    }

    @Test func redisSlowlogAndLatencyShowWhatTheServerSaw() throws {
        let stack = try Stack.startPrivate(["redis"])
        var config = TestConfig.forStack(stack.info)
        config.postgres = nil
        config.dynamodb = nil
        config.aws = nil
        let a = try AgentProcess(config)
        let cli = "/usr/bin/redis-cli -h 127.0.0.1 -p \(stack.info.redisPort)"
        // Log every command; watch latency from 1 ms; a Lua loop long enough to be a spike.
        let setup = try Run.shell(
            """
            \(cli) CONFIG SET slowlog-log-slower-than 0 >/dev/null && \(cli) SLOWLOG RESET >/dev/null && \
            \(cli) CONFIG SET latency-monitor-threshold 1 >/dev/null && \(cli) SET whatif-slow-key v >/dev/null && \
            \(cli) EVAL "local i = 0 while i < 3000000 do i = i + 1 end return i" 0 >/dev/null
            """)
        #expect(setup.status == 0, "\(setup.output)")
        let slow = try a.ctl(["redis", "slowlog", "--count", "100", "--json"])
        #expect(slow.status == 0, "\(slow.output)")
        let log = try APICoding.decode(RedisSlowlog.self, from: Array(slow.stdout.utf8))
        #expect(log.thresholdMicroseconds == 0 && log.length >= 2, "\(log)")
        #expect(log.entries.contains { $0.command == ["SET", "whatif-slow-key", "v"] }, "\(log.entries)")
        #expect(log.entries.map(\.id) == log.entries.map(\.id).sorted(by: >), "newest first")
        let latency = try a.ctl(["redis", "latency", "--json"])
        #expect(latency.status == 0, "\(latency.output)")
        let l = try APICoding.decode(RedisLatency.self, from: Array(latency.stdout.utf8))
        #expect(l.thresholdMs == 1 && l.events.contains { $0.event == "command" && $0.maxMs >= 1 }, "\(l)")
        let text = try a.ctl(["redis", "slowlog"])
        #expect(text.status == 0 && text.stdout.contains("whatif-slow-key"), "\(text.output)")
    }
}
