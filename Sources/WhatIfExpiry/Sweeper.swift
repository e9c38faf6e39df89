import WhatIfCore
import WhatIfProtocol
import WhatIfRedis

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

package struct SweepSettings: Sendable, Equatable {
    /// SCAN's COUNT hint (lowered while batches run over `batchBudget`).
    package var scanCount: Int = 1000
    /// At most this many keys looked at per second (nil: no limit).
    package var keysPerSecond: Double?
    /// A batch (SCAN, PTTL/TYPE, EXPIRE round trips) taking longer than this halves the next COUNT, one
    /// well under it doubles it (up to scanCount). Redis runs a client's whole pipeline in one go, so big
    /// batches are what delays the application's commands: 1 ms kept a GET load's p99 within 2x in
    /// bench/expiry.sh.
    package var batchBudget: Double = 0.001
    /// Offending keys kept per rule for the report.
    package var sampleSize: Int = 10
    /// Save the cursor every this many batches.
    package var checkpointEvery: Int = 10

    // memberwise-init: package
}

/// Where a sweep stopped, to resume: the SCAN cursor and the counts so far.
package struct SweepCheckpoint: Codable, Sendable, Equatable {
    package var cursor: String
    package var fingerprint: String
    /// The server and database the cursor belongs to (`run_id` changes when Redis restarts, and a cursor
    /// means nothing on another server); nil in checkpoints from before it was recorded.
    package var target: String?
    package var scanned: Int64
    package var excluded: Int64
    package var unmatched: Int64
    package var rules: [ExpiryRuleReport]
}

