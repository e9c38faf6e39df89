import Logging
import WhatIfAWS
import WhatIfCore
import WhatIfExpiry
import WhatIfHTTP
import WhatIfMigration
import WhatIfMonitoring
import WhatIfPostgres
import WhatIfRedis

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
#if canImport(Glibc)
    import Glibc
#endif

final class Quiet: JobReporter, @unchecked Sendable {
    func progress(done: Double, total: Double?, unit: String, phase: String?) {}
    func log(_ level: Logger.Level, _ message: String) {}
    var isCancelled: Bool { false }
}

// whatif-bench-metrics: the monitoring capability measured in process (issue 5's bench/ figures).
//   cycle STACK_ENV N          CPU time of one full collection cycle with every collector (median of N)
//   history-write DIR          24 h of history for 200 series at 60 s, written as whatifd writes it
//   history-load DIR           load that history as whatifd does on start; print RSS
//   alarms N                   time to evaluate N alarms over 200 series with 24 h of history (median of 20)
//   expiry PORT PATTERN TTL [COUNT [KEYS_PER_SECOND [BATCH_BUDGET]]]   one enforce sweep (issue 6): keys/s

func cpuSeconds() -> Double {
    var u = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &u)
    return Double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + Double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6
}

func rssKiB() -> Int {
    let text = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
    for line in text.split(separator: "\n") where line.hasPrefix("VmRSS:") {
        return Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0
    }
    return 0
}

func median(_ v: [Double]) -> Double { v.sorted()[v.count / 2] }

func fmt(_ v: Double, _ digits: Int) -> String {
    var p = 1.0
    for _ in 0..<digits { p *= 10 }
    let r = (v * p).rounded() / p
    return digits == 0 ? String(Int64(r)) : String(r)
}

var logger = Logger(label: "bench")
logger.logLevel = .warning
let args = Array(CommandLine.arguments.dropFirst())
let t0 = Date().timeIntervalSince1970

func series(_ i: Int) -> MetricKey {
    MetricKey(namespace: "Bench/NS\(i % 4)", name: "Metric\(i)", dimensions: [.init("Id", "s\(i)")], unit: "Count")
}

func fill(_ store: MetricStore, now: Double) {
    for step in 0..<1440 {
        let t = now - 86400 + Double(step) * 60 + 1
        store.append((0..<200).map { Sample(key: series($0), value: Double(($0 * 7 + step) % 100), time: t) }, now: t)
    }
}

