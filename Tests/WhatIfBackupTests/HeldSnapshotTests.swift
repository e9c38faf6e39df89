import Logging
import Testing
import WhatIfAWS
import WhatIfBackup
import WhatIfCore
import WhatIfProtocol
import WhatIfTesting

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

final class Reporter: JobReporter, @unchecked Sendable {
    let lines = Locked<[(Logger.Level, String)]>([])
    func progress(done: Double, total: Double?, unit: String, phase: String?) {}
    func log(_ level: Logger.Level, _ message: String) { lines.withLock { $0.append((level, message)) } }
    var isCancelled: Bool { false }
    var text: String { lines.value.map(\.1).joined(separator: "\n") }
}

/// Snapshots AWS keeps, without AWS: the wait for `available` and what happens to a snapshot that never
/// gets there (moto answers `available` at once, so the integration tests cannot show either).
@Suite struct HeldSnapshotTests {
    let dir = TempDir("whatif-held")

    func service(timeout: Double = 5) -> BackupService {
        var settings = BackupSettings(location: dir.file("backups"))
        settings.snapshots.poll = 0.01
        settings.snapshots.timeout = timeout
        return BackupService(
            context: BackupContext(
                settings: settings, environmentName: "test", postgres: nil, dynamo: nil, s3: nil, region: "eu-west-1",
                stateDirectory: dir.path, processEnvironment: [:], logger: Logger(label: "test")),
            leases: BackupLeases())
    }

    /// A service whose snapshot goes through `statuses`, one per read; records deletes.
    final class Fake: @unchecked Sendable {
        let statuses: Locked<[String]>
        let deleted = Locked<[String]>([])
        init(_ statuses: [String]) { self.statuses = Locked(statuses) }

        var held: HeldSnapshots {
            func next(_ name: String) -> HeldSnapshot {
                let s = statuses.withLock { $0.count > 1 ? $0.removeFirst() : $0[0] }
                return HeldSnapshot(
                    identifier: name, arn: "arn:aws:rds:eu-west-1:1:snapshot:\(name)", source: "users-db", status: s,
                    bytes: 20 << 30)
            }
            return HeldSnapshots(
                service: "rds", resource: "users-db", createCall: "CreateDBSnapshot", create: { next($0) },
                describe: { next($0) }, delete: { name in self.deleted.withLock { $0.append(name) } })
        }
    }

    @Test func aSnapshotIsRecordedOnceAvailableAsReadBack() throws {
        let fake = Fake(["creating", "creating", "available"])
        let reporter = Reporter()
        let id = "rds-snapshot-20261206T020000Z-00aa"
        let m = try service().takeHeld(.rdsSnapshot, id: id, started: Date(), reporter: reporter, held: fake.held)
        let s = try #require(m.snapshot)
        #expect(s.identifier == id.lowercased() && s.status == "available" && s.service == "rds")
        #expect(s.source == "users-db" && s.region == "eu-west-1" && s.bytes == 20 << 30)
        #expect(m.files.isEmpty && m.totalBytes == 20 << 30 && m.method == "CreateDBSnapshot")
        #expect(fake.statuses.value == ["available"], "read until available")
        #expect(fake.deleted.value.isEmpty)
        #expect(m.source.text == "users-db in eu-west-1")
    }

    @Test func aSnapshotThatFailsOrNeverFinishesIsDeletedAgain() throws {
        let failed = Fake(["creating", "failed"])
        let reporter = Reporter()
        #expect(throws: (any Error).self) {
            _ = try service().takeHeld(
                .rdsSnapshot, id: "rds-snapshot-20261206T020000Z-00ab", started: Date(), reporter: reporter,
                held: failed.held)
        }
        #expect(failed.deleted.value == ["rds-snapshot-20261206t020000z-00ab"])
        #expect(reporter.text.contains("did not become available"), "\(reporter.text)")

        let slow = Fake(["creating"])
        do {
            _ = try service(timeout: 0.05).takeHeld(
                .rdsSnapshot, id: "rds-snapshot-20261206T020000Z-00ac", started: Date(), reporter: Reporter(),
                held: slow.held)
            Issue.record("a snapshot still creating after the timeout must fail the backup")
        } catch let e as any OperatorError {
            #expect(e.message.contains("still creating after"), "\(e.message)")
            #expect(e.hint?.contains("backups.snapshots.timeout") == true)
        }
        #expect(slow.deleted.value == ["rds-snapshot-20261206t020000z-00ac"])
    }
}
