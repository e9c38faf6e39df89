import CLinuxShims
import WhatIfClient
import WhatIfProtocol

#if canImport(Glibc)
    import Glibc
#endif

// whatif-bench: load for the admin API, and whole-command timings.
//
//   whatif-bench load --socket PATH [--path /v1/status] --clients N --seconds S [--rate R]
//       N clients on keep-alive connections. Without --rate: closed loop, each sends its next request as
//       soon as the answer arrives (maximum throughput). With --rate: open loop, R requests/s in all,
//       sent on a fixed schedule; latency counts from the scheduled time, so queueing is not hidden.
//   whatif-bench command --runs N -- ARGV...
//       Runs a command N times (fork/exec) and reports its wall-clock latency.
// Output: one line of `key=value` figures.

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// Nearest-rank percentile of sorted values.
func percentile(_ sorted: [Double], _ p: Double) -> Double {
    guard !sorted.isEmpty else { return .nan }
    let rank = Int((p / 100 * Double(sorted.count)).rounded(.up))
    return sorted[min(sorted.count - 1, max(0, rank - 1))]
}

func ms(_ s: Double) -> String {
    let v = (s * 1000 * 1000).rounded() / 1000
    return String(v)
}

func option(_ name: String, _ args: [String]) -> String? {
    guard let i = args.firstIndex(of: name), i + 1 < args.count else { return nil }
    return args[i + 1]
}

final class Worker: @unchecked Sendable {
    var latencies: [Double] = []
    var errors = 0
}

func load(_ args: [String]) -> Int32 {
    guard let socket = option("--socket", args) else {
        print("usage: whatif-bench load --socket PATH [--path P] --clients N --seconds S [--rate R]")
        return 64
    }
    let path = option("--path", args) ?? Endpoint.status.path()
    let clients = Int(option("--clients", args) ?? "1") ?? 1
    let seconds = Double(option("--seconds", args) ?? "5") ?? 5
    let rate = option("--rate", args).flatMap(Double.init)
    let workers = (0..<clients).map { _ in Worker() }
    var threads: [pthread_t] = []
    let start = now() + 0.2
    let end = start + seconds
    final class Context {
        let worker: Worker
        let socket: String
        let path: String
        let start: Double
        let end: Double
        let interval: Double?
        let offset: Double
        init(
            _ w: Worker, _ socket: String, _ path: String, _ start: Double, _ end: Double, _ interval: Double?,
            _ offset: Double
        ) {
            worker = w
            self.socket = socket
            self.path = path
            self.start = start
            self.end = end
            self.interval = interval
            self.offset = offset
        }
    }
    for (i, w) in workers.enumerated() {
        let interval = rate.map { Double(clients) / $0 }
        let ctx = Context(w, socket, path, start, end, interval, (interval ?? 0) * Double(i) / Double(clients))
        var t = pthread_t()
        let box = Unmanaged.passRetained(ctx).toOpaque()
        pthread_create(
            &t, nil,
            { raw in
                let ctx = Unmanaged<Context>.fromOpaque(raw!).takeRetainedValue()
                var conn: UnixHTTPConnection?
                var next = ctx.start + ctx.offset
                while true {
                    let wait = (ctx.interval == nil ? ctx.start : next) - now()
                    if wait > 0 { usleep(UInt32(wait * 1e6)) }
                    let sent = ctx.interval == nil ? now() : next
                    if sent >= ctx.end { break }
                    do {
                        if conn == nil || conn?.isOpen == false {
                            conn = try UnixHTTPConnection(socketPath: ctx.socket, timeout: 10)
                        }
                        var status = 0
                        try conn!.send(method: "GET", path: ctx.path, timeout: 10) { e in
                            if case .head(let h) = e { status = h.status }
                        }
                        if status != 200 { ctx.worker.errors += 1 }
                        ctx.worker.latencies.append(now() - sent)
                    } catch {
                        ctx.worker.errors += 1
                        conn = nil
                    }
                    if let interval = ctx.interval { next += interval }
                }
                return nil
            }, box)
        threads.append(t)
    }
    for t in threads { pthread_join(t, nil) }
    let all = workers.flatMap(\.latencies).sorted()
    let errors = workers.reduce(0) { $0 + $1.errors }
    let rps = Double(all.count) / seconds
    print(
        "clients=\(clients) mode=\(rate == nil ? "closed" : "open@\(Int(rate!))/s") requests=\(all.count) errors=\(errors) rps=\(Int(rps)) p50_ms=\(ms(percentile(all, 50))) p90_ms=\(ms(percentile(all, 90))) p99_ms=\(ms(percentile(all, 99))) max_ms=\(ms(all.last ?? .nan))"
    )
    return errors == 0 ? 0 : 1
}

func command(_ args: [String]) -> Int32 {
    let runs = Int(option("--runs", args) ?? "100") ?? 100
    guard let sep = args.firstIndex(of: "--"), sep + 1 < args.count else {
        print("usage: whatif-bench command --runs N -- ARGV...")
        return 64
    }
    let argv = Array(args[(sep + 1)...])
    var times: [Double] = []
    var failures = 0
    for _ in 0..<runs {
        let t0 = now()
        var pid: pid_t = 0
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        let cArgs = argv.map { strdup($0) } + [nil]
        let rc = posix_spawn(&pid, argv[0], &actions, nil, cArgs, environ)
        for a in cArgs { free(a) }
        posix_spawn_file_actions_destroy(&actions)
        guard rc == 0 else {
            print("cannot run \(argv[0])")
            return 1
        }
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        if whatif_wifexited(status) == 0 || whatif_wexitstatus(status) != 0 { failures += 1 }
        times.append(now() - t0)
    }
    times.sort()
    print(
        "runs=\(runs) failures=\(failures) p50_ms=\(ms(percentile(times, 50))) p90_ms=\(ms(percentile(times, 90))) p99_ms=\(ms(percentile(times, 99))) mean_ms=\(ms(times.reduce(0, +) / Double(times.count)))"
    )
    return failures == 0 ? 0 : 1
}

let args = Array(CommandLine.arguments.dropFirst())
switch args.first {
case "load": exit(load(args))
case "command": exit(command(args))
default:
    print("usage: whatif-bench load ... | command ...")
    exit(64)
}
