import ArgumentParser
import WhatIfClient
import WhatIfProtocol
import WhatIfUnits

struct Redis: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "redis",
        abstract: "The Redis cache: the key-expiry policy, slow commands and latency.",
        subcommands: [Expiry.self, Slowlog.self, Latency.self])

    struct Expiry: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "expiry",
            abstract: "Audit (the default) or enforce the key-expiry policy with SCAN, as a job with progress.",
            discussion: """
                A dry run changes nothing and reports, per rule, the keys scanned, matched, without a TTL and over \
                the maximum, with a sample of offending keys and their memory. --enforce gives keys without a TTL \
                the rule's default_ttl (EXPIRE NX) and lowers TTLs over max_ttl (EXPIRE XX LT); nothing is ever \
                deleted. A stopped sweep resumes where it was. --last prints the last finished sweep's report. \
                --audit needs no policy: it reports every key without a TTL by prefix (the part up to the \
                first --delimiter, ':' by default; --depth 2 for 'cache:user:*') and type, with the memory they \
                hold (MEMORY USAGE) and the biggest keys, like redis-cli --bigkeys/--memkeys, at the sweep's \
                pace (expiry.keys_per_second, or --keys-per-second). Exits 1 when the sweep or audit fails, \
                75 when one is already running, 78 without redis: (or, for a sweep, without an expiry policy).
                """)

        @OptionGroup var global: GlobalOptions
        @Flag(help: "Report only (the default).") var dryRun = false
        @Flag(help: "Fix violations of rules whose action is enforce.") var enforce = false
        @Option(help: ArgumentHelp("Look at most this many keys per second.", valueName: "n")) var keysPerSecond:
            Double?
        @OptionGroup var jobOptions: JobOptions
        @Flag(help: "Print the last finished sweep's report instead of starting one.") var last = false
        @Flag(help: "Report keys without a TTL by prefix and type with their memory; needs no policy.")
        var audit = false
        @Option(help: ArgumentHelp("With --audit: what ends a key's prefix (default ':').", valueName: "text"))
        var delimiter: String?
        @Option(help: ArgumentHelp("With --audit: how many delimited parts make a prefix (default 1).", valueName: "n"))
        var depth: Int?
        @Flag(help: "With --audit on a Redis Cluster: read each shard on a replica (READONLY), sparing the primaries.")
        var replicas = false

        func validate() throws {
            if dryRun && enforce { throw ValidationError("--dry-run and --enforce exclude each other") }
            if let k = keysPerSecond, k <= 0 { throw ValidationError("--keys-per-second must be positive") }
            if audit && (enforce || dryRun || last) {
                throw ValidationError("--audit reports only: not with --enforce, --dry-run or --last")
            }
            if !audit && (delimiter != nil || depth != nil || replicas) {
                throw ValidationError("--delimiter, --depth and --replicas go with --audit")
            }
            if let p = StartKeyAuditRequest(keysPerSecond: keysPerSecond, delimiter: delimiter, depth: depth).problem {
                throw ValidationError(p.replacing("keysPerSecond", with: "--keys-per-second"))
            }
        }

        func run() throws {
            if audit {
                let job = try perform {
                    try global.client.startKeyAudit(
                        StartKeyAuditRequest(
                            keysPerSecond: keysPerSecond, delimiter: delimiter, depth: depth,
                            replicas: replicas ? true : nil))
                }
                try followJob(job, JobSpecs.RedisAudit.self, global: global, options: jobOptions) { report in
                    KeyAuditView.print(report)
                }
                return
            }
            if last {
                let report = try perform { try global.client.lastExpiryReport() }
                if global.json { try Out.json(report) } else { ExpiryView.print(report) }
                return
            }
            let job = try perform { try global.client.startExpirySweep(enforce: enforce, keysPerSecond: keysPerSecond) }
            try followJob(job, JobSpecs.RedisExpiry.self, global: global, options: jobOptions) { report in
                ExpiryView.print(report)
            }
        }
    }
}

