import Testing
import WhatIfAgentTesting
import WhatIfClient
import WhatIfCore
import WhatIfProtocol
import WhatIfRedis
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

/// `whatifctl redis expiry` end to end: whatifd's job on a private Redis 7.
@Suite(.serialized) struct ExpiryJobTests {
    static let expiry = """
          maxmemory_policy: volatile-lru
          exclude: ["keep:*"]
          rules:
            - match: "session:*"
              max_ttl: 1h
              default_ttl: 10m
              action: enforce

        """

    /// A private Redis 7 loaded with `n` keys (see `load`), its connection, and an agent config for it
    /// with only Redis and the expiry policy (plus `expiry`'s extra lines).
    static func redisOnly(keys n: Int, expiry extra: String? = nil) throws -> (
        PrivateStack, RedisConnection, TestConfig
    ) {
        let stack = try Stack.startPrivate(["redis"])
        let redis = try RedisConnection(
            RedisConfig(endpoint: RedisEndpoint(transport: .tcp(host: "127.0.0.1", port: stack.info.redisPort))))
        if n > 0 { try load(redis, n: n) }
        var config = TestConfig.forStack(stack.info)
        config.postgres = nil
        config.dynamodb = nil
        config.aws = nil
        config.expiry = extra.map { expiry + $0 }
        return (stack, redis, config)
    }

    /// n keys: 4 of 10 sessions without a TTL, 1 of 10 over the maximum, 1 of 10 with a short TTL,
    /// 2 of 10 excluded, 2 of 10 matching no rule.
    static func load(_ redis: RedisConnection, n: Int) throws {
        _ = try redis.command(["FLUSHALL"])
        var batch: [[String]] = []
        for i in 0..<n {
            switch i % 10 {
            case 0...3: batch.append(["SET", "session:\(i)", "v"])
            case 4: batch.append(["SET", "session:\(i)", "v", "EX", "100000"])
            case 5: batch.append(["SET", "session:\(i)", "v", "EX", "100"])
            case 6, 7: batch.append(["SET", "keep:\(i)", "v"])
            default: batch.append(["SET", "other:\(i)", "v"])
            }
            if batch.count == 1000 {
                _ = try redis.pipeline(batch)
                batch = []
            }
        }
        if !batch.isEmpty { _ = try redis.pipeline(batch) }
    }

    static func ttls(_ redis: RedisConnection, n: Int) throws -> [Int64] {
        var out: [Int64] = []
        var i = 0
        while i < n {
            let end = min(i + 1000, n)
            out += try redis.pipeline(
                (i..<end).map { k in
                    let name = k % 10 <= 5 ? "session:\(k)" : k % 10 <= 7 ? "keep:\(k)" : "other:\(k)"
                    return ["TTL", name]
                }
            ).map { $0.int ?? -99 }
            i = end
        }
        return out
    }

    static func checkEnforced(_ ttls: [Int64]) -> String? {
        for (k, t) in ttls.enumerated() {
            let ok =
                switch k % 10 {
                case 0...3: t > 500 && t <= 600
                case 4: t > 3500 && t <= 3600
                case 5: t > 0 && t <= 100
                default: t == -1
                }
            if !ok { return "key \(k): TTL \(t)" }
        }
        return nil
    }

    @Test func dryRunThenEnforceThroughWhatifctl() throws {
        let stack = try Stack.startPrivate(["redis"])
        let redis = try RedisConnection(
            RedisConfig(endpoint: RedisEndpoint(transport: .tcp(host: "127.0.0.1", port: stack.info.redisPort))))
        try Self.load(redis, n: 20_000)
        var config = TestConfig.forStack(stack.info)
        config.postgres = nil
        config.dynamodb = nil
        config.aws = nil
        config.expiry = Self.expiry
        let a = try AgentProcess(config)
        let digest = try redis.command(["DEBUG", "DIGEST"]).string
        let dry = try a.ctl(["redis", "expiry"])
        #expect(dry.status == 0, "\(dry.output)")
        #expect(dry.stdout.contains("dry-run: 20000 keys scanned"))
        #expect(dry.stdout.contains("session:*"))
        #expect(try redis.command(["DEBUG", "DIGEST"]).string == digest)
        let last = try a.client.lastExpiryReport()
        #expect(last.rules[0].withoutTTL == 8000 && last.rules[0].overMax == 2000 && last.excluded == 4000)
        #expect(last.findings.contains { $0.contains("maxmemory-policy is noeviction, expected volatile-lru") })

        let enforce = try a.ctl(["redis", "expiry", "--enforce", "--json"])
        #expect(enforce.status == 0, "\(enforce.output)")
        #expect(Self.checkEnforced(try Self.ttls(redis, n: 20_000)) == nil)
        #expect(try a.client.lastExpiryReport().rules[0].fixed == 10_000)
        // The sweep's counts are metrics an alarm can use.
        let m = try a.client.metrics(name: "WhatIf/Redis", since: "1h")
        #expect(m.series.contains { $0.name == "KeysWithoutTTL" && $0.points.last?.v == 0 })
        // Two sweeps at once: the second is refused with 75.
        let slow = try a.client.startExpirySweep(enforce: false, keysPerSecond: 2000)
        let busy = try a.ctl(["redis", "expiry"])
        #expect(busy.status == 75, "\(busy.output)")
        _ = try a.client.cancelJob(slow.id)
    }

