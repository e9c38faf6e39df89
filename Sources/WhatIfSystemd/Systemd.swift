import CSystemd
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// The service manager's interfaces: readiness and status, the watchdog, and socket activation.
/// Every call is a no-op when the agent was not started by systemd (no NOTIFY_SOCKET, no LISTEN_FDS).
package enum Systemd {
    /// Sends `READY=1`, `STATUS=...`, `WATCHDOG=1`, `STOPPING=1`, `RELOADING=1` ...
    @discardableResult
    package static func notify(_ state: String) -> Bool {
        sd_notify(0, state) > 0
    }

    package static func ready(status: String) { notify("READY=1\nSTATUS=\(status)\nMAINPID=\(getpid())") }
    package static func status(_ text: String) { notify("STATUS=\(text)") }
    package static func stopping(status: String) { notify("STOPPING=1\nSTATUS=\(status)") }
    package static func watchdogPing() { notify("WATCHDOG=1") }

    /// The watchdog interval systemd expects (WatchdogSec), when enabled for this process.
    package static var watchdogInterval: Double? {
        var usec: UInt64 = 0
        guard sd_watchdog_enabled(0, &usec) > 0, usec > 0 else { return nil }
        return Double(usec) / 1_000_000
    }

    /// Sockets passed by systemd (socket activation): the first is at fd 3.
    /// Returns the descriptors of listening AF_UNIX stream sockets, and unsets LISTEN_FDS.
    package static func listenFileDescriptors() -> [Int32] {
        let n = sd_listen_fds(1)
        guard n > 0 else { return [] }
        return (0..<n).map { SD_LISTEN_FDS_START + $0 }.filter {
            sd_is_socket_unix($0, Int32(SOCK_STREAM.rawValue), 1, nil, 0) > 0
        }
    }

    /// True when stderr is connected to the journal (systemd sets JOURNAL_STREAM to its device:inode).
    package static var stderrIsJournal: Bool {
        guard let v = getenv("JOURNAL_STREAM").map({ String(cString: $0) }) else { return false }
        let parts = v.split(separator: ":")
        guard parts.count == 2, let dev = UInt64(parts[0]), let ino = UInt64(parts[1]) else { return false }
        var st = stat()
        guard fstat(2, &st) == 0 else { return false }
        return UInt64(st.st_dev) == dev && UInt64(st.st_ino) == ino
    }
}

/// swift-log handler that writes structured entries to the journal with sd_journal_sendv:
/// MESSAGE, PRIORITY, SYSLOG_IDENTIFIER, CODE_FILE/LINE/FUNC, LOGGER, and every metadata key as a
/// field of its own (upper-cased: `job_id` becomes `JOB_ID`).
package struct JournalLogHandler: LogHandler {
    package var metadata: Logger.Metadata = [:]
    package var logLevel: Logger.Level = .info
    package let label: String
    package let identifier: String

    package init(label: String, identifier: String = "whatifd") {
        self.label = label
        self.identifier = identifier
    }

    package subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    package static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }

    /// A journal field name: upper-case letters, digits and underscores, not starting with one.
    package static func fieldName(_ key: String) -> String {
        var out = ""
        for c in key.uppercased() {
            if c.isASCII, c.isLetter || c.isNumber { out.append(c) } else { out.append("_") }
        }
        while out.hasPrefix("_") { out.removeFirst() }
        if out.isEmpty || out.first!.isNumber { out = "F" + out }
        return String(out.prefix(64))
    }

    /// The entry's fields, in order.
    package func fields(
        level: Logger.Level, message: Logger.Message, metadata explicit: Logger.Metadata?, source: String, file: String,
        function: String, line: UInt
    ) -> [String] {
        var fields = [
            "MESSAGE=\(message)", "PRIORITY=\(Self.priority(level))", "SYSLOG_IDENTIFIER=\(identifier)",
            "CODE_FILE=\(file)",
            "CODE_LINE=\(line)", "CODE_FUNC=\(function)", "LOGGER=\(label)",
        ]
        let merged = metadata.merging(explicit ?? [:], uniquingKeysWith: { _, new in new })
        for (k, v) in merged.sorted(by: { $0.key < $1.key }) {
            let name = Self.fieldName(k)
            // Don't let metadata spoof the trusted fields above.
            if ["MESSAGE", "PRIORITY", "SYSLOG_IDENTIFIER", "CODE_FILE", "CODE_LINE", "CODE_FUNC", "LOGGER"].contains(
                name)
            {
                continue
            }
            fields.append("\(name)=\(v)")
        }
        return fields
    }

    package func log(event: LogEvent) {
        var metadata = event.metadata ?? [:]
        if let error = event.error { metadata["error"] = "\(error)" }
        let fields = self.fields(
            level: event.level, message: event.message, metadata: metadata, source: event.source, file: event.file,
            function: event.function, line: event.line)
        var buffers = fields.map { Array($0.utf8) }
        var iov: [iovec] = []
        iov.reserveCapacity(buffers.count)
        for i in buffers.indices {
            buffers[i].withUnsafeMutableBytes { raw in
                iov.append(iovec(iov_base: raw.baseAddress, iov_len: raw.count))
            }
        }
        // The iovecs point into `buffers`, which stay alive (and unmoved) until after the call.
        withExtendedLifetime(buffers) {
            _ = sd_journal_sendv(&iov, Int32(iov.count))
        }
    }
}
