import Foundation
import Logging
import Testing
import WhatIfCore
import WhatIfProtocol
import WhatIfRedis
import WhatIfTesting

@testable import WhatIfExpiry

final class QuietReporter: JobReporter, @unchecked Sendable {
    let last = Locked<Double>(0)
    func progress(done: Double, total: Double?, unit: String, phase: String?) { last.set(done) }
    func log(_ level: Logger.Level, _ message: String) {}
    var isCancelled: Bool { false }
}

/// Redis's clock (TIME), in milliseconds since the epoch: a TTL set between two readings ends between
/// the first plus the TTL and the second plus the TTL, however long the work between them took.
func serverMilliseconds(_ redis: RedisConnection) throws -> Int64 {
    let parts = try redis.command(["TIME"]).array?.compactMap { $0.string.flatMap { Int64($0) } } ?? []
    return try #require(parts.count == 2 ? parts[0] * 1000 + parts[1] / 1000 : nil)
}

/// On a private Redis 7 (nothing else writes to it).
@Suite(.serialized) struct SweepTests {
    let stack: PrivateStack
    let redis: RedisConnection

    init() throws {
        stack = try Stack.startPrivate(["redis"])
        redis = try RedisConnection(
            RedisConfig(
                endpoint: RedisEndpoint(transport: .tcp(host: "127.0.0.1", port: stack.info.redisPort)), timeout: 30))
    }

    /// Our glob agrees with Redis's own SCAN MATCH on awkward keys and patterns.
    @Test func globMatchesRedis() throws {
        _ = try redis.command(["FLUSHALL"])
        let keys = [
            "a", "ab", "abc", "a*c", "a?c", "a[c", "a]c", "a\\c", "x-y", "x_y", "session:1", "session:", "Session:1",
            "cache:user:42", "cache::", "[x]", "é:1", "a\nb", "", "-", "z",
        ]
        _ = try redis.pipeline(keys.map { ["SET", $0, "1"] })
        let patterns = [
            "*", "a*", "a?c", "a\\*c", "a[*]c", "a[^b]c", "[a-c]*", "[c-a]*", "*:*", "session:*", "cache:*:*",
            "\\[x\\]", "[[]x]", "a[\\]]c", "?", "*c", "a*b*c", "[", "a[bc", "x[-_]y", "é*", "a?b", "[^a-y]",
            "**", "*:", "a\\", "*[", "[^]", "[]", "a[^", "*?*", "?*?", "session:?", "[a-]*", "[-a]*", "*b*c*",
        ]
        for p in patterns {
            let reply = try redis.command(["SCAN", "0", "MATCH", p, "COUNT", "10000"])
            let theirs = Set((reply.array?[1].array ?? []).compactMap(\.string))
            let ours = Set(keys.filter { RedisGlob.matches(p, Array($0.utf8)) })
            #expect(ours == theirs, "pattern \(p): redis \(theirs.sorted()) ours \(ours.sorted())")
        }
        // Random patterns and keys over a small alphabet full of special characters.
        var rng = SystemRandomNumberGenerator()
        let alphabet = Array("ab-]^[\\*?:".utf8)
        func random(_ len: Int) -> String {
            String(decoding: (0..<len).map { _ in alphabet.randomElement(using: &rng)! }, as: UTF8.self)
        }
        _ = try redis.command(["FLUSHALL"])
        let randomKeys = Set((0..<300).map { _ in random(Int.random(in: 1...6, using: &rng)) })
        _ = try redis.pipeline(randomKeys.map { ["SET", $0, "1"] })
        for _ in 0..<300 {
            let p = random(Int.random(in: 1...7, using: &rng))
            guard p != "*" else { continue }
            let reply = try redis.command(["SCAN", "0", "MATCH", p, "COUNT", "10000"])
            let theirs = Set((reply.array?[1].array ?? []).compactMap(\.string))
            let ours = Set(randomKeys.filter { RedisGlob.matches(p, Array($0.utf8)) })
            #expect(ours == theirs, "pattern \(p): redis \(theirs.sorted()) ours \(ours.sorted())")
        }
    }

