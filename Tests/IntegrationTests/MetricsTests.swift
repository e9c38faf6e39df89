import Testing
import WhatIfAgentTesting
import WhatIfClient
import WhatIfCore
import WhatIfProtocol
import WhatIfTesting
import WhatIfUnits

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
#if canImport(Glibc)
    import Glibc
#endif

/// Collectors on real services, the CloudWatch reader on moto, alarms and hooks end to end, and history
/// across a restart.
@Suite(.serialized) struct MetricsTests {
    static func values(_ report: MetricsReport, _ name: String, _ dims: [String: String] = [:]) -> [Double] {
        report.series.filter { s in s.name == name && (dims.isEmpty || s.dimensions == dims) }
            .flatMap { $0.points.map(\.v) }
    }

    /// Redis hits and misses and PostgreSQL connections move by exactly what the test did (a private
    /// stack, so nothing else touches the servers).
    @Test func collectorsFollowTheLiveServices() throws {
        let stack = try Stack.startPrivate(["pg", "redis"])
        let info = stack.info
        let hooksDir = TempDir("whatif-hooks")
        _ = try hooksDir.write(
            "record", "#!/bin/sh\necho \"$WHATIF_ALARM_NAME $WHATIF_ALARM_STATE\" >> \(hooksDir.file("seen"))\n",
            mode: 0o755)
        var config = TestConfig.forStack(info)
        config.dynamodb = nil
        config.aws = nil
        config.metrics = "  interval: 1s\n  evaluation_interval: 1s\n"
        config.hooks = "  directory: \(hooksDir.path)\n"
        config.alarms = """
              - AlarmName: redis-misses
                Namespace: AWS/ElastiCache
                MetricName: CacheMisses
                Dimensions: [{Name: CacheClusterId, Value: local}]
                Statistic: Sum
                Period: 10
                EvaluationPeriods: 1
                Threshold: 0
                ComparisonOperator: GreaterThanThreshold
                TreatMissingData: notBreaching

            """
        let a = try AgentProcess(config)
        let client = a.client
        #expect(
            try eventually(timeout: 20) {
                Self.values(try client.metrics(name: "CacheHits", since: "1h"), "CacheHits").count >= 2
            })
        let before = try client.metrics(name: "AWS/ElastiCache", since: "1h")
        let hits0 = Self.values(before, "CacheHits").reduce(0, +)
        let misses0 = Self.values(before, "CacheMisses").reduce(0, +)

        let cli = ["/usr/bin/redis-cli", "-h", "127.0.0.1", "-p", String(info.redisPort)]
        var script = "SET present 1\n"
        for _ in 0..<7 { script += "GET present\n" }
        for _ in 0..<5 { script += "GET absent\n" }
        let input = try hooksDir.write("cmds", script)
        let r = try Run.shell("\(cli.joined(separator: " ")) < \(input)")
        #expect(r.status == 0, "\(r.output)")

