import Foundation
import Testing
import WhatIfAgentTesting
import WhatIfCore
import WhatIfProtocol
import WhatIfTesting

/// DynamoDB's exports as AWS documents them, which moto does not do (it writes no export layout and
/// no incremental exports): the fault proxy answers ExportTableToPointInTime, DescribeExport and
/// DescribeContinuousBackups, and writes the export into moto's S3 in AWS's layout (Tests/tools/ddb_tool.py
/// write-export: an incremental export is the compacted difference since the last one). The PITR window's
/// latest time is the test's clock, so windows of hours pass in a second.
final class FakeExports: @unchecked Sendable {
    let fx: BackupFixture
    let state: String
    /// DescribeContinuousBackups' LatestRestorableDateTime.
    let latest = Locked(Date().addingTimeInterval(-3 * 3600))
    let earliest = Date().addingTimeInterval(-2 * 86400)
    /// ExportDescription JSON by ARN, and every ExportTableToPointInTime request body.
    let described = Locked<[String: Data]>([:])
    let asked = Locked<[Data]>([])

    /// The last ExportTableToPointInTime request.
    var lastAsked: [String: Any] {
        asked.value.last.flatMap { (try? JSONSerialization.jsonObject(with: $0)) as? [String: Any] } ?? [:]
    }
    let counter = Locked(0)

    init(_ fx: BackupFixture, state: String) {
        self.fx = fx
        self.state = state
    }

    static func json(_ object: Any) -> TinyResponse {
        TinyResponse(
            status: 200, headers: [("Content-Type", "application/x-amz-json-1.0")],
            body: Array((try? JSONSerialization.data(withJSONObject: object)) ?? Data()))
    }

    static func error(_ code: String, _ message: String) -> TinyResponse {
        TinyResponse(
            status: 400, headers: [("Content-Type", "application/x-amz-json-1.0")],
            body: Array(
                (try? JSONSerialization.data(withJSONObject: [
                    "__type": "com.amazonaws.dynamodb.v20120810#\(code)", "message": message,
                ])) ?? Data()))
    }

    func install(on proxy: FaultProxy) {
        proxy.add(
            .init(
                operation: "DescribeContinuousBackups",
                fault: .respond { [self] _ in
                    Self.json([
                        "ContinuousBackupsDescription": [
                            "ContinuousBackupsStatus": "ENABLED",
                            "PointInTimeRecoveryDescription": [
                                "PointInTimeRecoveryStatus": "ENABLED",
                                "EarliestRestorableDateTime": earliest.timeIntervalSince1970,
                                "LatestRestorableDateTime": latest.value.timeIntervalSince1970,
                            ],
                        ]
                    ])
                }, count: 100_000))
        proxy.add(
            .init(
                operation: "DescribeExport",
                fault: .respond { [self] req in
                    let body = (try? JSONSerialization.jsonObject(with: Data(req.body))) as? [String: Any]
                    guard let arn = body?["ExportArn"] as? String, let d = described.value[arn],
                        let description = try? JSONSerialization.jsonObject(with: d)
                    else { return Self.error("ExportNotFoundException", "no such export") }
                    return Self.json(["ExportDescription": description])
                }, count: 100_000))
        proxy.add(
            .init(
                operation: "ExportTableToPointInTime", fault: .respond { [self] req in export(req) }, count: 100_000))
    }