    /// whatifd killed mid-sweep: the rerun resumes from the checkpoint; Redis restarted mid-sweep: the job
    /// fails with a clear message and a rerun completes.
    @Test func killAndRestartMidSweep() throws {
        let (stack, redis, config) = try Self.redisOnly(
            keys: 50_000, expiry: "  scan_count: 100\n  keys_per_second: 10000\n")
        let a = try AgentProcess(config)
        let job = try a.client.startExpirySweep(enforce: true)
        #expect(eventually(timeout: 20) { ((try? a.client.job(job.id))?.progress?.done ?? 0) >= 15_000 })
        a.process.signal(SIGKILL)
        _ = a.process.wait(timeout: 10)
        let b = try AgentProcess(config, stateDir: a.dir.file("state"))
        let rerun = try b.ctl(["redis", "expiry", "--enforce"])
        #expect(rerun.status == 0, "\(rerun.output)")
        let report = try b.client.lastExpiryReport()
        #expect(report.resumed)
        #expect(report.scanned >= 50_000)
        #expect(Self.checkEnforced(try Self.ttls(redis, n: 50_000)) == nil)

        // Redis goes away mid-sweep.
        let second = try b.client.startExpirySweep(enforce: false)
        #expect(eventually(timeout: 20) { ((try? b.client.job(second.id))?.progress?.done ?? 0) >= 5000 })
        try stack.stop("redis")
        #expect(eventually(timeout: 30) { (try? b.client.job(second.id))?.state == .failed })
        let failed = try b.client.job(second.id)
        #expect(failed.error?.message.isEmpty == false)
        try stack.start("redis")
        let again = try b.ctl(["redis", "expiry"])
        #expect(again.status == 0, "\(again.output)")
    }