    /// Patterns that make a backtracking matcher take exponential time finish at once.
    @Test func pathologicalPatternsStayFast() {
        let key = Array(repeating: UInt8(ascii: "a"), count: 5000)
        let watch = Stopwatch()
        #expect(!RedisGlob.matches("*a*a*a*a*a*a*a*a*a*a*b", key))
        #expect(RedisGlob.matches("*a*a*a*a*a*a*a*a*a*a*", key))
        #expect(watch.elapsedSeconds < 5)
    }

    struct Fixture {
        static let policy = ExpiryPolicy(
            rules: [
                .init(pattern: "session:*", maxTTL: 3600, defaultTTL: 600, action: .enforce),
                .init(pattern: "cache:*", defaultTTL: 300, action: .enforce, type: "hash"),
                .init(pattern: "report:*", maxTTL: 60, defaultTTL: 30, action: .report),
            ],
            exclude: ["keep:*"], expectedMaxmemoryPolicy: "volatile-lru")

        /// 100,000 keys: sessions without a TTL, with a short one, with one over the maximum; cache hashes
        /// with and without a TTL and cache strings (another type); report-only keys; excluded and
        /// unmatched keys.
        static func load(_ redis: RedisConnection, n: Int = 100_000) throws {
            _ = try redis.command(["FLUSHALL"])
            var batch: [[String]] = []
            func flush() throws {
                if !batch.isEmpty { _ = try redis.pipeline(batch) }
                batch = []
            }
            for i in 0..<n {
                switch i % 10 {
                case 0, 1, 2: batch.append(["SET", "session:\(i)", "v"])
                case 3: batch.append(["SET", "session:\(i)", "v", "EX", "100"])
                case 4: batch.append(["SET", "session:\(i)", "v", "EX", "100000"])
                case 5: batch.append(["HSET", "cache:\(i)", "f", "v"])
                case 6:
                    batch.append(["HSET", "cache:\(i)", "f", "v"])
                    batch.append(["EXPIRE", "cache:\(i)", "50"])
                case 7: batch.append(["SET", "cache:\(i)", "v"])
                case 8: batch.append(["SET", i % 20 == 8 ? "report:\(i)" : "keep:\(i)", "v"])
                default: batch.append(["SET", "other:\(i)", "v"])
                }
                if batch.count >= 1000 { try flush() }
            }
            try flush()
        }
    }

    @Test func dryRunChangesNothingAndCountsExactly() throws {
        try Fixture.load(redis)
        let before = try redis.command(["DEBUG", "DIGEST"]).string
        let sweeper = ExpirySweeper(
            policy: Fixture.policy, settings: SweepSettings(), enforce: false, connection: redis,
            reporter: QuietReporter())
        let r = try sweeper.run()
        #expect(try redis.command(["DEBUG", "DIGEST"]).string == before)
        #expect(r.complete && r.mode == "dry-run")
        #expect(r.scanned == 100_000)
        #expect(r.excluded == 5000 && r.unmatched == 10_000)
        #expect(r.rules[0].matched == 50_000 && r.rules[0].withoutTTL == 30_000 && r.rules[0].overMax == 10_000)
        #expect(r.rules[1].matched == 20_000 && r.rules[1].withoutTTL == 10_000 && r.rules[1].overMax == 0)
        #expect(r.rules[2].matched == 5000 && r.rules[2].withoutTTL == 5000)
        #expect(r.rules.allSatisfy { $0.fixed == 0 })
        #expect(r.rules[0].samples.count == 10 && r.rules[0].samples.allSatisfy { ($0.memoryBytes ?? 0) > 0 })
        #expect(r.findings.contains { $0.contains("expected volatile-lru") })
    }