switch args.first {
case "cycle":
    let env = Dictionary(
        uniqueKeysWithValues: try String(contentsOfFile: args[1], encoding: .utf8).split(separator: "\n").compactMap {
            l -> (String, String)? in
            let kv = l.split(separator: "=", maxSplits: 1)
            return kv.count == 2 ? (String(kv[0]), String(kv[1])) : nil
        })
    let n = Int(args[2]) ?? 50
    let password = try String(contentsOfFile: env["WHATIF_PG_PASSWORD_FILE"]!, encoding: .utf8).trimmingWhitespace()
    let pg = PostgresConfig(
        host: "127.0.0.1", port: Int(env["WHATIF_PG_PORT"]!)!, database: "what_if_users", user: "postgres",
        password: password)
    let redisPort = Int(env["WHATIF_REDIS_PORT"]!)!
    let http = HTTPClient()
    let creds = AWSCredentialChain(
        settings: .init(
            environment: ["AWS_SHARED_CREDENTIALS_FILE": env["WHATIF_AWS_CREDENTIALS_FILE"]!],
            explicitProfile: env["WHATIF_AWS_PROFILE"]), http: http)
    let calls = AWSCallCounters()
    let aws = AWSClient(
        settings: AWSSettings(region: "us-east-1", endpoint: env["WHATIF_MOTO_ENDPOINT"]), credentials: creds,
        http: http,
        observer: { calls.record($0) })
    let table = args.count > 3 ? args[3] : "what-if-generator-scenarios-development"
    let host = HostCollector(host: "bench", freeSpacePaths: [("BackupLocationFreeStorageSpace", "/")])
    let collectors: [any Collector] = [
        host,
        PostgresCollector(instanceId: "local", host: host, localDataDirectory: true) {
            try PostgresConnection.connect(pg, deadline: .after(seconds: 10))
        },
        RedisCollector(clusterId: "local", host: host) {
            try RedisConnection(
                RedisConfig(endpoint: RedisEndpoint(transport: .tcp(host: "127.0.0.1", port: redisPort))))
        },
        DynamoDBLocalCollector(tables: [table], calls: calls) { DynamoDB(client: aws) },
    ]
    let dir = "/tmp/whatif-bench-metrics-\(getpid())"
    let s = try MonitoringService(
        settings: MonitoringSettings(interval: 60), stateDirectory: dir, logger: logger, host: "bench",
        environment: "development", now: t0)
    s.configure(
        settings: MonitoringSettings(interval: 60), collectors: collectors, alarms: [], hooks: nil, cloudwatch: nil)
    s.cycle(now: t0)  // connections made, first counters read
    var cpu: [Double] = []
    var wall: [Double] = []
    for i in 1...n {
        let c0 = cpuSeconds()
        let w = Stopwatch()
        s.cycle(now: t0 + Double(i) * 60)
        wall.append(w.elapsedSeconds)
        cpu.append(cpuSeconds() - c0)
    }
    let down = s.collectorStatuses.filter { !$0.up }.map(\.name)
    print(
        "cycle: \(n) cycles, \(s.store.seriesCount) series; CPU per cycle median \(fmt(median(cpu) * 1000, 2)) ms, max \(fmt(cpu.max()! * 1000, 2)) ms; wall median \(fmt(median(wall) * 1000, 2)) ms"
            + (down.isEmpty ? "" : " (down: \(down.joined(separator: ",")))"))
    s.stop()
    _ = system("rm -rf \(dir)")
case "history-write":
    let s = try MetricStore(retention: 86400, directory: args[1], logger: logger, now: t0)
    fill(s, now: t0)
    s.close()
    print("history-write: 200 series x 1440 points")
case "history-load":
    let before = rssKiB()
    let w = Stopwatch()
    let s = try MetricStore(retention: 86400, directory: args[1], logger: logger, now: t0)
    let points = (0..<200).reduce(0) { $0 + s.points(series($1), since: 0).count }
    print(
        "history-load: \(s.seriesCount) series, \(points) points loaded in \(fmt(w.elapsedSeconds * 1000, 0)) ms; RSS \(rssKiB() / 1024) MB (\(before / 1024) MB before loading)"
    )
case "alarms":
    let n = Int(args[1]) ?? 1000
    let s = try MonitoringService(
        settings: MonitoringSettings(), stateDirectory: nil, logger: logger, host: "bench", environment: "development",
        now: t0)
    fill(s.store, now: t0)
    let stats: [Statistic] = [.average, .maximum, .sum, .percentile(99), .sampleCount, .minimum]
    let alarms = (0..<n).map { i in
        AlarmDefinition(
            name: "alarm-\(i)", namespace: series(i % 200).namespace, metricName: series(i % 200).name,
            dimensions: series(i % 200).dimensions, statistic: stats[i % stats.count],
            period: [60, 300, 60, 900][i % 4],
            evaluationPeriods: 3 + i % 3, datapointsToAlarm: 2, threshold: 50, comparison: .greaterThanThreshold,
            treatMissingData: [.missing, .breaching, .ignore, .notBreaching][i % 4])
    }
    s.configure(settings: MonitoringSettings(), collectors: [], alarms: alarms, hooks: nil, cloudwatch: nil)
    var times: [Double] = []
    for i in 0..<20 {
        let w = Stopwatch()
        s.evaluateAlarms(now: t0 + Double(i) * 60)
        times.append(w.elapsedSeconds)
    }
    print("alarms: \(n) alarms evaluated in \(fmt(median(times) * 1000, 1)) ms (median of 20)")
case "transform":
    // The migration's dry run in process (no agent, no job): read, transform, validate; the optional
    // third argument sets the transform threads (the default: one per core).
    let source = try MigrationSource(path: args[1])
    var settings = ScenarioMigrator.Settings()
    settings.dryRun = true
    if args.count > 2, let t = Int(args[2]) { settings.transformThreads = t }
    let w = Stopwatch()
    let r = try ScenarioMigrator(
        source: source, table: "bench", client: nil, settings: settings, reporter: Quiet(), rejectDirectory: "/tmp",
        runName: "bench"
    ).run(resume: nil, backupId: nil, save: { _ in })
    let secs = w.elapsedSeconds
    print("transform: \(r.documents) documents in \(fmt(secs, 3)) s, \(fmt(Double(r.documents) / secs, 0)) documents/s")
case "expiry":
    let conn = try RedisConnection(
        RedisConfig(endpoint: RedisEndpoint(transport: .tcp(host: "127.0.0.1", port: Int(args[1])!)), timeout: 30))
    let policy = ExpiryPolicy(rules: [.init(pattern: args[2], defaultTTL: Int(args[3])!, action: .enforce)])
    var settings = SweepSettings()
    if args.count > 4, let c = Int(args[4]) { settings.scanCount = c }
    if args.count > 5, let k = Double(args[5]), k > 0 { settings.keysPerSecond = k }
    if args.count > 6, let b = Double(args[6]) { settings.batchBudget = b }
    let w = Stopwatch()
    let r = try ExpirySweeper(policy: policy, settings: settings, enforce: true, connection: conn, reporter: Quiet())
        .run()
    let secs = w.elapsedSeconds
    print(
        "agent: \(r.scanned) keys in \(fmt(secs, 2)) s, \(fmt(Double(r.scanned) / secs, 0)) keys/s, fixed \(r.rules[0].fixed)"
    )
default:
    print(
        "usage: whatif-bench-metrics cycle STACK_ENV N | history-write DIR | history-load DIR | alarms N | transform FILE [THREADS]"
    )
    exit(2)
}
