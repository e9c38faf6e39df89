import ArgumentParser
import WhatIfProtocol
import WhatIfUnits

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
#if canImport(Glibc)
    import Glibc
#endif

/// `--watch [SECONDS]` on the commands that show a state (status, alarms, jobs list, metrics): draw it
/// again every few seconds until Ctrl-C, as watch(1) and `kubectl get --watch` do. On a terminal each
/// frame replaces the last; otherwise frames follow one another under a timestamped header line.
struct WatchOptions: ParsableArguments {
    static let defaultInterval = 2.0

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Show it again every SECONDS (2 when no number follows) until interrupted.", valueName: "seconds"))
    var watch: Double?

    /// Watching redraws a table; a script polls with --json instead.
    func validate(json: Bool) throws {
        guard let w = watch else { return }
        guard w.isFinite, w >= 0.1, w <= 86400 else {
            throw ValidationError("--watch takes seconds from 0.1 to 86400, not \(w)")
        }
        if json { throw ValidationError("--watch shows tables; for scripts, run the command with --json in a loop") }
    }

    /// Runs `frame` once, or with --watch again and again. The first frame's errors end the command with
    /// their status (a wrong name stays wrong); later ones are shown and the watch goes on (an agent that
    /// restarts comes back). Exit status 1 (a service down, a job failed) is a state worth watching.
    func repeating(_ frame: () throws -> Void) throws {
        guard let interval = watch else { return try frame() }
        let tty = Out.stdoutIsTTY
        var first = true
        while true {
            let header =
                "every \(Units.duration(interval)): \(CommandLine.arguments.dropFirst().joined(separator: " "))"
            let stamp = Date.ISO8601FormatStyle().format(Date())
            if tty {
                Out.raw("\u{1B}[H\u{1B}[2J")
                Out.line("\(header)    \(stamp)")
                Out.line()
            } else {
                if !first { Out.line() }
                Out.line("--- \(stamp) \(header)")
            }
            do {
                try frame()
            } catch let e as ExitCode where e.rawValue == ExitStatus.failure.rawValue {
                // A state (something is down), shown; keep watching.
            } catch {
                if first { throw error }
            }
            first = false
            fflush(nil)
            // nanosleep, not usleep: usleep's microseconds do not reach 86,400 s.
            var pause = timespec(tv_sec: Int(interval), tv_nsec: Int((interval - interval.rounded(.down)) * 1e9))
            var left = timespec()
            while nanosleep(&pause, &left) != 0 && errno == EINTR { pause = left }
        }
    }

    /// `--watch` without a number means the default interval: `--watch` becomes `--watch=2` unless a
    /// number follows it (before any `--`).
    static func normalizing(_ args: [String]) -> [String] {
        var out: [String] = []
        var i = 0
        while i < args.count {
            let a = args[i]
            if a == "--" {
                out += args[i...]
                break
            }
            if a == "--watch" {
                if i + 1 < args.count, Double(args[i + 1]) != nil {
                    out += [a, args[i + 1]]
                    i += 2
                    continue
                }
                out.append("--watch=\(Int(defaultInterval))")
            } else {
                out.append(a)
            }
            i += 1
        }
        return out
    }
}