    /// What AWS checks, then the export written in its layout.
    func export(_ req: TinyRequest) -> TinyResponse {
        guard let body = (try? JSONSerialization.jsonObject(with: Data(req.body))) as? [String: Any],
            let tableArn = body["TableArn"] as? String, let bucket = body["S3Bucket"] as? String,
            let prefix = body["S3Prefix"] as? String
        else { return Self.error("ValidationException", "TableArn, S3Bucket and S3Prefix are required") }
        asked.withLock { $0.append(Data(req.body)) }
        let type = body["ExportType"] as? String ?? "FULL_EXPORT"
        var description: [String: Any] = [:]
        if type == "INCREMENTAL_EXPORT" {
            guard let spec = body["IncrementalExportSpecification"] as? [String: Any],
                let from = spec["ExportFromTime"] as? Double, let to = spec["ExportToTime"] as? Double
            else { return Self.error("ValidationException", "IncrementalExportSpecification is required") }
            guard to - from >= 15 * 60, to - from <= 86400 else {
                return Self.error("ValidationException", "the export period must be 15 minutes to 24 hours")
            }
            guard from >= earliest.timeIntervalSince1970, to <= latest.value.timeIntervalSince1970 else {
                return Self.error("InvalidExportTimeException", "outside the point-in-time recovery window")
            }
            description["IncrementalExportSpecification"] = spec
        } else {
            let at = body["ExportTime"] as? Double ?? latest.value.timeIntervalSince1970
            guard at >= earliest.timeIntervalSince1970, at <= latest.value.timeIntervalSince1970 else {
                return Self.error("InvalidExportTimeException", "outside the point-in-time recovery window")
            }
            description["ExportTime"] = at
        }
        let table = String(tableArn.split(separator: "/").last ?? "")
        let n = counter.withLock { c -> Int in
            c += 1
            return c
        }
        let exportId = String(format: "01%012d-%08x", Int(Date().timeIntervalSince1970), n)
        let view = (body["IncrementalExportSpecification"] as? [String: Any])?["ExportViewType"] as? String
        guard
            let out = try? fx.ddb(
                ["write-export", fx.envFile, table, bucket, prefix, exportId, type, state]
                    + (view.map { [$0] } ?? [])),
            let written = (try? JSONSerialization.jsonObject(with: Data(out.utf8))) as? [String: Any]
        else { return Self.error("InternalServerError", "the fake could not write the export") }
        description.merge(
            [
                "ExportArn": "\(tableArn)/export/\(exportId)", "ExportStatus": "COMPLETED", "TableArn": tableArn,
                "ExportManifest": written["manifest"] ?? "", "S3Bucket": bucket, "S3Prefix": prefix,
                "ExportType": type, "ExportFormat": "DYNAMODB_JSON", "S3SseAlgorithm": "AES256",
                "ItemCount": written["itemCount"] ?? 0,
            ], uniquingKeysWith: { a, _ in a })
        let stored = (try? JSONSerialization.data(withJSONObject: description)) ?? Data()
        described.withLock { $0["\(tableArn)/export/\(exportId)"] = stored }
        return Self.json(["ExportDescription": description])
    }
}

@Suite(.serialized) struct IncrementalExportTests {
    let fx: BackupFixture
    init() throws { fx = BackupFixture(stack: try Stack.shared()) }

    func backup(_ a: AgentProcess, _ args: [String] = []) throws -> (BackupPartResult, CommandResult) {
        let r = try a.ctl(["backup", "dynamodb", "--json"] + args)
        #expect(r.status == 0, "\(r.output)")
        let run = try #require(try decodeJSON(JobInfo.self, r).result(as: JobSpecs.Backup.self))
        let part = try #require(run.parts.first)
        #expect(part.ok && part.verified == true, "\(part)")
        return (part, r)
    }

    func manifest(_ a: AgentProcess, _ id: String) throws -> BackupManifest {
        try decodeJSON(BackupEntry.self, try a.ctl(["backups", "show", id, "--json"])).manifest
    }

    /// Changes the table: 3 items updated, 2 deleted, 2 inserted (named after `tag`).
    func change(_ table: String, _ tag: String) throws {
        _ = try fx.ddb(["mutate", fx.envFile, table, tag])
    }

    @Test func incrementalExportsChainAndRestoreAsAChain() throws {
        let table = try fx.seedTable(30)
        let bucket = "whatif-incr-\(getpid())"
        _ = try fx.ddb(["mkbucket", fx.envFile, bucket])
        let dir = TempDir("whatif-incr")
        let fake = FakeExports(fx, state: dir.file("export-state.json"))
        let proxy = try FaultProxy(upstream: fx.stack.motoEndpoint)
        fake.install(on: proxy)
        var config = fx.config(
            db: nil, table: table,
            backups: """
                  location: \(dir.file("backups"))
                  s3:
                    bucket: \(bucket)
                  dynamodb:
                    mode: export
                    export_poll: 100ms
                    incremental: true
                    full_every: 3
                  retention:
                    keep_last: 1
                    daily: 0
                    weekly: 0
                    monthly: 0

                """)
        config.aws = config.aws?.replacingOccurrences(of: fx.stack.motoEndpoint, with: proxy.url)
        let a = try AgentProcess(config)

        // A full export as of a time (nothing to continue yet: incremental: true falls back, saying so).
        let t0 = fake.latest.value.addingTimeInterval(-3600).roundedDownToSecond
        let (full, _) = try backup(a, ["--export-time", Timestamp.format(t0)])
        let fullID = try #require(full.id)
        let m0 = try manifest(a, fullID)
        #expect(
            m0.export?.exportType == "FULL_EXPORT" && m0.export?.exportTime == t0, "\(String(describing: m0.export))")
        #expect(fake.lastAsked["ExportTime"] as? Double == t0.timeIntervalSince1970)
        let atFull = try fx.tableDigest(table)

