import Foundation
import Logging
import Testing
import WhatIfCore
import WhatIfTesting

/// A reporter that records what a helper logged and can be cancelled.
final class RecordingReporter: JobReporter, @unchecked Sendable {
    let lines = Locked<[(Logger.Level, String)]>([])
    let cancelled = Locked(false)
    func progress(done: Double, total: Double?, unit: String, phase: String?) {}
    func log(_ level: Logger.Level, _ message: String) { lines.withLock { $0.append((level, message)) } }
    var isCancelled: Bool { cancelled.value }
}

@Suite struct HelperProcessTests {
    func shell(_ script: String) -> HelperProcess {
        HelperProcess("/bin/sh", arguments: ["-c", script], environment: ["PATH": "/usr/bin:/bin"], name: "helper")
    }

    /// A scratch file standing for a partial dump.
    func scratchFile() -> String {
        let path = NSTemporaryDirectory() + "whatif-helper-\(getpid())-\(Int.random(in: 0..<1_000_000))"
        _ = FileManager.default.createFile(atPath: path, contents: Data("partial".utf8))
        return path
    }

    /// A program still open for writing (ETXTBSY) is retried briefly, then refused with the reason; once
    /// closed it starts. (The retries cover a sibling thread's child holding a copy of the descriptor
    /// between its fork and its exec; that window cannot be produced on demand here.)
    @Test func aProgramOpenForWritingIsRefusedWithTheReasonAndStartsOnceClosed() throws {
        let path = scratchFile()
        defer { unlink(path) }
        let fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC)
        #expect(fd >= 0)
        _ = "#!/bin/sh\nexit 7\n".withCString { write(fd, $0, strlen($0)) }
        chmod(path, 0o755)
        #expect {
            _ = try Subprocess.start(path, arguments: [], environment: ["PATH": "/usr/bin:/bin"])
        } throws: { error in
            "\(error)".contains("Text file busy")
        }
        close(fd)
        let p = try Subprocess.start(path, arguments: [], environment: ["PATH": "/usr/bin:/bin"])
        #expect(p.wait() == .exited(7))
    }

    @Test func outputAndStderrReachTheCallerAndTheLog() throws {
        let reporter = RecordingReporter()
        var h = shell("echo one; echo 'pg_dump: warning: careful' >&2; echo 'pg_dump: reading' >&2; echo two")
        h.reporter = reporter
        let seen = Locked<[String]>([])
        h.onStderrLine = { line in seen.withLock { $0.append(line) } }
        let out = try h.output()
        #expect(String(decoding: out, as: UTF8.self) == "one\ntwo\n")
        #expect(seen.value == ["pg_dump: warning: careful", "pg_dump: reading"])
        let logged = reporter.lines.value
        #expect(logged.contains { $0.0 == .warning && $0.1 == "pg_dump: warning: careful" })
        #expect(logged.contains { $0.0 == .debug && $0.1 == "pg_dump: reading" })
    }

    @Test func aFailureNamesTheStatusTheErrorLinesAndTheHintAndRemovesTemporaryFiles() throws {
        let partial = scratchFile()
        var h = shell("echo 'noise' >&2; echo 'pg_dump: error: connection refused' >&2; exit 3")
        h.failureHint = "nothing was kept"
        h.temporaryFiles = [partial]
        do {
            try h.run()
            Issue.record("a failing helper succeeded")
        } catch let f as Failure {
            #expect(f.message == "helper exited with status 3: pg_dump: error: connection refused", "\(f.message)")
            #expect(f.hint == "nothing was kept")
        }
        #expect(!FileManager.default.fileExists(atPath: partial))
    }

    @Test func cancellationStopsItAndRemovesTemporaryFiles() throws {
        let partial = scratchFile()
        let reporter = RecordingReporter()
        var h = shell("echo started >&2; exec sleep 60")
        h.reporter = reporter
        h.temporaryFiles = [partial]
        h.onStderrLine = { line in if line == "started" { reporter.cancelled.set(true) } }
        let watch = Stopwatch()
        #expect(throws: CancellationError.self) { try h.run() }
        #expect(watch.elapsedSeconds < 30, "cancellation took \(watch.elapsedSeconds) s")
        #expect(!FileManager.default.fileExists(atPath: partial))
    }

    @Test func theDeadlineNamesItsSettingAndAHelperIgnoringSIGTERMIsKilled() throws {
        let pidFile = scratchFile()
        var h = shell("trap '' TERM; echo $$ > \(pidFile); while :; do sleep 1; done")
        h.deadline = .after(seconds: 0.5)
        h.timeoutSetting = "backups.postgres.timeout (1 s)"
        h.timeoutHint = "raise it"
        h.grace = 0.5
        do {
            _ = try h.output()
            Issue.record("a helper past its deadline succeeded")
        } catch let f as Failure {
            #expect(f.message == "helper ran longer than backups.postgres.timeout (1 s) allows", "\(f.message)")
            #expect(f.hint == "raise it")
        }
        // The shell ignored SIGTERM: it was killed after the grace and has been reaped.
        let pid = try #require(Int32(String(contentsOfFile: pidFile, encoding: .utf8).trimmed()))
        #expect(kill(pid, 0) != 0)
        unlink(pidFile)
    }

    @Test func aSinkThatThrowsStopsTheHelper() throws {
        var h = shell("exec yes")
        h.grace = 1
        struct Full: Error {}
        var bytes = 0
        #expect(throws: Full.self) {
            try h.run { chunk in
                bytes += chunk.count
                if bytes > 1 << 20 { throw Full() }
            }
        }
    }

    @Test func outputBeyondTheLimitIsAFailure() throws {
        let h = shell("head -c 100000 /dev/zero")
        #expect(throws: Failure.self) { try h.output(limit: 1000) }
    }
}

extension String {
    fileprivate func trimmed() -> String { trimmingCharacters(in: .whitespacesAndNewlines) }
}
