import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// One run of a helper program (pg_dump, pg_restore) the way every job runs them: from an argument
/// vector, under a deadline, stopped when the job is cancelled (SIGTERM, then SIGKILL after a grace),
/// stderr logged to the job line by line with its tail kept for the error, progress from its lines, and
/// the temporary files it was given (a partial dump, a password file) removed whenever it fails.
/// Whatever a crash leaves is removed by the owner's start-up cleanup; the child itself dies with the
/// thread that started it, so `run` must be called on the thread that waits (it is).
package struct HelperProcess {
    package var executable: String
    package var arguments: [String]
    package var environment: [String: String]
    package var stdin: Subprocess.Output = .null
    /// How the log and errors name it: "pg_dump", "pg_restore --list".
    package var name: String
    package var deadline: Deadline = .distantFuture
    /// The setting the deadline comes from, for the error: "backups.postgres.timeout (21600 s)".
    package var timeoutSetting: String?
    /// The fix for a timeout: "raise it or use format: directory with jobs".
    package var timeoutHint = "raise it"
    /// What the operator should know when it fails: "nothing was written to the target".
    package var failureHint: String?
    package var reporter: (any JobReporter)?
    /// Removed when the run fails for any reason (and by the owner's start-up cleanup after a crash).
    package var temporaryFiles: [String] = []
    /// Called with each stderr line after it is logged: progress.
    package var onStderrLine: (@Sendable (String) -> Void)?
    /// The log level of a stderr line: warnings and errors stand out, the rest is debug.
    package var level: @Sendable (String) -> Logger.Level = HelperProcess.defaultLevel
    /// How long a stopped helper gets between SIGTERM and SIGKILL.
    package var grace: Double = 5

    package init(
        _ executable: String, arguments: [String], environment: [String: String], name: String? = nil
    ) {
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
        self.name = name ?? String(executable.split(separator: "/").last ?? Substring(executable))
    }

    package struct Outcome: Sendable {
        package var termination: Subprocess.Termination
        /// The last lines it wrote to stderr (at most `tailLines`).
        package var stderrTail: [String]
        /// Bytes read from its stdout.
        package var stdoutBytes: Int64
    }

    package static let tailLines = 50

    @Sendable package static func defaultLevel(_ line: String) -> Logger.Level {
        line.contains("error:") || line.contains("warning:") || line.contains("FATAL") ? .warning : .debug
    }

    /// Runs it to its end; `stdout`, when given, receives its standard output as it comes (a throw stops
    /// the helper and fails the run). Throws `CancellationError` when the job was cancelled, a `Failure`
    /// naming the timeout, or one with its status and the last error lines when it did not succeed.
    @discardableResult
    package func run(stdout sink: ((UnsafeRawBufferPointer) throws -> Void)? = nil) throws -> Outcome {
        do {
            return try runOnce(sink)
        } catch {
            for path in temporaryFiles { unlink(path) }
            throw error
        }
    }

    /// Runs it and returns its standard output (at most `limit` bytes; more is a failure).
    package func output(limit: Int = 16 << 20) throws -> [UInt8] {
        var out: [UInt8] = []
        try run { chunk in
            guard out.count + chunk.count <= limit else {
                throw Failure("\(name) wrote more than \(limit) bytes to its output")
            }
            out += chunk
        }
        return out
    }

    private func runOnce(_ sink: ((UnsafeRawBufferPointer) throws -> Void)?) throws -> Outcome {
        let child = try Subprocess.start(
            executable, arguments: arguments, environment: environment, stdin: stdin,
            stdout: sink == nil ? .null : .pipe, stderr: .pipe)
        let tail = Locked<[String]>([])
        let errFD = child.stderr!
        let reporter = self.reporter
        let level = self.level
        let onLine = self.onStderrLine
        let stderrReader = Threads.start {
            Subprocess.readLines(errFD) { line in
                tail.withLock {
                    $0.append(line)
                    if $0.count > Self.tailLines { $0.removeFirst() }
                }
                reporter?.log(level(line), line)
                onLine?(line)
            }
        }
        var failure: (any Error)?
        var bytes: Int64 = 0
        func interruption() -> (any Error)? {
            if reporter?.isCancelled == true { return CancellationError() }
            if deadline.hasPassed {
                return Failure(
                    "\(name) ran longer than \(timeoutSetting ?? "its deadline") allows", hint: timeoutHint)
            }
            return nil
        }
        if let sink, let out = child.stdout {
            let buf = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
            defer {
                buf.deallocate()
                close(out)
            }
            var pfd = pollfd(fd: out, events: Int16(POLLIN), revents: 0)
            while true {
                if let stop = interruption() {
                    failure = stop
                    break
                }
                let ready = poll(&pfd, 1, 250)
                if ready == 0 || (ready < 0 && errno == EINTR) { continue }
                let n = read(out, buf.baseAddress, buf.count)
                if n < 0 {
                    if errno == EINTR || errno == EAGAIN { continue }
                    failure = Failure("cannot read \(name)'s output: \(Files.errnoText())")
                    break
                }
                if n == 0 { break }
                bytes += Int64(n)
                do { try sink(UnsafeRawBufferPointer(rebasing: buf[0..<n])) } catch {
                    failure = error
                    break
                }
            }
        } else {
            while child.tryWait() == nil {
                if let stop = interruption() {
                    failure = stop
                    break
                }
                sleepThread(seconds: 0.1)
            }
        }
        if failure != nil { stop(child) }
        let termination = child.wait()
        stderrReader.join()
        let lines = tail.value
        if let failure { throw failure }
        guard termination.succeeded else {
            let errors = lines.filter { $0.contains("error") || $0.contains("FATAL") }
            let why = (errors.isEmpty ? Array(lines.suffix(3)) : Array(errors.suffix(3))).joined(separator: "; ")
            throw Failure("\(name) \(termination)\(why.isEmpty ? "" : ": \(why)")", hint: failureHint)
        }
        return Outcome(termination: termination, stderrTail: lines, stdoutBytes: bytes)
    }

    /// SIGTERM, then SIGKILL if it has not ended after the grace.
    private func stop(_ child: Subprocess) {
        child.kill(SIGTERM)
        let until = Deadline.after(seconds: grace)
        while child.tryWait() == nil {
            if until.hasPassed {
                child.kill(SIGKILL)
                return
            }
            sleepThread(seconds: 0.05)
        }
    }
}
