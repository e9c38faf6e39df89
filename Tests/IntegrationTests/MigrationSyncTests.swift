import Foundation
import Testing
import WhatIfAgentTesting
import WhatIfClient
import WhatIfCore
import WhatIfProtocol
import WhatIfTesting

/// `migrate scenarios --sync`: newer dumps applied as deltas against what the last finished run wrote,
/// end to end on moto (the guide's "maintain data synchronization until migration is verified").
@Suite(.serialized) struct MigrationSyncTests {
    let fx: MigrationFixture
    init() throws { fx = try MigrationFixture() }

    struct Counts: Decodable {
        var deleted: Int64
        var changed: Int64
        var unchanged: Int64
        var added: Int64
        var rejected: Int64
    }

    /// A newer dump of `from` (bson_transform.py --evolve): what it deleted, edited and added.
    func evolve(_ from: String, seed: Int, add: Int = 0, changeEvery: Int = 7, rejectFirst: Bool = false) throws
        -> (String, Counts)
    {
        let path = fx.dir.file("evolved-\(seed).bson")
        let r = try Run.command(
            [
                "python3", "\(TestPaths.repository)/Tests/tools/bson_transform.py", "--evolve", from, path, "--seed",
                String(seed), "--add", String(add), "--change-every", String(changeEvery),
            ] + (rejectFirst ? ["--reject-first"] : []), timeout: 300)
        guard r.status == 0 else { throw TestFailure("evolve: \(r.output)") }
        return (path, try JSONDecoder().decode(Counts.self, from: Data(r.stdout.utf8)))
    }

    func report(_ a: AgentProcess) throws -> ScenarioMigrationReport {
        try fx.lastResult(a, "migrate.scenarios", as: ScenarioMigrationReport.self)
    }

    @Test func aNewerDumpIsAppliedAsADeltaIdempotentlyAndVerifiesExact() throws {
        let first = try fx.generate(1000, seed: 21)
        let table = MigrationFixture.uniqueTable()
        let a = try AgentProcess(fx.config(table: table))
        #expect(try a.ctl(["tables", "setup"]).status == 0)

        // Before any full run there is nothing to compare with: refused, naming the way.
        let none = try a.ctl(["migrate", "scenarios", "--from", first, "--sync"])
        #expect(none.status == 1, "\(none.output)")
        #expect(none.output.contains("no record of what a migration wrote to \(table)"), "\(none.output)")
        #expect(none.output.contains("without --sync"), "\(none.output)")

        let full = try a.ctl(["migrate", "scenarios", "--from", first])
        #expect(full.status == 0, "\(full.output)")
        let recorded = try #require(try report(a).recorded)
        #expect(full.stdout.contains("recorded what was written, for the next --sync: \(recorded)"), "\(full.output)")

        let (second, counts) = try evolve(first, seed: 22, add: 50)
        #expect(counts.deleted == 100 && counts.added == 50 && counts.changed > 100, "\(counts)")

        // The dry run shows the delta and writes nothing.
        let dry = try a.ctl(["migrate", "scenarios", "--from", second, "--sync", "--dry-run"])
        #expect(dry.status == 0, "\(dry.output)")
        let d = try #require(try report(a).sync)
        #expect(d.added == 50 && d.changed == counts.changed && d.unchanged == counts.unchanged && d.deleted == 100)
        #expect(dry.stdout.contains("100 to delete (nothing written)"), "\(dry.output)")
        #expect(try fx.ddb(["count", fx.envFile, table]) == "1000")
        #expect(try a.ctl(["migrate", "verify", "--from", first]).status == 0)

        // The sync writes the new and changed items, deletes the gone ones, and verify is exact after it.
        let sync = try a.ctl(["migrate", "scenarios", "--from", second, "--sync"])
        #expect(sync.status == 0, "\(sync.output)")
        let r = try report(a)
        let s = try #require(r.sync)
        #expect(r.written == 50 + counts.changed, "\(r)")
        #expect(s.added == 50 && s.changed == counts.changed && s.deleted == 100 && s.deletesHeld == 0, "\(s)")
        #expect(s.baselineSource == first)
        #expect(try fx.ddb(["count", fx.envFile, table]) == "950")
        let verify = try a.ctl(["migrate", "verify", "--from", second])
        #expect(verify.status == 0, "\(verify.output)")
        #expect(verify.stdout.contains("950 match, 0 missing, 0 extra, 0 differ"), "\(verify.output)")

        // The same dump again: nothing to do.
        #expect(try a.ctl(["migrate", "scenarios", "--from", second, "--sync"]).status == 0)
        let again = try report(a)
        #expect(again.written == 0 && again.sync?.unchanged == 950, "\(again)")
        #expect(again.sync?.added == 0 && again.sync?.changed == 0 && again.sync?.deleted == 0, "\(again)")

        // A dump with a document that cannot be an item: the deletes are held (its key is unknown),
        // the rest is applied, and the held keys stay in the record for the next sync.
        let (third, c3) = try evolve(second, seed: 23, rejectFirst: true)
        let held = try a.ctl(["migrate", "scenarios", "--from", third, "--sync"])
        #expect(held.status == 0, "\(held.output)")
        let h = try #require(try report(a).sync)
        #expect(h.deleted == 0 && h.deletesHeld == c3.deleted + 1, "\(h) \(c3)")
        #expect(held.output.contains("were kept"), "\(held.output)")
        #expect(try fx.ddb(["count", fx.envFile, table]) == "950")
        // Back to the second dump: the held keys are still known (unchanged, not added).
        #expect(try a.ctl(["migrate", "scenarios", "--from", second, "--sync"]).status == 0)
        let back = try #require(try report(a).sync)
        #expect(back.added == 0 && back.deleted == 0 && back.changed == c3.changed, "\(back)")
        #expect(try a.ctl(["migrate", "verify", "--from", second]).status == 0)
    }

