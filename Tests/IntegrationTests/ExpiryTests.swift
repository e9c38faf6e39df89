import Testing
import WhatIfClient
import WhatIfCore
import WhatIfProtocol
import WhatIfRedis
import WhatIfTesting

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
        let stack = try Stack.startPrivate(["redis"])
        let redis = try RedisConnection(
            RedisConfig(endpoint: RedisEndpoint(transport: .tcp(host: "127.0.0.1", port: stack.info.redisPort))))
        try Self.load(redis, n: 50_000)
        var config = TestConfig.forStack(stack.info)
        config.postgres = nil
        config.dynamodb = nil
        config.aws = nil
        config.expiry = Self.expiry + "  scan_count: 100\n  keys_per_second: 10000\n"
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