        let moved = try eventually(timeout: 20) {
            let now = try client.metrics(name: "AWS/ElastiCache", since: "1h")
            return Self.values(now, "CacheHits").reduce(0, +) - hits0 == 7
                && Self.values(now, "CacheMisses").reduce(0, +) - misses0 == 5
        }
        let after = try client.metrics(name: "AWS/ElastiCache", since: "1h")
        #expect(
            moved,
            "hits +\(Self.values(after, "CacheHits").reduce(0, +) - hits0), misses +\(Self.values(after, "CacheMisses").reduce(0, +) - misses0)"
        )
        #expect(Self.values(after, "CurrItems").last == 1)

        // Three held PostgreSQL sessions add three connections.
        let base =
            Self.values(try client.metrics(name: "DatabaseConnections", since: "1h"), "DatabaseConnections").last ?? 0
        let env = [
            "PGPASSWORD": info.pgPassword, "PGHOST": "127.0.0.1", "PGPORT": String(info.pgPort), "PGUSER": "postgres",
        ]
        let sessions = try (0..<3).map { i in
            try BackgroundProcess(
                ["/usr/lib/postgresql/15/bin/psql", "-X", "-d", "postgres", "-c", "SELECT pg_sleep(20)"],
                environment: env,
                logPath: hooksDir.file("psql\(i).log"))
        }
        defer { for s in sessions { s.signal(SIGKILL) } }
        let rose = try eventually(timeout: 15) {
            Self.values(try client.metrics(name: "DatabaseConnections", since: "1m"), "DatabaseConnections").last
                == base + 3
        }
        #expect(rose)

        // The misses put the alarm in ALARM for one period; the hook heard it; history shows it.
        #expect(
            eventually(timeout: 30) {
                (try? client.alarmHistory("redis-misses"))?.items.contains { $0.to == "ALARM" } == true
            })
        #expect(
            eventually(timeout: 10) {
                (try? String(contentsOfFile: hooksDir.file("seen"), encoding: .utf8))?.contains("redis-misses ALARM")
                    == true
            })
        let alarms = try a.ctl(["alarms", "--json"])
        #expect(alarms.status == 0)
        #expect(alarms.stdout.contains("\"alarmName\" : \"redis-misses\""))
        let text = try a.ctl(["metrics", "--format", "prometheus"])
        #expect(text.stdout.contains("whatif_elasticache_cache_hits_total{cache_cluster_id=\"local\"}"))
        #expect(text.stdout.contains("whatif_alarm_state{alarm_name=\"redis-misses\",state=\"ALARM\"}"))
        let table = try a.ctl(["metrics", "CacheHits", "--since", "10m"])
        #expect(table.status == 0)
        #expect(table.stdout.contains("AWS/ElastiCache CacheHits"))

        // Redis stops: reported as down, the other collectors go on.
        try stack.stop("redis")
        #expect(
            try eventually(timeout: 15) {
                let rep = try client.metrics(name: "CollectorUp", since: "1m")
                return rep.collectors.first { $0.name == "redis" }?.up == false
                    && rep.collectors.first { $0.name == "postgres" }?.up == true
            })
    }

    /// The table speaks the command line's language: a range beyond what is kept is refused naming
    /// --since and the retention, the header says the span actually shown (seconds for an agent up
    /// seconds, not the 3h asked), every sparkline is the same width, with MIN and MAX beside it.
    /// `metrics.listen` serves /metrics as Prometheus parses it (prometheus_client's parser plus promtool's
    /// rules): counts per period as counters with `_total` that only grow, gauges as gauges, HELP and
    /// TYPE for each; nothing else is served. The CLI's exposition passes the same check.
    @Test func prometheusScrapesCountersAndGaugesOverHTTP() throws {
        let stack = try Stack.startPrivate(["redis"])
        let port = freePort()
        var config = TestConfig.forStack(stack.info)
        config.postgres = nil
        config.dynamodb = nil
        config.aws = nil
        config.metrics = "  interval: 1s\n  listen: 127.0.0.1:\(port)\n"
        let a = try AgentProcess(config)
        let url = "http://127.0.0.1:\(port)/metrics"
        func check(_ text: String) throws -> JSONValue {
            let r = try Run.command(
                ["python3", "\(TestPaths.repository)/Tests/tools/check_prometheus.py"], input: text)
            guard r.status == 0 else { throw TestFailure("check_prometheus: \(r.output)\n\(text)") }
            return try APICoding.decode(JSONValue.self, from: Array(r.stdout.utf8))
        }
        func hits(_ v: JSONValue) -> Double? {
            guard case .array(let samples)? = v["samples"]?["whatif_elasticache_cache_hits_total"],
                case .array(let first)? = samples.first
            else { return nil }
            return first.last?.doubleValue
        }
        // Counted from the agent's first look at Redis (the counts before it are no one's delta).
        var start: Double?
        #expect(
            eventually(timeout: 30) {
                guard let r = try? Run.command(["curl", "-sf", url]), r.status == 0 else { return false }
                start = (try? check(r.stdout)).flatMap(hits)
                return start != nil
            })
        let cli = "/usr/bin/redis-cli -h 127.0.0.1 -p \(stack.info.redisPort)"
        #expect(try Run.shell("\(cli) SET present 1 && for i in 1 2 3 4 5; do \(cli) GET present; done").status == 0)
        var first: Double?
        #expect(
            eventually(timeout: 30) {
                guard let r = try? Run.command(["curl", "-sf", url]), r.status == 0, let v = try? check(r.stdout) else {
                    return false
                }
                first = hits(v)
                return (first ?? 0) >= (start ?? 0) + 5
            })
        let scrape = try Run.command(["curl", "-s", "-D", "-", url])
        #expect(scrape.stdout.hasPrefix("HTTP/1.1 200"), "\(scrape.output)")
        #expect(scrape.stdout.lowercased().contains("content-type: text/plain; version=0.0.4"), "\(scrape.output)")
        let body = String(scrape.stdout.split(separator: "\r\n\r\n", maxSplits: 1).last ?? "")
        let v = try check(body)
        #expect(v["families"]?["whatif_elasticache_cache_hits"]?.stringValue == "counter", "\(v)")
        #expect(v["families"]?["whatif_elasticache_curr_items"]?.stringValue == "gauge", "\(v)")
        #expect(body.contains("# TYPE whatif_elasticache_cache_hits_total counter\n"))
        // A counter only grows: more hits, a higher total.
        #expect(try Run.shell("for i in 1 2 3; do \(cli) GET present; done").status == 0)
        #expect(
            eventually(timeout: 30) {
                guard let r = try? Run.command(["curl", "-sf", url]), let n = (try? check(r.stdout)).flatMap(hits)
                else {
                    return false
                }
                return n >= (first ?? 0) + 3
            })
        // Only GET /metrics.
        let other = try Run.command([
            "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:\(port)/",
        ])
        #expect(other.stdout == "404", "\(other.output)")
        let post = try Run.command(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", url])
        #expect(post.stdout == "405", "\(post.output)")
        // The CLI's exposition (and so the textfile's) passes the same check.
        let text = try a.ctl(["metrics", "--format", "prometheus"])
        #expect(text.status == 0)
        _ = try check(text.stdout)
    }

    /// An operator's tools for alarms, through whatifctl: set-state tells the receiver (Slack, checked
    /// against its block limits), ack stops reminders, silence and unsilence, a test alert to a named
    /// receiver; each is in the audit trail with its caller.
    @Test func operatorsSetAckSilenceAndTestReceivers() throws {
        let slack = try TinyHTTPServer { req in
            guard let o = try? APICoding.decode(JSONValue.self, from: req.body),
                o["text"]?.stringValue?.isEmpty == false, case .array(let blocks)? = o["blocks"],
                let header = blocks.first?["text"]?["text"]?.stringValue, header.count <= 150
            else { return .text(400, "invalid_blocks") }
            return .text(200, "ok")
        }
        defer { slack.stop() }
        var config = TestConfig()
        config.metrics = "  interval: 1s\n  evaluation_interval: 1s\n"
        config.hooks = "  webhooks:\n    - name: chat\n      format: slack\n      url: \(slack.url)\n"
        config.alarms = """
              - AlarmName: collector-up
                Namespace: WhatIf/Agent
                MetricName: CollectorUp
                Dimensions: [{Name: Collector, Value: host}]
                Statistic: Maximum
                Period: 10
                EvaluationPeriods: 1
                Threshold: 1
                ComparisonOperator: GreaterThanOrEqualToThreshold

            """
        let a = try AgentProcess(config)
        let client = a.client
        #expect(eventually(timeout: 30) { (try? client.alarms().alarms.first?.stateValue) == "ALARM" })
        let set = try a.ctl(["alarms", "set-state", "collector-up", "--state", "OK", "--reason", "testing the pager"])
        #expect(set.status == 0 && set.stdout.contains("set by"), "\(set.output)")
        #expect(
            eventually(timeout: 15) {
                slack.requests.value.contains { String(decoding: $0.body, as: UTF8.self).contains("testing the pager") }
            })
        // The next evaluation puts back what the data say.
        #expect(eventually(timeout: 30) { (try? client.alarms().alarms.first?.stateValue) == "ALARM" })
        let ack = try a.ctl(["alarms", "ack", "collector-up", "--comment", "on it"])
        #expect(ack.status == 0 && ack.stdout.contains("acknowledged by"), "\(ack.output)")
        let silence = try a.ctl(["alarms", "silence", "collector-up", "--for", "2h", "--comment", "deploying"])
        #expect(silence.status == 0 && silence.stdout.contains("silenced until"), "\(silence.output)")
        let list = try a.ctl(["alarms"])
        #expect(list.stdout.contains("(silenced") && list.stdout.contains("(acked)"), "\(list.output)")
        #expect(try a.ctl(["alarms", "unsilence", "collector-up"]).status == 0)
        #expect(try a.ctl(["alarms", "silence", "collector-up", "--for", "99d"]).status == 64)
        #expect(try a.ctl(["alarms", "ack", "no-such-alarm"]).status == 66)
        let test = try a.ctl(["alarms", "test", "chat"])
        #expect(test.status == 0 && test.stdout.contains("delivered"), "\(test.output)")
        let unknown = try a.ctl(["alarms", "test", "nope"])
        #expect(unknown.status == 66 && unknown.stderr.contains("chat"), "\(unknown.output)")
        // Who did each of these is on record.
        let audit = try APICoding.decode(AuditList.self, from: Array(try a.ctl(["audit", "--json"]).stdout.utf8))
        for route in [
            "POST /v1/alarms/{id}/state", "POST /v1/alarms/{id}/ack", "POST /v1/alarms/{id}/silence",
            "DELETE /v1/alarms/{id}/silence", "POST /v1/receivers/{id}/test",
        ] {
            #expect(audit.entries.contains { $0.route == route && $0.user != nil }, "\(route) not audited")
        }
    }

    @Test func theTableShowsWhatIsThereInCommandLineTerms() throws {
        var config = TestConfig()
        config.metrics = "  interval: 1s\n  retention: 2h\n"
        let a = try AgentProcess(config)
        let client = a.client
        #expect(
            try eventually(timeout: 15) {
                Self.values(try client.metrics(name: "MemoryAvailable", since: "1h"), "MemoryAvailable").count >= 3
            })
        let table = try a.ctl(["metrics", "WhatIf/Host"])
        #expect(table.status == 0, "\(table.output)")
        let lines = table.stdout.split(separator: "\n").map(String.init)
        let header = try #require(lines.first)
        #expect(
            header.hasPrefix("METRIC") && header.contains("LAST") && header.contains("MIN") && header.contains("MAX"))
        let shown = try #require(header.split(separator: " ").last.map(String.init))
        let span = try #require(DurationText.parse(shown), "header: \(header)")
        #expect(header.contains("PAST ") && span < 120, "the agent is up seconds, the header says \(shown)")
        let bars = Set("▁▂▃▄▅▆▇█ ")
        #expect(lines.count >= 2)
        for line in lines.dropFirst() {
            let spark = line.suffix(30)
            #expect(spark.allSatisfy { bars.contains($0) } && spark.contains { $0 != " " }, "\(line)")
            #expect(line.dropLast(30).hasSuffix("  "), "a sparkline of 30 characters exactly: \(line)")
        }
        let beyond = try a.ctl(["metrics", "--since", "3h"])
        #expect(beyond.status == 65 && beyond.stdout.isEmpty, "\(beyond.output)")
        #expect(
            beyond.stderr.contains("--since 3h reaches beyond the 2h") && beyond.stderr.contains("--since 2h or less")
                && !beyond.stderr.contains("since="), "\(beyond.stderr)")
        let notADuration = try a.ctl(["metrics", "--since", "2weeks"])
        #expect(notADuration.status == 64 && notADuration.stderr.contains("--since"), "\(notADuration.output)")
        let weeks = try a.ctl(["metrics", "--since", "1w"])
        #expect(weeks.status == 65 && weeks.stderr.contains("--since 1w"), "\(weeks.output)")
        // MIN and MAX are the real extremes, also when the points are thinned to means (the table's are).
        #expect(
            try eventually(timeout: 15) {
                let thin = try client.metrics(name: "MemoryAvailable", since: "1h", maxPoints: 1).series[0]
                let all = try client.metrics(name: "MemoryAvailable", since: "1h").series[0].points.map(\.v)
                return thin.points.count == 1 && all.count >= 3 && thin.min == all.min() && thin.max == all.max()
            })
        let json = try a.ctl(["metrics", "MemoryAvailable", "--format", "json", "--since", "1h30m"])
        #expect(json.status == 0)
        let report = try APICoding.decode(MetricsReport.self, from: Array(json.stdout.utf8))
        #expect(report.retention == 7200 && report.series.count == 1)
    }

    /// `--watch [SECONDS]` draws status, alarms, jobs list and metrics again and again until stopped
    /// (here: frames under a timestamped header, as stdout is not a terminal); with --json it is refused.
    @Test func watchRedrawsUntilStopped() throws {
        var config = TestConfig()
        config.metrics = "  interval: 1s\n"
        let a = try AgentProcess(config)
        let dir = TempDir("whatif-watch")
        for (i, command) in [["status"], ["alarms"], ["jobs", "list"], ["metrics", "--since", "10m"]].enumerated() {
            let watcher = try BackgroundProcess(
                [TestPaths.binary("whatifctl")] + command + ["--watch", "0.2", "--socket", a.socket],
                logPath: dir.file("watch-\(i).log"))
            let frames = {
                watcher.log.components(separatedBy: "\n--- ").count + (watcher.log.hasPrefix("--- ") ? 0 : -1)
            }
            #expect(eventually(timeout: 20) { frames() >= 3 }, "\(command): \(watcher.log)")
            #expect(watcher.isRunning, "\(command) stopped watching: \(watcher.log)")
            watcher.signal(SIGTERM)
            #expect(watcher.wait(timeout: 10) == 128 + SIGTERM)
            #expect(watcher.log.hasPrefix("--- ") && watcher.log.contains("every 200ms:"), "\(watcher.log)")
            let refused = try a.ctl(command + ["--watch", "--json"])
            #expect(refused.status == 64 && refused.stderr.contains("--watch"), "\(command): \(refused.output)")
        }
        // A long interval sleeps (usleep's microseconds stop short of 86,400 s and trapped).
        let slow = try BackgroundProcess(
            [TestPaths.binary("whatifctl"), "alarms", "--watch", "5000", "--socket", a.socket],
            logPath: dir.file("watch-slow.log"))
        #expect(eventually(timeout: 20) { slow.log.contains("every 1h23m:") }, "\(slow.log)")
        #expect(slow.isRunning, "\(slow.log)")
        slow.signal(SIGTERM)
        #expect(slow.wait(timeout: 10) == 128 + SIGTERM)
        // A name that names nothing ends the watch at once, with its status.
        let missing = try a.ctl(["metrics", "NoSuchMetric", "--watch", "1"])
        #expect(missing.status == 66, "\(missing.output)")
    }

    @Test func historySurvivesARestart() throws {
        let textDir = TempDir("whatif-textfile")
        var config = TestConfig()
        config.metrics = "  interval: 1s\n  textfile: \(textDir.file("whatif.prom"))\n"
        let a = try AgentProcess(config)
        let client = a.client
        #expect(
            try eventually(timeout: 15) {
                Self.values(try client.metrics(name: "MemoryAvailable", since: "1h"), "MemoryAvailable").count >= 3
            })
        let first = try client.metrics(name: "MemoryAvailable", since: "1h").series[0].points
        // The node_exporter textfile is rewritten every cycle (whole: a temporary file renamed over it).
        let text = try String(contentsOfFile: textDir.file("whatif.prom"), encoding: .utf8)
        #expect(
            text.contains("# TYPE whatif_host_memory_available_bytes gauge\nwhatif_host_memory_available_bytes{host="))
        a.process.signal(SIGTERM)
        #expect(a.process.wait(timeout: 15) == 0)
        // Mid-cycle the temporary file exists beside it; once the agent has stopped nothing is left over.
        #expect(Files.list(textDir.path) == ["whatif.prom"])
        let b = try AgentProcess(config, stateDir: a.dir.file("state"))
        let again = try b.client.metrics(name: "MemoryAvailable", since: "1h").series[0].points
        #expect(Array(again.prefix(first.count)) == first)
    }

    /// In test and production the numbers come from CloudWatch: put there by the test (moto), read back.
    @Test func cloudWatchSourceReadsGetMetricData() throws {
        let stack = try Stack.shared()
        let table = "metrics-\(getpid())-\(Int.random(in: 1000...9999))"
        let put = try Run.command(
            [
                "python3", "\(TestPaths.repository)/Tests/tools/ddb_tool.py", "put-metrics",
                "\(stack.directory)/stack.env",
                "AWS/DynamoDB", "ConsumedReadCapacityUnits", "TableName=\(table)", "5,7,9",
            ], timeout: 60)
        #expect(put.status == 0, "\(put.output)")
        // The table exists with the guide's GSI: the agent finds it and reads the index's metrics too.
        let seed = try Run.command(
            [
                "python3", "\(TestPaths.repository)/Tests/tools/ddb_tool.py", "seed", "\(stack.directory)/stack.env",
                table, "3",
            ],
            timeout: 60)
        #expect(seed.status == 0, "\(seed.output)")
        let putIndex = try Run.command(
            [
                "python3", "\(TestPaths.repository)/Tests/tools/ddb_tool.py", "put-metrics",
                "\(stack.directory)/stack.env",
                "AWS/DynamoDB", "ConsumedReadCapacityUnits",
                // moto matches dimensions in order (CloudWatch does not); the agent sends them sorted by name.
                "GlobalSecondaryIndexName=userId-createdAt-index,TableName=\(table)", "2,4",
            ], timeout: 60)
        #expect(putIndex.status == 0, "\(putIndex.output)")
        var config = TestConfig.forStack(stack, table: table)
        config.postgres = nil
        config.redis = nil
        config.metrics = "  interval: 2s\n  source: cloudwatch\n"
        let a = try AgentProcess(config)
        let got = try eventually(timeout: 20) {
            Self.values(
                try a.client.metrics(name: "ConsumedReadCapacityUnits", since: "1h"), "ConsumedReadCapacityUnits",
                ["TableName": table]) == [5, 7, 9]
        }
        let report = try a.client.metrics(name: "ConsumedReadCapacityUnits", since: "1h")
        #expect(got, "\(report.series) \(report.collectors)")
        let index = try eventually(timeout: 20) {
            Self.values(
                try a.client.metrics(name: "ConsumedReadCapacityUnits", since: "1h"), "ConsumedReadCapacityUnits",
                ["TableName": table, "GlobalSecondaryIndexName": "userId-createdAt-index"]) == [2, 4]
        }
        let indexReport = try a.client.metrics(name: "ConsumedReadCapacityUnits", since: "1h")
        #expect(index, "\(indexReport.series)")
        #expect(report.collectors.first { $0.name == "cloudwatch" }?.up == true)
    }

    /// In test and production (`source: cloudwatch`) PostgreSQL and Redis are read directly too, for
    /// what AWS does not publish (slow queries and commands, transaction throughput, cache hit ratio),
    /// while what CloudWatch supplies comes only from CloudWatch.
    @Test func directCollectorsRunBesideCloudWatch() throws {
        let stack = try Stack.shared()
        var config = TestConfig.forStack(stack)
        config.dynamodb = nil
        config.metrics = "  interval: 1s\n  source: cloudwatch\n  rds_instance_id: db-beside\n"
        let a = try AgentProcess(config)
        let client = a.client
        // A statement running for more than a second is a long-running query.
        let env = [
            "PGPASSWORD": stack.pgPassword, "PGHOST": "127.0.0.1", "PGPORT": String(stack.pgPort),
            "PGUSER": "postgres",
        ]
        let sleeper = try BackgroundProcess(
            ["/usr/lib/postgresql/15/bin/psql", "-X", "-d", "postgres", "-c", "SELECT pg_sleep(15)"], environment: env,
            logPath: a.dir.file("psql.log"))
        defer { sleeper.signal(SIGKILL) }
        // Derived figures need two readings: wait for them (and the slow query) to be there.
        func names() throws -> Set<String> {
            Set(try client.metrics(name: nil, since: "1h").series.map { "\($0.namespace) \($0.name)" })
        }
        let seen = try eventually(timeout: 30) {
            let n = try names()
            let slow = Self.values(try client.metrics(name: "LongRunningQueries", since: "1h"), "LongRunningQueries")
            return n.contains("AWS/RDS CommitThroughput") && n.contains("WhatIf/Redis SlowlogEntries")
                && slow.contains { $0 >= 1 }
        }
        let found = try names()
        #expect(seen, "\(found)")
        let report = try client.metrics(name: nil, since: "1h")
        let all = try names()
        // DatabaseConnections is CloudWatch's (moto has none): the direct reading does not stand in.
        #expect(!all.contains("AWS/RDS DatabaseConnections"), "\(all)")
        #expect(report.collectors.map(\.name).sorted().contains("postgres"), "\(report.collectors)")
    }

    /// metrics.publish_namespace sends what the agent collects to CloudWatch (PutMetricData).
    @Test func publishesToCloudWatch() throws {
        let stack = try Stack.shared()
        let ns = "WhatIf/Test\(getpid())-\(Int.random(in: 1000...9999))"
        var config = TestConfig.forStack(stack)
        config.postgres = nil
        config.redis = nil
        config.dynamodb = nil
        config.metrics = "  interval: 1s\n  publish_namespace: \(ns)\n"
        let a = try AgentProcess(config)
        var names = ""
        let published = try eventually(timeout: 20) {
            let r = try Run.command(
                [
                    "python3", "\(TestPaths.repository)/Tests/tools/ddb_tool.py", "list-metrics",
                    "\(stack.directory)/stack.env", ns,
                ], timeout: 60)
            names = r.stdout
            return r.status == 0 && names.contains("MemoryAvailable") && names.contains("CPUUtilization")
        }
        #expect(published, "\(names) \(a.process.log)")
    }
}