    /// A sync stopped by an error the writer does not retry resumes where it stopped, against the same
    /// record, and ends exact; a damaged record is moved aside and refused.
    @Test func aStoppedSyncResumesAndADamagedRecordIsRefused() throws {
        let first = try fx.generate(1000, seed: 31)
        let table = MigrationFixture.uniqueTable()
        let proxy = try FaultProxy(upstream: fx.stack.motoEndpoint)
        let a = try AgentProcess(fx.config(table: table, aws: proxy.url))
        #expect(try a.ctl(["tables", "setup"]).status == 0)
        #expect(try a.ctl(["migrate", "scenarios", "--from", first]).status == 0)
        let (second, counts) = try evolve(first, seed: 32, changeEvery: 1)
        #expect(counts.changed == 900 && counts.deleted == 100)

        // Three requests go through, then DynamoDB refuses every write.
        proxy.add(.init(operation: "BatchWriteItem", fault: .delay(seconds: 0), count: 3))
        proxy.add(
            .init(
                operation: "BatchWriteItem",
                fault: .respond { _ in
                    TinyResponse(
                        status: 400, headers: [("Content-Type", "application/x-amz-json-1.0")],
                        body: Array(
                            #"{"__type":"com.amazon.coral.validate#ValidationException","message":"injected by the test"}"#
                                .utf8))
                }, count: 100_000))
        let stopped = try a.ctl([
            "migrate", "scenarios", "--from", second, "--sync", "--batch-size", "50", "--workers", "1",
        ])
        #expect(stopped.status == 1, "\(stopped.output)")
        #expect(stopped.output.contains("injected by the test"), "\(stopped.output)")
        proxy.clear()

        let rerun = try a.ctl(["migrate", "scenarios", "--from", second, "--sync", "--batch-size", "50"])
        #expect(rerun.status == 0, "\(rerun.output)")
        let r = try report(a)
        let resumedAt = try #require(r.resumedAt, "\(r)")
        #expect(resumedAt > 0 && r.written < 900 && r.sync?.deleted == 100, "\(r)")
        #expect(r.sync?.changed == 900, "classified over the whole dump: \(r)")
        let verify = try a.ctl(["migrate", "verify", "--from", second])
        #expect(verify.status == 0 && verify.stdout.contains("900 match, 0 missing, 0 extra"), "\(verify.output)")

        // A record damaged on disk: moved aside, refused, the table untouched.
        let record = a.dir.file("state") + "/migrations/\(table).sync"
        var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: record)))
        bytes[bytes.count / 2] ^= 0x01
        try Data(bytes).write(to: URL(fileURLWithPath: record))
        let damaged = try a.ctl(["migrate", "scenarios", "--from", second, "--sync"])
        #expect(damaged.status == 1, "\(damaged.output)")
        #expect(damaged.output.contains("is damaged") && damaged.output.contains("moved to"), "\(damaged.output)")
        #expect(!FileManager.default.fileExists(atPath: record))
        #expect(try fx.ddb(["count", fx.envFile, table]) == "900")
    }
}
