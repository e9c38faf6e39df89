import Foundation
import WhatIfCore
import WhatIfTesting

/// Sends raw bytes to a Unix socket and returns what comes back before the peer closes or `timeout`.
func rawExchange(
    _ path: String, _ bytes: [UInt8], timeout: Double = 5, sendSlowly: Double? = nil, halfClose: Bool = false
) -> String {
    let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    defer { close(fd) }
    guard let addr = Sockets.unixAddress(path) else { return "path too long" }
    let rc = Sockets.withAddress(addr) { connect(fd, $0, $1) }
    guard rc == 0 else { return "connect failed: \(String(cString: strerror(errno)))" }
    if let pause = sendSlowly {
        // Trickle the bytes until the agent answers (or hangs up).
        for b in bytes {
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            if poll(&p, 1, 0) > 0 { break }
            _ = [b].withUnsafeBytes { send(fd, $0.baseAddress, 1, Int32(MSG_NOSIGNAL)) }
            usleep(UInt32(pause * 1_000_000))
        }
    } else {
        _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }
    if halfClose { shutdown(fd, Int32(SHUT_WR)) }
    var out: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: 65536)
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        if poll(&p, 1, 50) <= 0 { continue }
        let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n <= 0 { break }
        out += buf[0..<n]
    }
    return String(decoding: out, as: UTF8.self)
}

/// Test users and groups for authorization with real uids (needs root).
enum TestUsers {
    static let readerGroup = "whatif-t-readers"
    static let adminGroup = "whatif-t-admins"
    static let reader = "whatif-t-reader"
    static let admin = "whatif-t-admin"
    /// In both groups.
    static let both = "whatif-t-both"

    static func ensure() throws {
        // Test processes run side by side (scripts/test): one at a time here, or useradd finds the
        // user another has just added, or /etc/passwd locked.
        let r = try Run.shell(
            """
            set -e
            exec 9>/run/lock/whatif-test-users.lock
            flock 9
            getent group \(readerGroup) >/dev/null || groupadd \(readerGroup)
            getent group \(adminGroup) >/dev/null || groupadd \(adminGroup)
            id \(reader) >/dev/null 2>&1 || useradd -M -N -g nogroup -G \(readerGroup) -s /usr/sbin/nologin \(reader)
            id \(admin) >/dev/null 2>&1 || useradd -M -N -g nogroup -G \(adminGroup) -s /usr/sbin/nologin \(admin)
            id \(both) >/dev/null 2>&1 || useradd -M -N -g nogroup -G \(readerGroup),\(adminGroup) -s /usr/sbin/nologin \(both)
            """)
        guard r.status == 0 else { throw TestFailure("cannot create test users: \(r.output)") }
    }
}

/// whatifctl copied where any user can run it (the checkout may sit under a private home).
let publicWhatifctl: String = {
    let dir = "\(TestScratch.root)/bin"
    try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    chmod(dir, 0o755)
    let dest = "\(dir)/whatifctl"
    // Written with O_CLOEXEC and renamed into place: a child spawned meanwhile by another test must
    // not inherit a write descriptor, or exec fails with "Text file busy".
    if let bytes = try? Files.read(TestPaths.binary("whatifctl"), limit: 512 << 20) {
        try? Files.writeAtomically(dest, bytes, mode: 0o755)
    }
    return dest
}()

/// Runs whatifctl as `user` (through runuser) against `socket`.
func ctl(as user: String, socket: String, _ args: [String]) throws -> CommandResult {
    try Run.command(["/usr/sbin/runuser", "-u", user, "--", publicWhatifctl] + args + ["--socket", socket])
}
