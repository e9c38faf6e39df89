import WhatIfCore
import WhatIfProtocol
import WhatIfRedis

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Which keys have no TTL and what they hold, by prefix and type, without a policy: what
/// `redis-cli --bigkeys` and `--memkeys` tell, read at the expiry sweep's pace. One SCAN pass; per batch
/// one pipeline of TYPE, PTTL and MEMORY USAGE for every key. Read-only: a replica will do.
package final class KeyAuditor {
    /// Past this many (prefix, type) groups, further prefixes are counted together, so a keyspace of
    /// random names cannot grow the report without bound.
    package static let maxGroups = 500
    package static let otherPrefixes = "(other prefixes)"
    package static let noPrefix = "(no prefix)"

    let settings: SweepSettings
    let delimiter: [UInt8]
    let depth: Int
    let connection: RedisConnection
    let reporter: any JobReporter

    package init(
        settings: SweepSettings, delimiter: String = ":", depth: Int = 1, connection: RedisConnection,
        reporter: any JobReporter
    ) {
        self.settings = settings
        self.delimiter = Array(delimiter.utf8)
        self.depth = depth
        self.connection = connection
        self.reporter = reporter
    }

    /// `session:42` -> `session:*` (depth 1); a key with fewer delimiters than `depth` has no prefix.
    package static func prefix(of key: [UInt8], delimiter: [UInt8], depth: Int) -> String? {
        guard !delimiter.isEmpty else { return nil }
        var found = 0
        var i = 0
        while i + delimiter.count <= key.count {
            if key[i..<(i + delimiter.count)].elementsEqual(delimiter) {
                found += 1
                if found == depth {
                    return String(decoding: key[0..<(i + delimiter.count)], as: UTF8.self) + "*"
                }
                i += delimiter.count
            } else {
                i += 1
            }
        }
        return nil
    }

    package func run() throws -> KeyAuditReport {
        let watch = Stopwatch()
        let info = try connection.info()
        let version = info["redis_version"] ?? "unknown"
        let target = "run_id \(info["run_id"] ?? "unknown"), db \(connection.config.endpoint.database)"
        let total = Double(try connection.command(["DBSIZE"]).int ?? 0)
        var groups: [String: KeyGroupReport] = [:]
        var biggest: [ExpiryKeySample] = []
        var scanned: Int64 = 0
        var vanished: Int64 = 0
        var cursor = "0"
        var complete = false
        var pacer = ScanPacer(settings)
        let delimiterText = String(decoding: delimiter, as: UTF8.self)
        repeat {
            try reporter.checkCancelled()
            let batchWatch = Stopwatch()
            let (next, keys) = try pacer.scan(connection, cursor: cursor)
            scanned += Int64(keys.count)
            var commands: [[[UInt8]]] = []
            commands.reserveCapacity(keys.count * 3)
            for k in keys {
                commands.append([Array("TYPE".utf8), k])
                commands.append([Array("PTTL".utf8), k])
                commands.append([Array("MEMORY".utf8), Array("USAGE".utf8), k])
            }
            let replies = try pacer.look(connection, commands)
            for (n, k) in keys.enumerated() {
                let type = replies[3 * n].string ?? "none"
                let pttl = replies[3 * n + 1].int ?? -2
                // Gone between SCAN and the look at it: counted, not grouped.
                guard type != "none", pttl != -2, let bytes = replies[3 * n + 2].int else {
                    vanished += 1
                    continue
                }
                var name = Self.prefix(of: k, delimiter: delimiter, depth: depth) ?? Self.noPrefix
                if groups["\(name)\u{0}\(type)"] == nil, groups.count >= Self.maxGroups { name = Self.otherPrefixes }
                let id = "\(name)\u{0}\(type)"
                var g = groups[id] ?? KeyGroupReport(prefix: name, type: type)
                g.keys += 1
                g.bytes += bytes
                if pttl == -1 {
                    g.withoutTTL += 1
                    g.bytesWithoutTTL += bytes
                }
                if bytes > g.biggestBytes {
                    g.biggestBytes = bytes
                    g.biggestKey = String(decoding: k, as: UTF8.self)
                }
                groups[id] = g
                if biggest.count < 10 || bytes > biggest[biggest.count - 1].memoryBytes ?? 0 {
                    biggest.append(
                        ExpiryKeySample(
                            key: String(decoding: k, as: UTF8.self), keyBase64: Data(k).base64EncodedString(),
                            problem: pttl == -1 ? "no-ttl" : type, ttl: pttl < 0 ? nil : pttl / 1000, memoryBytes: bytes
                        ))
                    biggest.sort { ($0.memoryBytes ?? 0) > ($1.memoryBytes ?? 0) }
                    if biggest.count > 10 { biggest.removeLast() }
                }
            }
            cursor = next
            complete = cursor == "0"
            reporter.progress(done: Double(scanned), total: max(total, Double(scanned)), unit: "keys", phase: "audit")
            pacer.pace(batchSeconds: batchWatch.elapsedSeconds, scanned: scanned)
        } while !complete
        let policy = info["maxmemory_policy"]
        let sorted = groups.values.sorted {
            ($0.bytesWithoutTTL, $0.bytes, $1.prefix, $1.type) > ($1.bytesWithoutTTL, $1.bytes, $0.prefix, $0.type)
        }
        var findings: [String] = []
        let noTTL = sorted.reduce(Int64(0)) { $0 + $1.withoutTTL }
        if let p = policy, p.hasPrefix("volatile-"), noTTL > 0 {
            findings.append(
                "maxmemory-policy \(p) evicts only keys with a TTL: \(noTTL) key(s) have none; a full cache will refuse writes"
            )
        } else if policy == "noeviction", noTTL > 0 {
            findings.append(
                "maxmemory-policy noeviction and \(noTTL) key(s) without a TTL: a full cache will refuse writes")
        }
        return KeyAuditReport(
            serverVersion: version, maxmemoryPolicy: policy, usedMemoryBytes: info["used_memory"].flatMap { Int64($0) },
            target: target, delimiter: delimiterText, depth: depth, scanned: scanned, vanished: vanished,
            groups: sorted, biggest: biggest, findings: findings, complete: complete, seconds: watch.elapsedSeconds)
    }
}