        // Changes, then an incremental export continuing it: from its export time to the latest.
        try change(table, "one")
        fake.latest.withLock { $0 = $0.addingTimeInterval(3600) }
        let (inc1, _) = try backup(a)
        let inc1ID = try #require(inc1.id)
        let m1 = try manifest(a, inc1ID)
        #expect(m1.export?.isIncremental == true && m1.export?.previous == fullID && m1.export?.base == fullID)
        #expect(m1.export?.fromTime == t0 && m1.export?.toTime == fake.latest.value.roundedDownToSecond)
        let spec = try #require(fake.lastAsked["IncrementalExportSpecification"] as? [String: Any])
        #expect(spec["ExportFromTime"] as? Double == t0.timeIntervalSince1970)
        #expect(spec["ExportViewType"] as? String == "NEW_AND_OLD_IMAGES")
        let atInc1 = try fx.tableDigest(table)
        #expect(atInc1 != atFull)

        try change(table, "two")
        fake.latest.withLock { $0 = $0.addingTimeInterval(1800) }
        let (inc2, _) = try backup(a)
        let inc2ID = try #require(inc2.id)
        let m2 = try manifest(a, inc2ID)
        #expect(m2.export?.previous == inc1ID && m2.export?.base == fullID && m2.export?.fromTime == m1.export?.toTime)
        let atInc2 = try fx.tableDigest(table)

        // Retention keeps what the newest needs: keep_last 1 kept the whole chain.
        let kept = try a.client.backups().backups.map(\.id)
        #expect(Set(kept) == [fullID, inc1ID, inc2ID], "\(kept)")
        let dry = try decodeJSON(PruneResult.self, try a.ctl(["backups", "prune", "--dry-run", "--json"]))
        #expect(dry.decisions.first { $0.id == fullID }?.reasons.contains("chain of \(inc2ID)") == true, "\(dry)")
        #expect(try a.ctl(["backups", "verify", "--all"]).status == 0)

        // A window under 15 minutes: --incremental is refused with what AWS would say, nothing asked.
        let before = fake.asked.value.count
        fake.latest.withLock { $0 = $0.addingTimeInterval(300) }
        let short = try a.ctl(["backup", "dynamodb", "--incremental"])
        #expect(short.status == 1 && short.output.contains("covers 15 minutes to 24 hours"), "\(short.output)")
        #expect(fake.asked.value.count == before)

        // Restores read the chain: each state the table had at an export, exactly.
        let r2 = try a.ctl(["restore", "dynamodb", inc2ID, "--target-table", table + "-at2", "--json"])
        #expect(r2.status == 0, "\(r2.output)")
        #expect(try fx.tableDigest(table + "-at2") == atInc2)
        let r1 = try a.ctl(["restore", "dynamodb", inc1ID, "--target-table", table + "-at1"])
        #expect(r1.status == 0 && r1.stdout.contains("restored \(inc1ID)"), "\(r1.output)")
        #expect(try fx.tableDigest(table + "-at1") == atInc1)
        let r0 = try a.ctl(["restore", "dynamodb", fullID, "--target-table", table + "-at0"])
        #expect(r0.status == 0, "\(r0.output)")
        #expect(try fx.tableDigest(table + "-at0") == atFull)

        // full_every 3: the chain has 2 incremental exports, so the next is full, and says why.
        fake.latest.withLock { $0 = $0.addingTimeInterval(3600) }
        let (next, log) = try backup(a)
        let mn = try manifest(a, try #require(next.id))
        #expect(mn.export?.exportType == "FULL_EXPORT")
        let events = try a.ctl(["jobs", "logs", try decodeJSON(JobInfo.self, log).id])
        #expect(events.stdout.contains("the chain has 2 incremental exports"), "\(events.output)")
        // The old chain is no longer needed by the newest export: keep_last 1 prunes it.
        #expect(try a.client.backups().backups.map(\.id) == [next.id], "the old chain pruned")
    }

    @Test func exportOptionsAreRefusedWhereTheyCannotApply() throws {
        let table = try fx.seedTable(5)
        let a = try AgentProcess(fx.config(db: nil, table: table, backups: "  location: \(TempDir().path)\n"))
        let scan = try a.ctl(["backup", "dynamodb", "--incremental"])
        #expect(scan.status == 1 && scan.output.contains("this backup is a scan"), "\(scan.output)")
        let both = try a.ctl(["backup", "dynamodb", "--incremental", "--full"])
        #expect(both.status == 64, "\(both.output)")
        let wrongKind = try a.ctl(["backup", "postgres", "--incremental"])
        #expect(wrongKind.status == 64 && wrongKind.stderr.contains("apply to"), "\(wrongKind.output)")
        // The API refuses it too, naming the key.
        let raw = try a.client.request(
            method: "POST", path: "/v1/backups", body: Array(#"{"kinds":["dynamodb"],"incremental":1}"#.utf8))
        #expect(raw.status == 422 && String(decoding: raw.body, as: UTF8.self).contains("incremental"))
    }
}

extension Date {
    var roundedDownToSecond: Date { Date(timeIntervalSince1970: timeIntervalSince1970.rounded(.down)) }
}