    /// SIGTERM while a sweep runs (systemctl stop): whatifd exits 0 well within the unit's
    /// TimeoutStopSec, the job is recorded as stopped with its checkpoint on disk, and the next start's
    /// sweep resumes there and covers every key.
    @Test func sigtermMidSweepEndsRecordedAndResumable() throws {
        let unit = try String(
            contentsOfFile: "\(TestPaths.repository)/packaging/debian/whatif-agent.whatifd.service", encoding: .utf8)
        let stopLimit = try #require(
            unit.split(separator: "\n").first { $0.hasPrefix("TimeoutStopSec=") }
                .flatMap { DurationText.parse(String($0.dropFirst("TimeoutStopSec=".count))) })
        let (stack, _, config) = try Self.redisOnly(
            keys: 30_000, expiry: "  scan_count: 100\n  keys_per_second: 5000\n")
        defer { withExtendedLifetime(stack) {} }
        let a = try AgentProcess(config)
        let job = try a.client.startExpirySweep(enforce: false)
        #expect(eventually(timeout: 20) { ((try? a.client.job(job.id))?.progress?.done ?? 0) >= 5000 })
        let stopping = Date()
        a.process.signal(SIGTERM)
        let status = a.process.wait(timeout: stopLimit)
        let took = Date().timeIntervalSince(stopping)
        #expect(status == 0 && took < stopLimit, "exit \(String(describing: status)) after \(took) s: \(a.process.log)")
        let record = try APICoding.decode(
            JobInfo.self, from: try Files.read(a.dir.file("state/jobs/\(job.id).json"), limit: 1 << 20))
        #expect(record.state == .cancelled || record.state == .interrupted, "\(record.state)")
        #expect(
            Files.exists(a.dir.file("state/checkpoints/redis.expiry-redis.json")),
            "\(Files.list(a.dir.file("state/checkpoints")))")

        let b = try AgentProcess(config, stateDir: a.dir.file("state"))
        let rerun = try b.ctl(["redis", "expiry"])
        #expect(rerun.status == 0, "\(rerun.output)")
        let report = try b.client.lastExpiryReport()
        #expect(report.resumed && (report.resumedAfter ?? 0) >= 5000, "\(report)")
        #expect(report.scanned >= 30_000 && report.rules[0].matched + report.excluded + report.unmatched >= 30_000)
    }

    /// A checkpoint is bound to the server it was taken on: after Redis restarts (a new run_id) and is
    /// reseeded, the rerun starts over and says so, fixes every key, and reports no more keys than it read
    /// (it used to resume at the old cursor and report keys it never looked at as fixed).
    @Test func aSweepDoesNotResumeOnARestartedRedis() throws {
        let stack = try Stack.startPrivate(["redis"])
        func connect() throws -> RedisConnection {
            try RedisConnection(
                RedisConfig(endpoint: RedisEndpoint(transport: .tcp(host: "127.0.0.1", port: stack.info.redisPort))))
        }
        try Self.load(try connect(), n: 60_000)
        var config = TestConfig.forStack(stack.info)
        config.postgres = nil
        config.dynamodb = nil
        config.aws = nil
        config.expiry = Self.expiry + "  scan_count: 100\n  keys_per_second: 10000\n"
        let a = try AgentProcess(config)
        let job = try a.client.startExpirySweep(enforce: true)
        #expect(eventually(timeout: 30) { ((try? a.client.job(job.id))?.progress?.done ?? 0) >= 20_000 })
        a.process.signal(SIGKILL)
        _ = a.process.wait(timeout: 10)
        let checkpoints = a.dir.file("state") + "/checkpoints"
        #expect(
            ((try? FileManager.default.contentsOfDirectory(atPath: checkpoints)) ?? []).contains {
                $0.hasPrefix("redis.expiry")
            })
        // Redis restarts and is loaded again: a new run_id, a new hash table, every key without its TTL.
        try stack.stop("redis")
        try stack.start("redis")
        let redis = try connect()
        try Self.load(redis, n: 60_000)
        let b = try AgentProcess(config, stateDir: a.dir.file("state"))
        let rerun = try b.ctl(["redis", "expiry", "--enforce"])
        #expect(rerun.status == 0, "\(rerun.output)")
        #expect(rerun.stdout.contains("started over: the checkpoint belongs to run_id"), "\(rerun.output)")
        let report = try b.client.lastExpiryReport()
        #expect(!report.resumed && report.resumedAfter == nil)
        #expect(report.startedOver?.contains("Redis restarted or another server") == true, "\(report)")
        // Every key was read by this run: SCAN may return a key twice, never a key that is not there.
        #expect(report.scanned >= 60_000 && report.scanned < 66_000, "\(report.scanned)")
        let rule = try #require(report.rules.first)
        // Fixed is what Redis acknowledged: the 24,000 keys without a TTL and the 6,000 over the maximum.
        #expect(rule.withoutTTL == 24_000 && rule.overMax == 6_000 && rule.fixed == 30_000, "\(rule)")
        #expect(Self.checkEnforced(try Self.ttls(redis, n: 60_000)) == nil)
        // A dry run right after finds nothing left without a TTL.
        #expect(try b.ctl(["redis", "expiry"]).status == 0)
        #expect(try b.client.lastExpiryReport().rules.first?.withoutTTL == 0)
    }

    /// expiry.schedule starts sweeps on its own, at its pace.
    @Test func scheduledSweepsRun() throws {
        let stack = try Stack.startPrivate(["redis"])
        let redis = try RedisConnection(
            RedisConfig(endpoint: RedisEndpoint(transport: .tcp(host: "127.0.0.1", port: stack.info.redisPort))))
        try Self.load(redis, n: 1000)
        var config = TestConfig.forStack(stack.info)
        config.postgres = nil
        config.dynamodb = nil
        config.aws = nil
        config.expiry = Self.expiry + "  schedule: { every: 2s, mode: dry-run, keys_per_second: 5000 }\n"
        let a = try AgentProcess(config)
        let ran = eventually(timeout: 30) {
            let jobs = (try? a.client.jobs()) ?? []
            return jobs.filter { $0.kind == "redis.expiry" && $0.requestedBy == "schedule" && $0.state == .succeeded }
                .count >= 2
        }
        #expect(ran)
        // A dry run: the keys without a TTL still have none.
        #expect(try redis.command(["TTL", "session:0"]).int == -1)
        #expect(try a.client.lastExpiryReport().mode == "dry-run")
    }
}

