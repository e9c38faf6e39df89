import CLinuxShims
import Foundation
import WhatIfCore

/// The outcome of a finished command.
package struct CommandResult: Sendable {
    package var status: Int32
    package var stdout: String
    package var stderr: String
    package var output: String { stdout + stderr }
}

/// Runs programs for tests: to completion, or in the background.
package enum Run {
    /// Runs `argv` to completion with `input` on stdin; `environment` replaces the test's environment.
    @discardableResult
    package static func command(
        _ argv: [String], environment: [String: String]? = nil, input: String? = nil, timeout: Double = 120
    ) throws -> CommandResult {
        try CooperativePool.refuseBlockingInStrictMode("Run.command(\(argv.first ?? ""))")
        var outPipe: [Int32] = [0, 0]
        var errPipe: [Int32] = [0, 0]
        var inPipe: [Int32] = [0, 0]
        guard whatif_pipe_cloexec(&outPipe) == 0, whatif_pipe_cloexec(&errPipe) == 0, whatif_pipe_cloexec(&inPipe) == 0
        else {
            throw TestFailure("pipe: \(String(cString: strerror(errno)))")
        }
        let pid: pid_t
        do {
            pid = try Spawn.start(
                argv, environment: environment ?? Spawn.currentEnvironment, stdin: inPipe[0], stdout: outPipe[1],
                stderr: errPipe[1])
        } catch {
            for fd in outPipe + errPipe + inPipe { close(fd) }
            throw TestFailure("\(error)")
        }
        close(outPipe[1])
        close(errPipe[1])
        close(inPipe[0])
        if let input {
            var bytes = Array(input.utf8)
            var off = 0
            while off < bytes.count {
                let n = bytes.withUnsafeMutableBytes { write(inPipe[1], $0.baseAddress! + off, $0.count - off) }
                if n <= 0 { break }
                off += n
            }
        }
        close(inPipe[1])
        var out: [UInt8] = []
        var err: [UInt8] = []
        var open: [Int32: Bool] = [outPipe[0]: true, errPipe[0]: true]
        let deadline = Date().addingTimeInterval(timeout)
        var buf = [UInt8](repeating: 0, count: 65536)
        while open.values.contains(true) {
            var fds = open.filter { $0.value }.map { pollfd(fd: $0.key, events: Int16(POLLIN), revents: 0) }
            let ms = Int32(max(0, deadline.timeIntervalSinceNow * 1000))
            if ms == 0 {
                kill(pid, SIGKILL)
                var st: Int32 = 0
                waitpid(pid, &st, 0)
                for fd in open.keys { close(fd) }
                throw TestFailure("\(argv.joined(separator: " ")) did not finish within \(timeout) s")
            }
            if poll(&fds, nfds_t(fds.count), ms) <= 0 { continue }
            for p in fds where p.revents != 0 {
                let n = buf.withUnsafeMutableBytes { read(p.fd, $0.baseAddress, $0.count) }
                if n > 0 {
                    if p.fd == outPipe[0] { out += buf[0..<n] } else { err += buf[0..<n] }
                } else {
                    open[p.fd] = false
                    close(p.fd)
                }
            }
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0, errno == EINTR {}
        let code = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return CommandResult(
            status: code, stdout: String(decoding: out, as: UTF8.self), stderr: String(decoding: err, as: UTF8.self))
    }

    /// Runs a shell snippet.
    @discardableResult
    package static func shell(_ script: String, environment: [String: String]? = nil, timeout: Double = 300) throws
        -> CommandResult
    {
        try command(["/bin/bash", "-c", script], environment: environment, timeout: timeout)
    }
}

/// A program running in the background, its output collected in a file.
package final class BackgroundProcess: @unchecked Sendable {
    package let pid: pid_t
    package let logPath: String
    private let exit = Locked<Int32?>(nil)

    package init(_ argv: [String], environment: [String: String]? = nil, logPath: String) throws {
        self.logPath = logPath
        let fd = open(logPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw TestFailure("cannot open \(logPath)") }
        defer { close(fd) }
        do {
            pid = try Spawn.start(
                argv, environment: environment ?? Spawn.currentEnvironment, stdin: nil, stdout: fd, stderr: fd)
        } catch {
            throw TestFailure("\(error)")
        }
    }

    deinit {
        if isRunning {
            kill(pid, SIGKILL)
            wait(timeout: 5)
        }
    }

    package var isRunning: Bool { poll() == nil }
    package var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    package func signal(_ sig: Int32) { kill(pid, sig) }

    /// The exit status if the process ended (128 + signal number when a signal ended it).
    private func poll() -> Int32? {
        if let e = exit.value { return e }
        var status: Int32 = 0
        let r = waitpid(pid, &status, WNOHANG)
        guard r == pid else { return nil }
        let code = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        exit.set(code)
        return code
    }

    /// Waits for the process to end; returns its exit status, or nil if it is still running.
    @discardableResult
    package func wait(timeout: Double) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while poll() == nil, Date() < deadline { usleep(5000) }
        return poll()
    }
}

