import ArgumentParser
import WhatIfClient
import WhatIfProtocol
import WhatIfUnits

struct Redis: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The Redis cache: the key-expiry policy.", subcommands: [Expiry.self])

    struct Expiry: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Audit (the default) or enforce the key-expiry policy with SCAN, as a job with progress.",
            discussion: """
                A dry run changes nothing and reports, per rule, the keys scanned, matched, without a TTL and over \
                the maximum, with a sample of offending keys and their memory. --enforce gives keys without a TTL \
                the rule's default_ttl (EXPIRE NX) and lowers TTLs over max_ttl (EXPIRE XX LT); nothing is ever \
                deleted. A stopped sweep resumes where it was. --last prints the last finished sweep's report. \
                Exits 1 when the sweep fails, 75 when one is already running.
                """)

        @OptionGroup var global: GlobalOptions
        @Flag(help: "Report only (the default).") var dryRun = false
        @Flag(help: "Fix violations of rules whose action is enforce.") var enforce = false
        @Option(help: ArgumentHelp("Look at most this many keys per second.", valueName: "n")) var keysPerSecond:
            Double?
        @OptionGroup var jobOptions: JobOptions
        @Flag(help: "Print the last finished sweep's report instead of starting one.") var last = false

        func validate() throws {
            if dryRun && enforce { throw ValidationError("--dry-run and --enforce exclude each other") }
            if let k = keysPerSecond, k <= 0 { throw ValidationError("--keys-per-second must be positive") }
        }

        func run() throws {
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
