import Foundation
import Logging
import Testing
import WhatIfSystemd
import WhatIfTesting

@Suite(.serialized) struct SystemdTests {
    @Test func notifyReachesTheSocket() throws {
        let dir = TempDir("whatif-notify")
        let l = try DatagramListener(dir.file("notify.sock"))
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
        let journal = try DatagramListener(path)
        defer { unlink(path) }
        let logger = Logger(label: "whatifd") { JournalLogHandler(label: $0) }
        logger.error("backup failed", metadata: ["job_id": "j-42"])
        let entry = try #require(journal.receive(timeout: 1).first)
        #expect(
            entry.contains("MESSAGE=backup failed\n") && entry.contains("PRIORITY=3\n") && entry.contains("JOB_ID=j-42")
        )
    }
}