/// One pass over the keyspace: SCAN (never KEYS), per batch pipelined PTTL (and TYPE where a rule
/// filters on it), then, when enforcing, pipelined `EXPIRE key s NX` for keys without a TTL and
/// `EXPIRE key s XX LT` for keys over the maximum (Redis >= 7; a Lua script doing the same before).
/// NX, XX and LT make each fix conditional on the key as it is when the fix lands: a key that got a TTL,
/// lost one or vanished meanwhile is left as it is, and nothing is ever deleted.
package final class ExpirySweeper {
    let policy: ExpiryPolicy
    let settings: SweepSettings
    let enforce: Bool
    let connection: RedisConnection
    let reporter: any JobReporter
    let saveCheckpoint: (SweepCheckpoint) -> Void
    let resumeFrom: SweepCheckpoint?
    /// Use the Lua script even on Redis 7 (tests of the Redis 6 path).
    var forceScript = false
    /// How per-key pipelines (PTTL, TYPE, EXPIRE, MEMORY USAGE) are sent: on `connection`, or in a
    /// cluster through `ClusterConnections`, which follows MOVED and ASK replies.
    var pipeline: ([[[UInt8]]]) throws -> [RESPValue]
    /// A cluster node's id, part of the checkpoint's target.
    var nodeId: String?

    static let script = """
        local t = redis.call('PTTL', KEYS[1])
        if ARGV[2] == 'nx' then
          if t == -1 then return redis.call('EXPIRE', KEYS[1], ARGV[1]) end
          return 0
        end
        if t > 0 and t > tonumber(ARGV[1]) * 1000 then return redis.call('EXPIRE', KEYS[1], ARGV[1]) end
        return 0
        """

    package init(
        policy: ExpiryPolicy, settings: SweepSettings, enforce: Bool, connection: RedisConnection,
        reporter: any JobReporter, resumeFrom: SweepCheckpoint? = nil,
        saveCheckpoint: @escaping (SweepCheckpoint) -> Void = { _ in }
    ) {
        self.policy = policy
        self.settings = settings
        self.enforce = enforce
        self.connection = connection
        self.reporter = reporter
        self.resumeFrom = resumeFrom
        self.saveCheckpoint = saveCheckpoint
        pipeline = { try connection.pipeline(binary: $0) }
    }

    /// Identifies the policy and mode a checkpoint belongs to.
    package var fingerprint: String {
        "\(enforce)|"
            + policy.rules.map {
                "\($0.pattern)|\($0.maxTTL ?? -1)|\($0.defaultTTL ?? -1)|\($0.action)|\($0.type ?? "")"
            }
            .joined(separator: ";") + "|" + policy.exclude.joined(separator: ";")
    }

    package func run() throws -> ExpiryReport {
        let watch = Stopwatch()
        let info = try connection.info()
        let version = info["redis_version"] ?? "unknown"
        let major = Int(version.split(separator: ".").first ?? "") ?? 0
        if enforce, info["role"] == "slave" {
            throw Failure(
                "this Redis is a replica (read-only); expiry can only be enforced on the primary",
                hint: "point redis.url at the primary endpoint (ElastiCache: the primary or configuration endpoint)")
        }
        let useScript = forceScript || major < 7
        var scriptSHA: String?
        if enforce, useScript {
            let r = try connection.command(["SCRIPT", "LOAD", Self.script])
            guard let sha = r.string, !r.isError else {
                throw Failure(
                    "cannot load the expiry script: \(r.string ?? "error")",
                    hint: "allow EVALSHA for the agent's ACL user")
            }
            scriptSHA = sha
        }
        var rules = policy.rules.map {
            ExpiryRuleReport(
                pattern: $0.pattern, action: $0.action.rawValue, type: $0.type, maxTTL: $0.maxTTL,
                defaultTTL: $0.defaultTTL)
        }
        var scanned: Int64 = 0
        var excluded: Int64 = 0
        var unmatched: Int64 = 0
        var cursor = "0"
        var resumed = false
        var startedOver: String?
        // A SCAN cursor is a position in one server's hash table: it is only resumed on the same server
        // process (run_id) and database, with the same policy and mode.
        let target =
            (nodeId.map { "node \($0), " } ?? "")
            + "run_id \(info["run_id"] ?? "unknown"), db \(connection.config.endpoint.database)"
        if let c = resumeFrom {
            if c.target != target {
                startedOver =
                    "the checkpoint belongs to \(c.target ?? "an unrecorded server"), this is \(target) (Redis restarted or another server)"
            } else if c.fingerprint != fingerprint || c.rules.count != rules.count {
                startedOver = "the checkpoint was taken with another policy or mode"
            } else {
                cursor = c.cursor
                scanned = c.scanned
                excluded = c.excluded
                unmatched = c.unmatched
                rules = c.rules
                resumed = true
                reporter.info("resuming the sweep at cursor \(cursor) after \(scanned) keys on \(target)")
            }
            if let why = startedOver {
                reporter.log(.warning, "not resuming: \(why); starting over from the first key")
            }
        }
        let resumedAfter = resumed ? scanned : nil
        let total = Double(try connection.command(["DBSIZE"]).int ?? 0)
        var pacer = ScanPacer(settings, scannedAtStart: scanned)
        var batches = 0
        var complete = false
        func checkpoint() -> SweepCheckpoint {
            SweepCheckpoint(
                cursor: cursor, fingerprint: fingerprint, target: target, scanned: scanned, excluded: excluded,
                unmatched: unmatched, rules: rules)
        }
        repeat {
            do { try reporter.checkCancelled() } catch {
                // Stopped (cancel, or the agent stopping): the checkpoint is exactly where it stopped,
                // so the next run repeats no batch.
                if batches > 0 { saveCheckpoint(checkpoint()) }
                throw error
            }
            let batchWatch = Stopwatch()
            let (next, keys) = try pacer.scan(connection, cursor: cursor)
            scanned += Int64(keys.count)
            // Decide each key's rule; look at the matched ones.
            var looked: [(key: [UInt8], rule: Int)] = []
            for k in keys {
                if policy.exclude.contains(where: { RedisGlob.matches($0, k) }) {
                    excluded += 1
                    continue
                }
                guard let r = policy.rules.firstIndex(where: { RedisGlob.matches($0.pattern, k) }) else {
                    unmatched += 1
                    continue
                }
                looked.append((k, r))
            }
            var commands: [[[UInt8]]] = []
            for (k, r) in looked {
                commands.append([Array("PTTL".utf8), k])
                if policy.rules[r].type != nil { commands.append([Array("TYPE".utf8), k]) }
            }
            let replies = try pacer.look(pipeline, commands)
            var fixes: [[[UInt8]]] = []
            var fixOwners: [Int] = []
            var i = 0
            for (k, r) in looked {
                let rule = policy.rules[r]
                let pttl = replies[i].int ?? -2
                i += 1
                if let wanted = rule.type {
                    let t = replies[i].string ?? "none"
                    i += 1
                    if t != wanted {
                        if t == "none" { rules[r].changedMeanwhile += 1 }
                        continue
                    }
                }
                if pttl == -2 {
                    rules[r].changedMeanwhile += 1
                    continue
                }
                rules[r].matched += 1
                var problem: String?
                if pttl == -1 {
                    rules[r].withoutTTL += 1
                    problem = "no-ttl"
                    if enforce, rule.action == .enforce, let d = rule.defaultTTL {
                        fixes.append(fix(k, seconds: d, mode: "nx", sha: scriptSHA))
                        fixOwners.append(r)
                    }
                } else if let max = rule.maxTTL, pttl > Int64(max) * 1000 {
                    rules[r].overMax += 1
                    problem = "over-max"
                    if enforce, rule.action == .enforce {
                        fixes.append(fix(k, seconds: max, mode: "lt", sha: scriptSHA))
                        fixOwners.append(r)
                    }
                }
                if let problem, rules[r].samples.count < settings.sampleSize {
                    rules[r].samples.append(
                        ExpiryKeySample(
                            key: String(decoding: k, as: UTF8.self), keyBase64: Data(k).base64EncodedString(),
                            problem: problem, ttl: pttl < 0 ? nil : pttl / 1000, memoryBytes: nil))
                }
            }
            if !fixes.isEmpty {
                let results = try pipeline(fixes)
                for (j, res) in results.enumerated() {
                    if res.isError {
                        throw Failure(
                            "Redis refused to set an expiry: \(res.string ?? "error")",
                            hint: "the agent's ACL user needs EXPIRE (and EVALSHA on Redis 6)")
                    }
                    if res.int == 1 {
                        rules[fixOwners[j]].fixed += 1
                    } else {
                        rules[fixOwners[j]].changedMeanwhile += 1
                    }
                }
            }
            cursor = next
            complete = cursor == "0"
            batches += 1
            reporter.progress(
                done: Double(scanned), total: max(total, Double(scanned)), unit: "keys",
                phase: enforce ? "enforce" : "dry-run")
            if batches % settings.checkpointEvery == 0 || complete { saveCheckpoint(checkpoint()) }
            // Keep each batch inside its budget; grow back when there is room.
            pacer.pace(batchSeconds: batchWatch.elapsedSeconds, scanned: scanned)
        } while !complete
        // Memory of the sampled keys, in one round trip.
        var sampleRefs: [(Int, Int)] = []
        var memoryCommands: [[[UInt8]]] = []
        for (r, rule) in rules.enumerated() {
            for (s, sample) in rule.samples.enumerated() {
                guard let key = Data(base64Encoded: sample.keyBase64) else { continue }
                memoryCommands.append([Array("MEMORY".utf8), Array("USAGE".utf8), Array(key)])
                sampleRefs.append((r, s))
            }
        }
        if !memoryCommands.isEmpty {
            let sizes = try pipeline(memoryCommands)
            for (n, (r, s)) in sampleRefs.enumerated() {
                rules[r].samples[s].memoryBytes = sizes[n].isError ? nil : sizes[n].int
            }
        }
        let policyNow = info["maxmemory_policy"]
        var findings: [String] = []
        if let want = policy.expectedMaxmemoryPolicy, let have = policyNow, want != have {
            findings.append("maxmemory-policy is \(have), expected \(want)")
        }
        let noTTL = rules.reduce(0) { $0 + $1.withoutTTL - $1.fixed }
        if let have = policyNow, have.hasPrefix("volatile-"), noTTL > 0 || unmatched > 0 {
            findings.append(
                "maxmemory-policy \(have) evicts only keys with a TTL: \(noTTL) matched key(s) still have none and \(unmatched) key(s) match no rule; a full cache will refuse writes"
            )
        }
        return ExpiryReport(
            mode: enforce ? "enforce" : "dry-run", serverVersion: version, maxmemoryPolicy: policyNow,
            expectedMaxmemoryPolicy: policy.expectedMaxmemoryPolicy, findings: findings, scanned: scanned,
            excluded: excluded, unmatched: unmatched, rules: rules, complete: complete, resumed: resumed,
            resumedAfter: resumedAfter, startedOver: startedOver, target: target, seconds: watch.elapsedSeconds)
    }

    private func fix(_ key: [UInt8], seconds: Int, mode: String, sha: String?) -> [[UInt8]] {
        if let sha {
            return [
                Array("EVALSHA".utf8), Array(sha.utf8), Array("1".utf8), key, Array(String(seconds).utf8),
                Array(mode.utf8),
            ]
        }
        return mode == "nx"
            ? [Array("EXPIRE".utf8), key, Array(String(seconds).utf8), Array("NX".utf8)]
            : [Array("EXPIRE".utf8), key, Array(String(seconds).utf8), Array("XX".utf8), Array("LT".utf8)]
    }
}