package struct TestFailure: Error, CustomStringConvertible {
    package var description: String
    package init(_ d: String) { description = d }
}

/// Swift's cooperative pool has as many threads as cores (two in CI). An agent running inside the test
/// process answers on those threads, so a test that blocks one of them (a synchronous call to the
/// agent, a subprocess, a polling loop) can stall every in-process agent until it returns, and some
/// other test times out. These checks turn that into an error at the blocking call.
package enum CooperativePool {
    /// True on a thread that is running a Swift task (a synchronous test function runs on one too).
    package static var isCurrentThreadInATask: Bool { withUnsafeCurrentTask { $0 != nil } }

    /// Set by scripts/test for the pass that runs agents inside the test process: there every blocking
    /// helper refuses to run on a task.
    package static let strict = ProcessInfo.processInfo.environment["WHATIF_TEST_IN_PROCESS_AGENTS"] == "1"

    package static func message(_ what: String) -> String {
        "\(what) would block a Swift cooperative thread, which the in-process agents need to answer: "
            + "call it through offPool { } (or InProcessAgent.call), or use the async eventually"
    }

    /// Throws when called on a task.
    package static func refuseBlocking(_ what: String) throws {
        if isCurrentThreadInATask { throw TestFailure(message(what)) }
    }

    /// Throws when called on a task in the in-process pass.
    package static func refuseBlockingInStrictMode(_ what: String) throws {
        if strict { try refuseBlocking(what) }
    }
}

/// Polls `condition` until it holds or `timeout` passes. Blocks its thread: from async code use the
/// async `eventually` below (the in-process pass stops here when this runs on a task).
package func eventually(timeout: Double = 10, _ condition: () throws -> Bool) rethrows -> Bool {
    if CooperativePool.strict, CooperativePool.isCurrentThreadInATask {
        preconditionFailure(CooperativePool.message("the synchronous eventually"))
    }
    let deadline = Date().addingTimeInterval(timeout)
    repeat {
        if try condition() { return true }
        usleep(20_000)
    } while Date() < deadline
    return try condition()
}

/// A free TCP port on loopback (bound, read, released).
package func freePort() -> Int { Sockets.freeLoopbackPort() }

package var isRoot: Bool { getuid() == 0 }

/// Runs blocking work (the socket client, sleeps) on a thread of its own, never on the small cooperative
/// pool an in-process agent needs to answer.
package func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let t = Thread { continuation.resume(with: Result { try body() }) }
        t.start()
    }
}

/// `eventually` for async tests: checks off the pool, waits with Task.sleep.
package func eventually(timeout: Double = 10, _ condition: @escaping @Sendable () throws -> Bool) async -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    repeat {
        if (try? await offPool(condition)) == true { return true }
        try? await Task.sleep(for: .milliseconds(20))
    } while Date() < deadline
    return (try? await offPool(condition)) == true
}

/// A TCP listener that never accepts: connections complete in the backlog and nothing ever answers,
/// as with a wedged server or a black-holing firewall.
package final class SilentListener: @unchecked Sendable {
    package let port: Int
    private let fd: Int32

    package init() {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        _ = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        listen(fd, 64)
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        self.fd = fd
        port = Int(UInt16(bigEndian: addr.sin_port))
    }

    /// A Unix socket at `path` that takes connections into its backlog and never answers them.
    package init(unixPath path: String) {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in path.utf8.prefix(raw.count - 1).enumerated() { raw[i] = b }
        }
        unlink(path)
        _ = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        chmod(path, 0o666)
        listen(fd, 64)
        self.fd = fd
        port = 0
    }

    deinit { close(fd) }
}