    /// Enforce fixes exactly the violating keys of enforce rules, checked key by key.
    @Test(arguments: [false, true]) func enforceFixesExactlyTheViolations(script: Bool) throws {
        let n = script ? 20_000 : 100_000
        try Fixture.load(redis, n: n)
        let sweeper = ExpirySweeper(
            policy: Fixture.policy, settings: SweepSettings(), enforce: true, connection: redis,
            reporter: QuietReporter())
        sweeper.forceScript = script
        // The server's clock around the sweep: a TTL it sets ends between start + TTL and end + TTL, however
        // long the sweep takes.
        let start = try serverMilliseconds(redis)
        let r = try sweeper.run()
        let end = try serverMilliseconds(redis)
        #expect(r.rules[0].fixed == Int64(n / 10 * 4))  // 3 of 10 without a TTL, 1 of 10 over the maximum
        #expect(r.rules[1].fixed == Int64(n / 10))
        #expect(r.rules[2].fixed == 0)
        var keys: [String] = []
        for i in 0..<n {
            switch i % 10 {
            case 0...7: keys.append(i % 10 >= 5 ? "cache:\(i)" : "session:\(i)")
            case 8: keys.append(i % 20 == 8 ? "report:\(i)" : "keep:\(i)")
            default: keys.append("other:\(i)")
            }
        }
        var expiries: [Int64] = []
        var i = 0
        while i < keys.count {
            let chunk = Array(keys[i..<min(i + 1000, keys.count)])
            expiries += try redis.pipeline(chunk.map { ["PEXPIRETIME", $0] }).map { $0.int ?? -99 }
            i += chunk.count
        }
        /// Set by the sweep to `seconds`.
        func setBySweep(_ at: Int64, _ seconds: Int64) -> Bool {
            at >= start + seconds * 1000 && at <= end + seconds * 1000
        }
        /// Left as the fixture set it, `seconds` before the sweep began.
        func leftAlone(_ at: Int64, _ seconds: Int64) -> Bool { at > 0 && at <= start + seconds * 1000 }
        for (k, (key, at)) in zip(keys, expiries).enumerated() {
            let ok: Bool
            switch k % 10 {
            case 0, 1, 2: ok = setBySweep(at, 600)
            case 3: ok = leftAlone(at, 100)
            case 4: ok = setBySweep(at, 3600)
            case 5: ok = setBySweep(at, 300)
            case 6: ok = leftAlone(at, 50)
            case 7, 8, 9: ok = at == -1
            default: ok = false
            }
            if !ok {
                Issue.record("\(key): expires at \(at) ms; the sweep ran from \(start) to \(end) ms")
                break
            }
        }
    }

    /// A sweep stopped part way resumes from its checkpoint and ends with the same totals.
    @Test func resumesFromItsCheckpoint() throws {
        try Fixture.load(redis, n: 20_000)
        var saved: [SweepCheckpoint] = []
        let first = ExpirySweeper(
            policy: Fixture.policy, settings: SweepSettings(scanCount: 100, checkpointEvery: 5), enforce: false,
            connection: redis, reporter: QuietReporter(), saveCheckpoint: { saved.append($0) })
        let full = try first.run()
        let mid = try #require(saved.first { !$0.cursor.isEmpty && $0.cursor != "0" })
        let second = ExpirySweeper(
            policy: Fixture.policy, settings: SweepSettings(scanCount: 100), enforce: false, connection: redis,
            reporter: QuietReporter(), resumeFrom: mid)
        let resumed = try second.run()
        #expect(resumed.resumed)
        #expect(resumed.scanned == full.scanned)
        #expect(resumed.rules.map(\.matched) == full.rules.map(\.matched))
        // A checkpoint of another policy is not used.
        var other = mid
        other.fingerprint = "something else"
        let third = try ExpirySweeper(
            policy: Fixture.policy, settings: SweepSettings(), enforce: false, connection: redis,
            reporter: QuietReporter(), resumeFrom: other
        ).run()
        #expect(!third.resumed && third.scanned == 20_000)
    }
}

/// ElastiCache's shape: TLS, an ACL user with only what a sweep needs, and a replica refused.
@Suite struct ElastiCacheShapeTests {
    @Test func tlsWithALeastPrivilegeACLUser() throws {
        let ca = try TestCA()
        let (cert, key) = try ca.issue("redis", names: ["127.0.0.1"])
        let server = try RedisServer(tls: (cert, key, ca.caCert))
        _ = try server.cli(
            "ACL", "SETUSER", "sweeper", "on", ">pw", "~*", "+@read", "+expire", "+info", "+dbsize", "+memory",
            "+ping")
        let admin = try RedisConnection(
            RedisConfig(endpoint: RedisEndpoint(transport: .tcp(host: "127.0.0.1", port: server.port))))
        _ = try admin.pipeline((0..<5000).map { ["SET", "session:\($0)", "v"] })
        var ep = try RedisEndpoint.parse("rediss://127.0.0.1:\(try #require(server.tlsPort))")
        ep.username = "sweeper"
        ep.password = "pw"
        let conn = try RedisConnection(RedisConfig(endpoint: ep, caFile: ca.caCert))
        #expect(conn.tlsInUse)
        // The user cannot delete anything, and the sweep does not need to.
        #expect(try conn.command(["DEL", "session:1"]).isError)
        let r = try ExpirySweeper(
            policy: ExpiryPolicy(rules: [.init(pattern: "session:*", defaultTTL: 60, action: .enforce)]),
            settings: SweepSettings(), enforce: true, connection: conn, reporter: QuietReporter()
        ).run()
        #expect(r.rules[0].fixed == 5000)
        #expect(try admin.command(["TTL", "session:4999"]).int ?? 0 > 0)
    }

