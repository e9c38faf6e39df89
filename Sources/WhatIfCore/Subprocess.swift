import CLinuxShims

#if canImport(Glibc)
    import Glibc
#endif

/// A helper program (pg_dump, pg_restore) run from an argument vector, never through a shell.
/// The child gets an empty signal mask, default signal dispositions, only the descriptors given, and
/// SIGKILL when the thread that started it exits (so start it from the thread that waits for it).
package final class Subprocess: @unchecked Sendable {
    package enum Output: Sendable {
        case null
        case pipe
        /// An open descriptor of the caller's (a file), duplicated onto the child's.
        case descriptor(Int32)
    }

    package enum Termination: Sendable, Equatable, CustomStringConvertible {
        case exited(Int32)
        case signaled(Int32)

        package var succeeded: Bool { self == .exited(0) }

        package var description: String {
            switch self {
            case .exited(let c): "exited with status \(c)"
            case .signaled(let s):
                "was killed by signal \(s)\(s == SIGKILL ? " (SIGKILL)" : s == SIGTERM ? " (SIGTERM)" : "")"
            }
        }
    }

    package let pid: pid_t
    package let argv: [String]
    /// Read ends of the pipes asked for; the caller reads and closes them.
    package let stdout: Int32?
    package let stderr: Int32?
    private let state = Locked<Termination?>(nil)

    private init(pid: pid_t, argv: [String], stdout: Int32?, stderr: Int32?) {
        self.pid = pid
        self.argv = argv
        self.stdout = stdout
        self.stderr = stderr
    }

    /// Starts `executable` (an absolute path, or a name looked up in `PATH` of `environment`).
    package static func start(
        _ executable: String, arguments: [String], environment: [String: String], stdin: Output = .null,
        stdout: Output = .null, stderr: Output = .null
    ) throws(Failure) -> Subprocess {
        guard let path = resolve(executable, path: environment["PATH"] ?? "/usr/bin:/bin") else {
            throw Failure(
                "cannot find \(executable)",
                hint: executable.contains("/")
                    ? "install it or fix the configured path" : "install it or put it on the agent's PATH")
        }
        var parentEnds: [Int32] = []
        var childEnds: [Int32] = []
        func pipeFor(_ o: Output) throws(Failure) -> (parent: Int32?, child: Int32) {
            switch o {
            case .null: return (nil, -1)
            case .descriptor(let fd): return (nil, fd)
            case .pipe:
                var fds: [Int32] = [0, 0]
                guard whatif_pipe_cloexec(&fds) == 0 else {
                    throw Failure("cannot create a pipe: \(Files.errnoText())")
                }
                parentEnds.append(fds[0])
                childEnds.append(fds[1])
                return (fds[0], fds[1])
            }
        }
        let closeAll = {
            for fd in parentEnds + childEnds { close(fd) }
        }
        if case .pipe = stdin { throw Failure("a pipe for stdin is not supported; pass a descriptor") }
        let input: Int32
        if case .descriptor(let fd) = stdin { input = fd } else { input = -1 }
        let out: (parent: Int32?, child: Int32)
        let err: (parent: Int32?, child: Int32)
        do {
            out = try pipeFor(stdout)
            err = try pipeFor(stderr)
        } catch {
            closeAll()
            throw error
        }
        let argv = [executable] + arguments
        let cArgs = argv.map { strdup($0) } + [nil]
        let cEnv = environment.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for a in cArgs { free(a) }
            for e in cEnv { free(e) }
        }
        // ETXTBSY: the file is open for writing somewhere, typically a copy of a descriptor that another
        // thread's child holds between its fork and its exec, right after the file was written (a hook
        // installed a moment ago). That usually passes within milliseconds, but a child starved on a busy
        // host holds it longer (CI saw more than 155 ms), so retries doubling from 5 ms up to about 0.6 s in
        // all, as Go's toolchain waits up to 0.7 s for the same race; anything else is an answer at once.
        var pid: pid_t = -1
        var spawnErrno: Int32 = 0
        for attempt in 0..<8 {
            pid = whatif_spawn(path, cArgs, cEnv, input, out.child, err.child, SIGKILL)
            spawnErrno = errno
            guard pid <= 0, spawnErrno == ETXTBSY, attempt < 7 else { break }
            usleep(useconds_t(5_000 << attempt))
        }
        for fd in childEnds { close(fd) }
        guard pid > 0 else {
            for fd in parentEnds { close(fd) }
            throw Failure(
                "cannot start \(path): \(Files.errnoText(spawnErrno))",
                hint: spawnErrno == ETXTBSY
                    ? "the file is still open for writing (being installed or edited); try again once it is written"
                    : nil)
        }
        return Subprocess(pid: pid, argv: argv, stdout: out.parent, stderr: err.parent)
    }

    /// Waits for the child to end (once; later calls answer the same).
    @discardableResult
    package func wait() -> Termination {
        while true {
            if let t = tryWait() { return t }
            // Block until it has ended, without reaping: reaping happens under the lock `kill` takes,
            // so a signal never reaches a recycled pid.
            var info = siginfo_t()
            let r = waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT)
            if r < 0 && errno != EINTR {
                if let t = tryWait() { return t }
                let t = Termination.exited(-1)
                state.set(t)
                return t
            }
        }
    }

    /// The child's end if it has ended (reaps it), nil while it runs.
    package func tryWait() -> Termination? {
        state.withLock { t -> Termination? in
            if let t { return t }
            var status: Int32 = 0
            let r = waitpid(pid, &status, WNOHANG)
            guard r == pid else { return nil }
            let result: Termination =
                whatif_wifsignaled(status) != 0
                ? .signaled(whatif_wtermsig(status)) : .exited(whatif_wexitstatus(status))
            t = result
            return result
        }
    }

    /// Sends `signal` unless the child has been waited for (its pid may belong to another process then).
    package func kill(_ signal: Int32 = SIGTERM) {
        state.withLock { t in
            if t == nil { _ = Glibc.kill(pid, signal) }
        }
    }

    /// Reads `fd` to its end, calling `line` for each line (without the newline); long lines are cut
    /// at `maxLine` bytes. Closes `fd`.
    package static func readLines(_ fd: Int32, maxLine: Int = 8192, _ line: (String) -> Void) {
        defer { close(fd) }
        var pending: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 16384)
        while true {
            let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0, errno == EINTR { continue }
            if n <= 0 { break }
            for b in buf[0..<n] {
                if b == 10 {
                    line(String(decoding: pending, as: UTF8.self))
                    pending.removeAll(keepingCapacity: true)
                } else if pending.count < maxLine {
                    pending.append(b)
                }
            }
        }
        if !pending.isEmpty { line(String(decoding: pending, as: UTF8.self)) }
    }

    /// Runs a program to its end and returns its standard output (at most `limit` bytes) and status;
    /// stderr is collected too, for error messages.
    package static func run(
        _ executable: String, arguments: [String], environment: [String: String], limit: Int = 16 << 20
    ) throws(Failure) -> (termination: Termination, stdout: [UInt8], stderr: String) {
        let p = try start(executable, arguments: arguments, environment: environment, stdout: .pipe, stderr: .pipe)
        let errText = Locked<[String]>([])
        let errFD = p.stderr!
        let reader = Threads.start {
            Subprocess.readLines(errFD) { l in errText.withLock { if $0.count < 200 { $0.append(l) } } }
        }
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        let fd = p.stdout!
        while true {
            let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0, errno == EINTR { continue }
            if n <= 0 { break }
            if out.count < limit { out += buf[0..<min(n, limit - out.count)] }
        }
        close(fd)
        reader.join()
        let t = p.wait()
        return (t, out, errText.value.joined(separator: "\n"))
    }

    /// `name` looked up in a PATH-style list (or checked as is when it holds a slash).
    package static func resolve(_ name: String, path: String) -> String? {
        if name.contains("/") { return access(name, X_OK) == 0 ? name : nil }
        for dir in path.split(separator: ":") where !dir.isEmpty {
            let candidate = "\(dir)/\(name)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }
}
