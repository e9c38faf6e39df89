import Foundation
import Logging
import Testing
import WhatIfSystemd
import WhatIfTesting

/// A datagram socket standing in for systemd's notification socket.
final class NotifyListener {
    let path: String
    let fd: Int32
    let dir = TempDir("whatif-notify")

    init() throws {
        path = dir.file("notify.sock")
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            let b = Array(path.utf8)
            raw.copyBytes(from: b)
            raw[b.count] = 0
        }
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard rc == 0 else { throw TestFailure("bind \(path): \(String(cString: strerror(errno)))") }
        chmod(path, 0o777)
    }

    deinit { close(fd) }

    /// Messages received within `timeout` seconds.
    func receive(timeout: Double) -> [String] {
        var out: [String] = []
        let deadline = Date().addingTimeInterval(timeout)
        var buf = [UInt8](repeating: 0, count: 4096)
        while Date() < deadline {
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            if poll(&p, 1, 20) > 0 {
                let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if n > 0 { out.append(String(decoding: buf[0..<n], as: UTF8.self)) }
            }
        }
        return out
    }
}

@Suite(.serialized) struct SystemdTests {
    @Test func notifyReachesTheSocket() throws {
        let l = try NotifyListener()
        setenv("NOTIFY_SOCKET", l.path, 1)
        defer { unsetenv("NOTIFY_SOCKET") }
        Systemd.ready(status: "serving")
        Systemd.watchdogPing()
        Systemd.stopping(status: "bye")
        let got = l.receive(timeout: 0.5).joined(separator: "\n")
        #expect(got.contains("READY=1") && got.contains("STATUS=serving") && got.contains("MAINPID=\(getpid())"))
        #expect(got.contains("WATCHDOG=1") && got.contains("STOPPING=1") && got.contains("STATUS=bye"))
    }

    @Test func notifyWithoutSystemdIsANoOp() {
        unsetenv("NOTIFY_SOCKET")
        #expect(!Systemd.notify("READY=1"))
    }

    @Test func watchdogIntervalComesFromTheEnvironment() {
        setenv("WATCHDOG_USEC", "400000", 1)
        setenv("WATCHDOG_PID", String(getpid()), 1)
        defer {
            unsetenv("WATCHDOG_USEC")
            unsetenv("WATCHDOG_PID")
        }
        #expect(Systemd.watchdogInterval == 0.4)
        setenv("WATCHDOG_PID", "1", 1)
        #expect(Systemd.watchdogInterval == nil)
    }

    @Test func journalStreamDetection() throws {
        var st = stat()
        fstat(2, &st)
        setenv("JOURNAL_STREAM", "\(st.st_dev):\(st.st_ino)", 1)
        #expect(Systemd.stderrIsJournal)
        setenv("JOURNAL_STREAM", "1:2", 1)
        #expect(!Systemd.stderrIsJournal)
        unsetenv("JOURNAL_STREAM")
        #expect(!Systemd.stderrIsJournal)
    }

    @Test func journalFields() {
        var h = JournalLogHandler(label: "whatifd")
        h.metadata = ["job_id": "j-1"]
        let f = h.fields(
            level: .warning, message: "disk almost full",
            metadata: ["free-bytes": "123", "MESSAGE": "spoof", "9lives": "x"], source: "s",
            file: "F.swift", function: "f()", line: 7)
        #expect(f.prefix(2) == ["MESSAGE=disk almost full", "PRIORITY=4"])
        #expect(f.contains("SYSLOG_IDENTIFIER=whatifd") && f.contains("CODE_LINE=7") && f.contains("JOB_ID=j-1"))
        #expect(f.contains("FREE_BYTES=123") && f.contains("F9LIVES=x"))
        #expect(!f.contains("MESSAGE=spoof"))
        #expect(JournalLogHandler.priority(.critical) == 2 && JournalLogHandler.priority(.debug) == 7)
    }

    /// sd_journal_sendv writes one datagram of KEY=VALUE lines to the journal's socket.
    @Test func entriesReachAJournalSocket() throws {
        let path = "/run/systemd/journal/socket"
        try #require(isRoot && !FileManager.default.fileExists(atPath: path), "a real journal runs here, or not root")
        try FileManager.default.createDirectory(atPath: "/run/systemd/journal", withIntermediateDirectories: true)
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        defer {
            close(fd)
            unlink(path)
        }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            let b = Array(path.utf8)
            raw.copyBytes(from: b)
            raw[b.count] = 0
        }
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        try #require(rc == 0)
        let logger = Logger(label: "whatifd") { JournalLogHandler(label: $0) }
        logger.error("backup failed", metadata: ["job_id": "j-42"])
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        try #require(poll(&p, 1, 2000) == 1)
        var buf = [UInt8](repeating: 0, count: 8192)
        let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        let entry = String(decoding: buf[0..<max(0, n)], as: UTF8.self)
        #expect(
            entry.contains("MESSAGE=backup failed\n") && entry.contains("PRIORITY=3\n") && entry.contains("JOB_ID=j-42")
        )
    }
}