    /// A refused per-key command is an error naming it, never "every key vanished" and a report of nothing.
    @Test func aRefusedCommandIsAnErrorNotVanishedKeys() throws {
        let server = try RedisServer()
        _ = try server.cli(
            "ACL", "SETUSER", "nopttl", "on", ">pw", "~*", "+@read", "-pttl", "+info", "+dbsize", "+memory")
        let admin = try RedisConnection(
            RedisConfig(endpoint: RedisEndpoint(transport: .tcp(host: "127.0.0.1", port: server.port))))
        _ = try admin.pipeline((0..<100).map { ["SET", "session:\($0)", "v"] })
        var ep = RedisEndpoint(transport: .tcp(host: "127.0.0.1", port: server.port))
        ep.username = "nopttl"
        ep.password = "pw"
        let conn = try RedisConnection(RedisConfig(endpoint: ep))
        let refused = { (e: any Error) in "\(e)".contains("Redis refused PTTL") && "\(e)".contains("ACL") }
        #expect(
            performing: {
                try ExpirySweeper(
                    policy: ExpiryPolicy(rules: [.init(pattern: "session:*", defaultTTL: 60, action: .report)]),
                    settings: SweepSettings(), enforce: false, connection: conn, reporter: QuietReporter()
                ).run()
            }, throws: refused)
        #expect(
            performing: {
                try KeyAuditor(settings: SweepSettings(), connection: conn, reporter: QuietReporter()).run()
            }, throws: refused)
    }

    @Test func enforcingOnAReplicaIsRefused() throws {
        let primary = try RedisServer()
        let replica = try RedisServer()
        _ = try replica.cli("REPLICAOF", "127.0.0.1", String(primary.port))
        let conn = try RedisConnection(
            RedisConfig(endpoint: RedisEndpoint(transport: .tcp(host: "127.0.0.1", port: replica.port))))
        let policy = ExpiryPolicy(rules: [.init(pattern: "*", defaultTTL: 60, action: .enforce)])
        #expect {
            try ExpirySweeper(
                policy: policy, settings: SweepSettings(), enforce: true, connection: conn, reporter: QuietReporter()
            ).run()
        } throws: { e in
            "\(e)".contains("replica") && ((e as? Failure)?.hint ?? "").contains("primary")
        }
        // A dry run on a replica is fine (it only reads).
        #expect(
            try ExpirySweeper(
                policy: policy, settings: SweepSettings(), enforce: false, connection: conn, reporter: QuietReporter()
            ).run().complete)
    }
}