/// `whatifctl redis expiry --audit`: no policy needed; keys without a TTL by prefix and type with the
/// memory Redis itself reports for them, paced like the sweep, read-only.
@Suite(.serialized) struct KeyAuditTests {
    @Test func keysWithoutATTLByPrefixAndTypeWithTheirMemory() throws {
        let stack = try Stack.startPrivate(["redis"])
        let redis = try RedisConnection(
            RedisConfig(endpoint: RedisEndpoint(transport: .tcp(host: "127.0.0.1", port: stack.info.redisPort))))
        _ = try redis.command(["FLUSHALL"])
        var batch: [[String]] = []
        for i in 0..<300 { batch.append(["SET", "user:\(i)", String(repeating: "x", count: 100)]) }
        for i in 0..<100 { batch.append(["SET", "session:\(i)", "v", "EX", "3600"]) }
        for i in 0..<50 { batch.append(["HSET", "cart:\(i)", "a", "1", "b", "2"]) }
        for i in 0..<50 { batch.append(["RPUSH", "cache:user:\(i)", "1", "2", "3"]) }
        batch.append(["SET", "user:big", String(repeating: "y", count: 100_000)])
        batch.append(["SET", "nodelimiter", "v"])
        _ = try redis.pipeline(batch)
        // What Redis says each key holds, to compare the report with.
        func memory(_ pattern: String) throws -> Int64 {
            var total: Int64 = 0
            var cursor = "0"
            repeat {
                let r = try redis.command(["SCAN", cursor, "MATCH", pattern, "COUNT", "1000"])
                cursor = r.array![0].string!
                for k in r.array![1].array! { total += try redis.command(["MEMORY", "USAGE", k.string!]).int! }
            } while cursor != "0"
            return total
        }
        var config = TestConfig.forStack(stack.info)
        config.postgres = nil
        config.dynamodb = nil
        config.aws = nil
        config.expiry = nil
        let a = try AgentProcess(config)
        // Without a policy a sweep is a configuration problem; the audit is not.
        #expect(try a.ctl(["redis", "expiry"]).status == 78)
        let digest = try redis.command(["DEBUG", "DIGEST"]).string
        let json = try a.ctl(["redis", "expiry", "--audit", "--json"])
        #expect(json.status == 0, "\(json.output)")
        let job = try APICoding.decode(JobInfo.self, from: Array(json.stdout.utf8))
        let r = try #require(try job.result(as: JobSpecs.RedisAudit.self))
        #expect(r.scanned == 502 && r.vanished == 0 && r.complete)
        func group(_ prefix: String, _ type: String) -> KeyGroupReport? {
            r.groups.first { $0.prefix == prefix && $0.type == type }
        }
        let users = try #require(group("user:*", "string"))
        #expect(users.keys == 301 && users.withoutTTL == 301 && users.biggestKey == "user:big")
        #expect(users.bytes == (try memory("user:*")) && users.bytesWithoutTTL == users.bytes)
        let sessions = try #require(group("session:*", "string"))
        #expect(sessions.keys == 100 && sessions.withoutTTL == 0 && sessions.bytesWithoutTTL == 0)
        #expect(group("cart:*", "hash")?.keys == 50 && group("cache:*", "list")?.withoutTTL == 50)
        #expect(group("(no prefix)", "string")?.keys == 1)
        #expect(r.groups.first?.prefix == "user:*", "the most memory without a TTL first")
        #expect(r.biggest.first?.key == "user:big" && r.biggest.count == 10)
        #expect(r.findings.contains { $0.contains("noeviction") && $0.contains("402 key(s)") }, "\(r.findings)")
        #expect(try redis.command(["DEBUG", "DIGEST"]).string == digest, "the audit changed nothing")

        // The table, and a prefix two parts deep.
        let table = try a.ctl(["redis", "expiry", "--audit", "--depth", "2"])
        #expect(table.status == 0, "\(table.output)")
        #expect(table.stdout.contains("502 keys scanned") && table.stdout.contains("cache:user:*"), "\(table.stdout)")
        #expect(table.stdout.contains("PREFIX") && table.stdout.contains("NO-TTL MEMORY"))
        #expect(table.stderr.contains("finding: maxmemory-policy noeviction"))

        // Paced like the sweep: 502 keys at 250 keys/s take at least 2 s.
        let started = Date()
        let paced = try a.ctl(["redis", "expiry", "--audit", "--keys-per-second", "250", "--json"])
        #expect(paced.status == 0 && Date().timeIntervalSince(started) >= 1.9, "\(paced.output)")

        // Bad values: the command line refuses them (64), the API too (422 -> 65).
        #expect(try a.ctl(["redis", "expiry", "--audit", "--depth", "0"]).status == 64)
        #expect(try a.ctl(["redis", "expiry", "--audit", "--enforce"]).status == 64)
        #expect(try a.ctl(["redis", "expiry", "--delimiter", "/"]).status == 64)
        let api = try a.ctl(["jobs", "start", "redis.audit", "--params", #"{"depth": 0}"#])
        #expect(api.status == 65 && api.stderr.contains("depth"), "\(api.output)")
        let unknown = try a.ctl(["jobs", "start", "redis.audit", "--params", #"{"delimter": "/"}"#])
        #expect(unknown.status == 65 && unknown.stderr.contains("delimter"), "\(unknown.output)")
    }
}