enum ExpiryView {
    static func print(_ r: ExpiryReport) {
        Out.line(
            "\(r.mode): \(r.scanned) keys scanned in \(Units.duration(r.seconds))\(r.complete ? "" : " (incomplete)")"
                + "; \(r.excluded) excluded, \(r.unmatched) matched no rule; Redis \(r.serverVersion), maxmemory-policy \(r.maxmemoryPolicy ?? "?")"
        )
        if let after = r.resumedAfter {
            Out.line("resumed after \(after) keys read by an earlier run on the same server (\(r.target ?? "?"))")
        }
        if let why = r.startedOver { Out.line("started over: \(why)") }
        if let shards = r.shards {
            Out.line("cluster: \(shards.count) shards, \(r.slotsCovered ?? 0) of 16384 slots swept")
            Out.table(
                ["SLOTS", "PRIMARY", "SCANNED", "MATCHED", "NO TTL", "OVER MAX", "FIXED", "REDIRECTS", "COMPLETE"],
                shards.map {
                    [
                        $0.slots, $0.node, "\($0.scanned)", "\($0.matched)", "\($0.withoutTTL)", "\($0.overMax)",
                        "\($0.fixed)", "\($0.redirects)", $0.complete ? "yes" : "no",
                    ]
                })
            for s in shards { if let why = s.startedOver { Out.line("shard \(s.slots): \(why)") } }
            Out.line("")
        }
        Out.table(
            ["RULE", "ACTION", "MATCHED", "NO TTL", "OVER MAX", "FIXED", "CHANGED"],
            r.rules.map {
                [
                    $0.pattern + ($0.type.map { " (\($0))" } ?? ""), $0.action, "\($0.matched)", "\($0.withoutTTL)",
                    "\($0.overMax)", "\($0.fixed)", "\($0.changedMeanwhile)",
                ]
            })
        for rule in r.rules where !rule.samples.isEmpty {
            Out.line("")
            Out.line("\(rule.pattern): sample of offending keys")
            for s in rule.samples.prefix(5) {
                let ttl = s.ttl.map { "TTL \(Units.duration(Double($0)))" } ?? "no TTL"
                let mem = s.memoryBytes.map { Units.bytes($0) } ?? "gone"
                Out.line("  \(s.key)  \(ttl)  \(mem)")
            }
        }
        for f in r.findings { Out.err("finding: \(f)") }
    }
}

enum KeyAuditView {
    static func print(_ r: KeyAuditReport) {
        Out.line(
            "audit: \(Units.count(r.scanned, "key")) scanned in \(Units.duration(r.seconds))"
                + "\(r.complete ? "" : " (incomplete)"); \(Units.count(r.withoutTTL, "key")) without a TTL holding "
                + "\(Units.bytes(r.bytesWithoutTTL)); Redis \(r.serverVersion), maxmemory-policy \(r.maxmemoryPolicy ?? "?")"
                + (r.usedMemoryBytes.map { ", used_memory \(Units.bytes($0))" } ?? ""))
        if r.vanished > 0 { Out.line("\(Units.count(r.vanished, "key")) vanished between SCAN and the look at them") }
        if let nodes = r.nodes { Out.line("\(r.target): \(nodes.joined(separator: ", "))") }
        if r.groups.isEmpty {
            Out.line("no keys")
        } else {
            Out.table(
                ["PREFIX", "TYPE", "KEYS", "NO TTL", "MEMORY", "NO-TTL MEMORY", "BIGGEST"],
                r.groups.map { g in
                    [
                        g.prefix, g.type, "\(g.keys)", "\(g.withoutTTL)", Units.bytes(g.bytes),
                        Units.bytes(g.bytesWithoutTTL),
                        g.biggestKey.map { "\($0) (\(Units.bytes(g.biggestBytes)))" } ?? "-",
                    ]
                }, maxWidth: 120)
        }
        if !r.biggest.isEmpty {
            Out.line("")
            Out.line("biggest keys")
            for k in r.biggest {
                let ttl = k.ttl.map { "TTL \(Units.duration(Double($0)))" } ?? "no TTL"
                Out.line("  \(k.key)  \(Units.bytes(k.memoryBytes ?? 0))  \(ttl)")
            }
        }
        for f in r.findings { Out.err("finding: \(f)") }
    }
}