/// Keys written, changed and deleted while the sweep runs: nothing is deleted by the sweep, and no key
/// ends with a TTL the policy no longer asks for.
@Suite struct ConcurrentChangeTests {
    @Test func writersDuringTheSweep() throws {
        let server = try RedisServer()
        let endpoint = RedisEndpoint(transport: .tcp(host: "127.0.0.1", port: server.port))
        let setup = try RedisConnection(RedisConfig(endpoint: endpoint))
        let n = 20_000
        var batch: [[String]] = []
        for i in 0..<n {
            batch.append(i % 2 == 0 ? ["SET", "session:\(i)", "v"] : ["SET", "session:\(i)", "v", "EX", "100000"])
            if batch.count == 1000 {
                _ = try setup.pipeline(batch)
                batch = []
            }
        }
        let sweepConn = try RedisConnection(RedisConfig(endpoint: endpoint))
        let sweeper = ExpirySweeper(
            policy: ExpiryPolicy(rules: [.init(pattern: "session:*", maxTTL: 3600, defaultTTL: 600, action: .enforce)]),
            settings: SweepSettings(scanCount: 100, keysPerSecond: 8000), enforce: true, connection: sweepConn,
            reporter: QuietReporter())
        let outcome = Locked<Result<ExpiryReport, any Error>?>(nil)
        let start = try serverMilliseconds(setup)
        let t = Threads.start { outcome.set(Result { try sweeper.run() }) }
        // While it runs: delete some keys, give others a TTL, persist some, add new ones.
        let writer = try RedisConnection(RedisConfig(endpoint: endpoint))
        for round in 0..<20 {
            var cmds: [[String]] = []
            for j in stride(from: round, to: n, by: 40) {
                switch j % 8 {
                case 0: cmds.append(["DEL", "session:\(j)"])
                case 2: cmds.append(["EXPIRE", "session:\(j)", "3000"])
                case 1, 3: cmds.append(["PERSIST", "session:\(j)"])
                default: break
                }
            }
            cmds.append(["SET", "session:new:\(round)", "v"])
            _ = try writer.pipeline(cmds)
            sleepThread(seconds: 0.05)
        }
        t.join()
        let end = try serverMilliseconds(setup)
        let report = try #require(try outcome.value?.get())
        #expect(report.complete)
        var touched: [(Int, Int)] = []
        for round in 0..<20 { for j in stride(from: round, to: n, by: 40) { touched.append((j, j % 8)) } }
        // When each key expires (PEXPIRETIME: -2 gone, -1 no TTL), against Redis's clock around the run.
        let replies = try setup.pipeline(touched.map { ["PEXPIRETIME", "session:\($0.0)"] })
        func setDuringTheRun(_ at: Int64, _ seconds: Int64) -> Bool {
            at >= start + seconds * 1000 && at <= end + seconds * 1000
        }
        for ((j, kind), reply) in zip(touched, replies) {
            let at = reply.int ?? -99
            switch kind {
            case 0: #expect(at == -2, "deleted key \(j) came back: \(at)")
            case 2:
                // Given a TTL within the maximum by the writer: the writer's 3000 whichever came first (it
                // replaces the sweep's default; or the sweep's NX leaves it alone).
                #expect(setDuringTheRun(at, 3000), "key \(j) given a TTL of 3000 expires at \(at) ms")
            case 1, 3:
                // Keys that had a TTL over the maximum, persisted meanwhile: either the sweep lowered the TTL
                // before the PERSIST (-1 now) or saw a key without a TTL and gave it the default. Never the
                // maximum after the PERSIST: the lowering is XX, it only touches a key that still has a TTL.
                #expect(at == -1 || setDuringTheRun(at, 600), "persisted key \(j) expires at \(at) ms")
            default: break
            }
        }
        // Keys nobody touched: every one is within the policy; none was deleted.
        #expect(try setup.command(["EXISTS", "session:4"]).int == 1)
        #expect((try setup.command(["TTL", "session:4"]).int ?? 0) > 0)
        // Nothing expires within the test (the shortest TTL given is 600 s), so the only keys gone are the
        // ones the writer deleted.
        let deleted = touched.filter { $0.1 == 0 }.count
        #expect(try setup.command(["DBSIZE"]).int == Int64(n - deleted + 20))
    }
}

/// The audit's prefixes: up to the depth-th delimiter, whatever its length.
@Suite struct KeyPrefixTests {
    @Test func prefixesOfKeys() {
        let colon = Array(":".utf8)
        #expect(KeyAuditor.prefix(of: Array("session:42".utf8), delimiter: colon, depth: 1) == "session:*")
        #expect(KeyAuditor.prefix(of: Array("cache:user:7".utf8), delimiter: colon, depth: 2) == "cache:user:*")
        #expect(KeyAuditor.prefix(of: Array("cache:7".utf8), delimiter: colon, depth: 2) == nil)
        #expect(KeyAuditor.prefix(of: Array("plain".utf8), delimiter: colon, depth: 1) == nil)
        #expect(KeyAuditor.prefix(of: Array("a::b".utf8), delimiter: Array("::".utf8), depth: 1) == "a::*")
    }
}
