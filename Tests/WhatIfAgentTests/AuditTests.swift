import Foundation
import Logging
import Testing
import WhatIfAgent
import WhatIfAgentTesting
import WhatIfClient
import WhatIfProtocol
import WhatIfSystemd
import WhatIfTesting

/// The audit log on its own: the hash chain, rotation, a line cut short by a crash, redaction.
@Suite struct AuditLogTests {
    let dir = TempDir("whatif-audit")

    func log(rotate: Int64 = 1 << 20) -> AuditLog {
        let l = AuditLog(stateDirectory: dir.path, rotateBytes: rotate, logger: Logger(label: "test"))
        l.open()
        return l
    }

    func entry(_ n: Int) -> AuditEntry {
        AuditEntry(
            event: "request", uid: 1000, user: "alice", role: "admin", route: "POST /v1/x", outcome: "ok",
            message: "entry \(n)")
    }

    @Test func entriesChainAcrossRotationsAndRestartsAndNothingIsLost() async throws {
        var l = log(rotate: 4096)
        for n in 1...40 { l.record(entry(n)) }
        await l.recorded()
        // A restart continues the chain where it ended.
        l = log(rotate: 4096)
        for n in 41...60 { l.record(entry(n)) }
        await l.recorded()
        let all = l.read(since: nil, user: nil, limit: 1000)
        #expect(all.verified, "\(all.problems)")
        #expect(all.entries.map(\.seq) == Array(1...60).map(Int64.init))
        #expect(all.entries.map(\.message) == (1...60).map { "entry \($0)" })
        #expect(all.files.count >= 3 && all.files.last == "audit.log", "\(all.files)")
        for name in all.files {
            let size = try #require(
                try FileManager.default.attributesOfItem(atPath: l.directory + "/" + name)[.size] as? Int)
            #expect(size <= 4096, "\(name) is \(size) bytes")
        }
        // Filters: by user, by time, the newest N.
        #expect(l.read(since: nil, user: "bob", limit: 10).entries.isEmpty)
        let newest = l.read(since: nil, user: "alice", limit: 5)
        #expect(newest.entries.map(\.seq) == [56, 57, 58, 59, 60] && newest.matched == 60)
        #expect(l.read(since: Date().addingTimeInterval(60), user: nil, limit: 10).entries.isEmpty)
    }

    @Test func anEditedOrRemovedLineBreaksTheChainWhereItIs() async throws {
        let l = log()
        for n in 1...5 { l.record(entry(n)) }
        await l.recorded()
        let path = l.directory + "/audit.log"
        var lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
        // An edit that keeps the line well-formed: its hash no longer matches.
        lines[1] = lines[1].replacingOccurrences(of: "alice", with: "mallory")
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        let edited = l.read(since: nil, user: nil, limit: 100)
        #expect(
            !edited.verified && edited.problems.contains { $0.hasPrefix("audit.log line 2:") }, "\(edited.problems)")
        // A removed line: the next one does not follow.
        lines.remove(at: 1)
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        let removed = l.read(since: nil, user: nil, limit: 100)
        #expect(removed.problems.contains { $0.contains("line 2: does not follow") }, "\(removed.problems)")
    }

    @Test func aLastLineCutShortIsSetAsideAndTheChainGoesOn() async throws {
        var l = log()
        for n in 1...3 { l.record(entry(n)) }
        await l.recorded()
        let path = l.directory + "/audit.log"
        let h = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        h.seekToEndOfFile()
        h.write(Data(#"{"hash":"00","time":"#.utf8))
        h.closeFile()
        l = log()
        l.record(entry(4))
        await l.recorded()
        let all = l.read(since: nil, user: nil, limit: 100)
        #expect(all.verified, "\(all.problems)")
        #expect(all.entries.map(\.event) == ["request", "request", "request", "audit.recovered", "request"])
        #expect(all.entries[3].message?.contains("cut short") == true)
        let aside = try FileManager.default.contentsOfDirectory(atPath: l.directory).filter { $0.hasSuffix(".partial") }
        #expect(aside.count == 1)
    }

    @Test func secretsAreRedactedAndTheJournalGetsTheMessageID() {
        let body = Array(
            #"{"kind":"x","params":{"password":"hunter2","authToken":"t","to":3,"nested":[{"apiKey":"k"}]}}"#.utf8)
        let v = AuditLog.redact(body)
        #expect(v?["params"]?["password"]?.stringValue == "[redacted]")
        #expect(v?["params"]?["authToken"]?.stringValue == "[redacted]")
        #expect(v?["params"]?["to"]?.intValue == 3)
        if case .array(let nested)? = v?["params"]?["nested"] {
            #expect(nested.first?["apiKey"]?.stringValue == "[redacted]")
        } else {
            Issue.record("nested is not an array: \(String(describing: v))")
        }
        #expect(AuditLog.redact(Array("not json".utf8))?["unparsed"]?.intValue == 8)
        // The fields the journal gets for an entry (whatifd logs through JournalLogHandler under systemd).
        let fields = JournalLogHandler(label: "whatifd").fields(
            level: .notice, message: "audit",
            metadata: ["message_id": "\(AuditEntry.messageID)", "audit_user": "alice"],
            source: "", file: "", function: "", line: 0)
        #expect(fields.contains("MESSAGE_ID=\(AuditEntry.messageID)") && fields.contains("AUDIT_USER=alice"))
    }
}

/// The audit trail of an agent in the test process, through the admin API.
@Suite struct AuditTrailTests {
    @Test func requestsJobsCancellationsAndReloadsAreRecordedWithTheCaller() async throws {
        let a = try await InProcessAgent(TestConfig())
        defer { Task { await a.stop() } }
        let done = try await a.call { try $0.startJob(kind: "test.count", params: ["to": 3, "stepMs": 1]) }
        let slow = try await a.call {
            try $0.startJob(kind: "test.count", params: ["to": 100_000, "stepMs": 50, "resource": "test:slow"])
        }
        _ = try await a.call { try $0.cancelJob(slow.id) }
        // A request with a secret in it, refused (the kind takes no such parameter): recorded, redacted.
        let refused = try? await a.call { try $0.startJob(kind: "test.count", params: ["password": "hunter2"]) }
        #expect(refused == nil)
        _ = try await a.call { try $0.reloadConfig() }
        // Both jobs' ends are in the trail once the API says they ended (it answers after recording).
        let client = a.client
        let ended = await eventually(timeout: 30) {
            try client.job(slow.id).state.isFinal && client.job(done.id).state.isFinal
        }
        #expect(ended)
        let list = try await a.call { try $0.audit() }
        #expect(list.verified, "\(list.problems)")
        let e = list.entries
        let me = try #require(e.first { $0.event == "request" }?.user)
        let start = try #require(e.first { $0.event == "request" && $0.jobId == done.id })
        #expect(start.route == "POST /v1/jobs" && start.status == 202 && start.kind == "test.count")
        #expect(start.uid == getuid() && start.role == "admin" && start.params?["params"]?["to"]?.intValue == 3)
        #expect(e.contains { $0.event == "job.started" && $0.jobId == slow.id && $0.user == me })
        #expect(e.contains { $0.event == "job.cancel-requested" && $0.jobId == slow.id && $0.user == me })
        #expect(
            e.contains {
                $0.event == "request" && $0.route == "DELETE /v1/jobs/{id}" && $0.path == "/v1/jobs/\(slow.id)"
            })
        #expect(e.contains { $0.event == "job.finished" && $0.jobId == slow.id && $0.outcome == "cancelled" })
        #expect(e.contains { $0.event == "job.finished" && $0.jobId == done.id && $0.outcome == "succeeded" })
        let secret = try #require(e.first { $0.status == 422 })
        #expect(secret.outcome == "error" && secret.params?["params"]?["password"]?.stringValue == "[redacted]")
        #expect(e.contains { $0.event == "config.reloaded" && $0.user == me && $0.outcome == "ok" })
        // Reads are not recorded; nothing secret reached the file.
        #expect(!e.contains { $0.method == "GET" })
        let text = try String(contentsOfFile: a.dir.file("state") + "/audit/audit.log", encoding: .utf8)
        #expect(!text.contains("hunter2"))
        // The job's log names who cancelled it.
        let events = try await a.call { c in
            var out: [JobEvent] = []
            try c.events(of: slow.id, follow: false) {
                out.append($0)
                return true
            }
            return out
        }
        #expect(events.contains { $0.message == "cancellation requested by \(me)" })
    }
}
