import Logging
import WhatIfCore
import WhatIfCrypto
import WhatIfProtocol

#if canImport(Glibc)
    import Glibc
#endif
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The audit trail: each entry goes to the journal at once (MESSAGE_ID `AuditEntry.messageID`, the
/// caller and outcome as fields) and, in order, to `<state>/audit/audit.log`: one JSON line per entry,
/// `{"hash":"<sha256>",…}` where the hash covers the rest of the line, which carries the previous
/// line's hash (`prev`). Appended and fdatasync'd off the event loop and the cooperative pool (the
/// agent's blocking pool); `recorded()` waits until everything handed over is on disk, so a request is
/// answered once it is recorded. At `rotateBytes` the file is renamed (`audit-<last seq>.log`) and a
/// new one continues the chain: rotation loses nothing, and rotated files are kept.
package final class AuditLog: Sendable {
    private struct State {
        var pending: [AuditEntry] = []
        var draining = false
        var barriers: [CheckedContinuation<Void, Never>] = []
        var seq: Int64 = 0
        var lastHash = ""
        /// The newest entry on disk (the name a rotated file gets).
        var written: Int64 = 0
    }

    package let directory: String
    let rotateBytes: Int64
    private let logger: Logger
    private let state = Locked(State())
    private let execute: @Sendable (@escaping @Sendable () -> Void) -> Void

    package static let current = "audit.log"

    package init(
        stateDirectory: String, rotateBytes: Int64, logger: Logger,
        execute: @escaping @Sendable (@escaping @Sendable () -> Void) -> Void = { Threads.start($0).detach() }
    ) {
        directory = stateDirectory + "/audit"
        self.rotateBytes = rotateBytes
        self.logger = logger
        self.execute = execute
    }

    var currentPath: String { "\(directory)/\(Self.current)" }

    /// At start, before any request: finds where the chain ends. A last line cut short by a crash is
    /// moved to `damaged-<time>.partial` and the chain goes on from the last whole line (an
    /// `audit.recovered` entry says so).
    package func open() {
        try? Files.makeDirectories(directory, mode: 0o750)
        var recovered: String?
        // Only the files' ends are read: start-up does not grow with the trail.
        if let (offset, bytes) = Self.tail(currentPath), !bytes.isEmpty, bytes.last != 10 {
            let cut = (bytes.lastIndex(of: 10).map { $0 + 1 }) ?? 0
            let partial = Array(bytes[cut...])
            let aside = "\(directory)/damaged-\(Int(Date().timeIntervalSince1970)).partial"
            try? Files.writeAtomically(aside, partial, mode: 0o640)
            if truncate(currentPath, off_t(offset) + off_t(cut)) == 0 {
                recovered = "the last line (\(partial.count) bytes) was cut short; it is in \(aside)"
            }
        }
        // The newest whole entry, in the current file or else the newest rotated one.
        for path in [currentPath] + Self.rotated(in: directory).reversed().map({ "\(directory)/\($0)" }) {
            guard let (_, bytes) = Self.tail(path), let line = bytes.split(separator: 10).last,
                let (entry, hash) = Self.parse(Array(line))
            else { continue }
            state.withLock {
                $0.seq = entry.seq
                $0.written = entry.seq
                $0.lastHash = hash
            }
            break
        }
        if let recovered {
            record(AuditEntry(event: "audit.recovered", user: "whatifd", outcome: "ok", message: recovered))
        }
    }

    /// The last 4 MiB of a file (more than a line can be: a request body is at most
    /// socket.max_body_bytes) and where they start.
    static func tail(_ path: String) -> (offset: Int64, bytes: [UInt8])? {
        guard let size = LocalFiles.size(path) else { return nil }
        let offset = max(0, size - (4 << 20))
        guard let bytes = try? LocalFiles.readRange(path, offset: offset, count: Int(size - offset)) else { return nil }
        return (offset, bytes)
    }

    /// Rotated files, oldest first.
    static func rotated(in directory: String) -> [String] {
        Files.list(directory).filter { $0.hasPrefix("audit-") && $0.hasSuffix(".log") }.sorted()
    }

    /// Hands an entry over: numbered and timed now, in the journal now, on disk in order.
    package func record(_ entry: AuditEntry) {
        var e = entry
        let start = state.withLock { s -> Bool in
            s.seq += 1
            e.seq = s.seq
            e.time = Timestamp.format(Date())
            s.pending.append(e)
            if s.draining { return false }
            s.draining = true
            return true
        }
        var fields: Logger.Metadata = [
            "message_id": "\(AuditEntry.messageID)", "audit_seq": "\(e.seq)", "audit_event": "\(e.event)",
            "audit_outcome": "\(e.outcome)",
        ]
        if let u = e.uid { fields["audit_uid"] = "\(u)" }
        if let u = e.user { fields["audit_user"] = "\(u)" }
        if let r = e.role { fields["audit_role"] = "\(r)" }
        if let r = e.route { fields["audit_route"] = "\(r)" }
        if let j = e.jobId { fields["job_id"] = "\(j)" }
        if let s = e.status { fields["audit_status"] = "\(s)" }
        logger.notice("audit: \(Self.summary(e))", metadata: fields)
        if start { execute { [self] in drain() } }
    }

    /// One line for the journal and the CLI: `admin alice: DELETE /v1/jobs/{id} (job …): ok`.
    package static func summary(_ e: AuditEntry) -> String {
        var what = e.route ?? e.event
        if e.route != nil, e.event != "request" { what = "\(e.event) \(what)" }
        if let k = e.kind { what += " \(k)" }
        if let j = e.jobId { what += " (job \(j))" }
        let who = [e.role, e.user ?? e.uid.map { "uid \($0)" }].compactMap { $0 }.joined(separator: " ")
        return "\(who.isEmpty ? "?" : who): \(what): \(e.outcome)" + (e.message.map { ": \($0)" } ?? "")
    }

    /// Returns once every entry handed over before the call is on disk.
    package func recorded() async {
        if state.withLock({ $0.pending.isEmpty && !$0.draining }) { return }
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let now = state.withLock { s -> Bool in
                if s.pending.isEmpty && !s.draining { return true }
                s.barriers.append(c)
                return false
            }
            if now { c.resume() }
        }
    }

    /// The line for an entry: `{"hash":"H",` + the entry's JSON (with `prev`) after its `{`.
    static func line(_ e: AuditEntry, prev: String) -> (line: [UInt8], hash: String) {
        var body = e
        body.prev = prev
        body.hash = nil
        let json = (try? APICoding.encode(body)) ?? Array(#"{"event":"unencodable","outcome":"error"}"#.utf8)
        let hash = Hex.encode(Digest.sha256(json))
        return (Array("{\"hash\":\"\(hash)\",".utf8) + json.dropFirst() + [10], hash)
    }

    /// An entry and its recorded hash, when the line is whole and hashes right.
    static func parse(_ line: [UInt8]) -> (AuditEntry, String)? {
        let head = Array("{\"hash\":\"".utf8)
        guard line.count > head.count + 66, line.starts(with: head) else { return nil }
        let hash = String(decoding: line[head.count..<(head.count + 64)], as: UTF8.self)
        guard line[head.count + 64] == UInt8(ascii: "\""), line[head.count + 65] == UInt8(ascii: ",") else {
            return nil
        }
        let body = [UInt8(ascii: "{")] + line[(head.count + 66)...]
        guard Hex.encode(Digest.sha256(body)) == hash, var e = try? APICoding.decode(AuditEntry.self, from: line)
        else { return nil }
        e.hash = hash
        return (e, hash)
    }

    private func drain() {
        while true {
            let (batch, barriers) = state.withLock { s -> ([AuditEntry], [CheckedContinuation<Void, Never>]) in
                if s.pending.isEmpty {
                    s.draining = false
                    defer { s.barriers = [] }
                    return ([], s.barriers)
                }
                defer { s.pending = [] }
                return (s.pending, [])
            }
            if batch.isEmpty {
                for b in barriers { b.resume() }
                return
            }
            var prev = state.value.lastHash
            var lines: [(line: [UInt8], seq: Int64, hash: String)] = []
            for e in batch {
                let (l, h) = Self.line(e, prev: prev)
                lines.append((l, e.seq, h))
                prev = h
            }
            do { try append(lines) } catch {
                // The journal has every entry already; the file's chain stays at its last written line.
                logger.error("cannot write the audit log", metadata: ["file": "\(currentPath)", "error": "\(error)"])
            }
        }
    }

    /// Appends whole lines; before a line that would take the file past `rotateBytes`, the file is
    /// renamed (the chain goes on in the next one).
    private func append(_ lines: [(line: [UInt8], seq: Int64, hash: String)]) throws {
        try Files.makeDirectories(directory, mode: 0o750)
        var size = LocalFiles.size(currentPath) ?? 0
        var bytes: [UInt8] = []
        var last: (seq: Int64, hash: String)?
        for l in lines {
            if size > 0, size + Int64(l.line.count) > rotateBytes {
                try write(bytes)
                bytes = []
                if let last { state.withLock { ($0.written, $0.lastHash) = last } }
                let digits = String(max(0, state.value.written))
                let to =
                    "\(directory)/audit-\(String(repeating: "0", count: max(0, 12 - digits.count)) + digits)-\(Int(Date().timeIntervalSince1970)).log"
                guard rename(currentPath, to) == 0 else {
                    throw Failure("cannot rotate \(currentPath): \(Files.errnoText())")
                }
                Files.syncDirectory(directory)
                size = 0
            }
            bytes += l.line
            size += Int64(l.line.count)
            last = (l.seq, l.hash)
        }
        try write(bytes)
        if let last { state.withLock { ($0.written, $0.lastHash) = last } }
    }

    private func write(_ bytes: [UInt8]) throws {
        guard !bytes.isEmpty else { return }
        let fd = Glibc.open(currentPath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o640)
        guard fd >= 0 else { throw Failure("cannot open \(currentPath): \(Files.errnoText())") }
        defer { close(fd) }
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + off, $0.count - off) }
            if n < 0 {
                if errno == EINTR { continue }
                throw Failure("cannot write \(currentPath): \(Files.errnoText())")
            }
            off += n
        }
        guard fdatasync(fd) == 0 else { throw Failure("cannot sync \(currentPath): \(Files.errnoText())") }
    }

    /// Reads every file, checks the chain whole, and answers the entries that match (oldest first, the
    /// newest `limit` of them). Blocking.
    package func read(since: Date?, user: String?, limit: Int) -> AuditList {
        var files = Self.rotated(in: directory)
        if Files.exists(currentPath) { files.append(Self.current) }
        var problems: [String] = []
        var matched: [AuditEntry] = []
        var count = 0
        var prev: String?
        var lastSeq: Int64?
        for name in files {
            let path = "\(directory)/\(name)"
            guard let bytes = try? Files.read(path, limit: Int(max(rotateBytes, 1 << 20)) * 4) else {
                problems.append("\(name): cannot be read")
                continue
            }
            for (n, raw) in bytes.split(separator: 10, omittingEmptySubsequences: false).enumerated() {
                if raw.isEmpty { continue }
                guard let (e, hash) = Self.parse(Array(raw)) else {
                    problems.append("\(name) line \(n + 1): not a whole entry, or its hash does not match")
                    prev = nil
                    continue
                }
                if let p = prev, e.prev != p {
                    problems.append(
                        "\(name) line \(n + 1): does not follow the entry before it (one was removed or changed)")
                }
                if let s = lastSeq, e.seq != s + 1 {
                    problems.append("\(name) line \(n + 1): entry \(e.seq) follows entry \(s)")
                }
                prev = hash
                lastSeq = e.seq
                if let since, let t = Timestamp.parse(e.time), t < since { continue }
                if let user, e.user != user, (e.uid.map { "uid \($0)" }) != user { continue }
                count += 1
                matched.append(e)
                if matched.count > limit * 2 { matched.removeFirst(matched.count - limit) }
            }
        }
        if matched.count > limit { matched.removeFirst(matched.count - limit) }
        return AuditList(entries: matched, matched: count, verified: problems.isEmpty, problems: problems, files: files)
    }

    /// A request body as typed JSON with secrets redacted: any member whose name speaks of a password,
    /// secret, token, credential or key material.
    package static func redact(_ body: [UInt8]) -> JSONValue? {
        guard !body.isEmpty else { return nil }
        guard let v = try? StrictJSON.parse(body) else { return .object(["unparsed": .number(Double(body.count))]) }
        return redact(v)
    }

    static func redact(_ v: JSONValue) -> JSONValue {
        switch v {
        case .object(let o):
            var out: [String: JSONValue] = [:]
            for (k, x) in o { out[k] = isSecret(k) ? .string("[redacted]") : redact(x) }
            return .object(out)
        case .array(let a): return .array(a.map(redact))
        default: return v
        }
    }

    static func isSecret(_ key: String) -> Bool {
        let k = key.lowercased().filter { $0.isLetter }
        return ["password", "passwd", "secret", "token", "credential", "passphrase", "privatekey", "apikey"]
            .contains { k.contains($0) } || k == "key" || k.hasSuffix("datakey")
    }
}

/// The audit log's line reader, for the fuzz target (the file is the agent's own, but a disk or a hand
/// may damage it): how many lines of `bytes` are whole entries whose hash matches.
public enum AuditFileCheck {
    public static func wholeEntries(_ bytes: [UInt8]) -> Int {
        bytes.split(separator: 10).filter { AuditLog.parse(Array($0)) != nil }.count
    }
}
