import Testing
import WhatIfAWS
import WhatIfBackup
import WhatIfCore
import WhatIfProtocol

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

@Suite struct GzipTests {
    @Test func roundTripAcrossMembersAndPieces() throws {
        let a = Array("{\"Item\":{\"id\":{\"S\":\"1\"}}}\n".utf8)
        let b = [UInt8]((0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) })
        // Two gzip members back to back decompress to their concatenation (as `zcat` does).
        let stream = try GzipWriter.compress(a) + GzipWriter.compress(b, level: 1)
        var out: [UInt8] = []
        let reader = try GzipReader { out += $0 }
        // Fed in uneven pieces, including single bytes.
        var i = 0
        var step = 1
        while i < stream.count {
            let end = min(stream.count, i + step)
            try reader.write(Array(stream[i..<end]))
            i = end
            step = step * 3 % 4097 + 1
        }
        try reader.finish()
        #expect(out == a + b)
    }

    @Test func truncationAndCorruptionAreErrors() throws {
        let data = try GzipWriter.compress(Array(repeating: 65, count: 100_000))
        #expect(throws: (any Error).self) { _ = try GzipReader.decompress(Array(data.dropLast(4))) }
        var flipped = data
        flipped[flipped.count / 2] ^= 0x10
        #expect(throws: (any Error).self) { _ = try GzipReader.decompress(flipped) }
        #expect(throws: (any Error).self) { _ = try GzipReader.decompress(Array("not gzip at all".utf8)) }
        // A bomb stops at the limit instead of filling memory.
        let bomb = try GzipWriter.compress(Array(repeating: 0, count: 10 << 20))
        #expect(throws: (any Error).self) { _ = try GzipReader.decompress(bomb, limit: 1 << 20) }
    }
}

@Suite struct RawJSONTests {
    func split(_ s: String) throws(RawJSONError) -> (RawJSON.ScanPage, String) {
        var out: [UInt8] = []
        let page = try RawJSON.splitScanPage(Array(s.utf8), into: &out)
        return (page, String(decoding: out, as: UTF8.self))
    }

    @Test func scanPagesBecomeExportLines() throws {
        let (page, lines) = try split(
            #"""
            {"Count": 2, "Items": [ {"id": {"S": "a \"q\" \u00e9"}, "n": {"N": "1.5e3"}},
              {"id": {"S": "b"}, "m": {"M": {"x": {"L": [{"BOOL": true}, {"NULL": true}]}}}} ],
             "ScannedCount": 2, "LastEvaluatedKey": {"id": {"S": "b"}}}
            """#)
        #expect(page.items == 2 && page.declaredCount == 2)
        #expect(page.lastEvaluatedKey.map { String(decoding: $0, as: UTF8.self) } == #"{"id":{"S":"b"}}"#)
        #expect(
            lines == #"""
                {"Item":{"id":{"S":"a \"q\" \u00e9"},"n":{"N":"1.5e3"}}}
                {"Item":{"id":{"S":"b"},"m":{"M":{"x":{"L":[{"BOOL":true},{"NULL":true}]}}}}}

                """#)
        // And back: the item of each line is the item as DynamoDB sent it (minified).
        let first = Array(lines.split(separator: "\n")[0].utf8)
        let item = try first.withUnsafeBytes { try RawJSON.itemOfLine($0) }
        #expect(String(decoding: item, as: UTF8.self) == #"{"id":{"S":"a \"q\" \u00e9"},"n":{"N":"1.5e3"}}"#)
    }

    @Test func lastPageHasNoKey() throws {
        let (page, lines) = try split(#"{"Items":[],"Count":0,"ScannedCount":0}"#)
        #expect(page.items == 0 && page.lastEvaluatedKey == nil && lines.isEmpty)
    }

    @Test(arguments: [
        #"{"Items":[{"id":{"S":"a"}}],"Count":2}"#,  // Count disagrees with the items
        #"{"Items":[{"id":{"S":"a"}}]"#,  // truncated
        #"{"Items":[{"id":{"S":"a}}],"Count":1}"#,  // unterminated string
        #"{"Items":{"id":1},"Count":1}"#,  // Items not an array
        #"{"Count":1}"#,  // no Items
        #"{"Items":[1],"Count":1}"#,  // an item that is not an object
        #"{"Items":[{"id":{"S":"\x"}}],"Count":1}"#,  // bad escape
        #"{"Items":[{"n":{"N":01}}],"Count":1}"#,  // leading zero
        #"{"Items":[],"Count":0} trailing"#,
        "{\"Items\":[{\"id\":{\"S\":\"\u{1}\"}}],\"Count\":1}",  // raw control character
    ])
    func malformedPagesAreRefused(_ body: String) {
        #expect(throws: RawJSONError.self) { _ = try split(body) }
    }

    /// A missing separator inside an item is named with its byte offset and what was expected there.
    @Test func aMissingSeparatorIsNamedWithItsPlace() {
        for (body, at, expected) in [
            (#"{"Items":[{"M":{"a":1 "b":2}}],"Count":1}"#, #""b""#, "expected ',' or '}'"),
            (#"{"Items":[{"L":[1 2]}],"Count":1}"#, "2]", "expected ',' or ']'"),
        ] {
            #expect(throws: RawJSONError.self) { _ = try split(body) }
            do { _ = try split(body) } catch {
                #expect(error.reason == expected, "\(body)")
                #expect(error.offset == body.range(of: at)?.lowerBound.utf16Offset(in: body), "\(body)")
            }
        }
    }

    @Test func deepNestingIsRefusedNotACrash() {
        let deep = #"{"Items":[{"a":"# + String(repeating: "[", count: 100_000) + "]}],\"Count\":1}"
        #expect(throws: RawJSONError.self) { _ = try split(deep) }
    }

    @Test func unprocessedItemsOfTheTable() throws {
        let body = Array(
            #"{"UnprocessedItems":{"t":[{"PutRequest":{"Item":{"id":{"S":"1"}}}},{"PutRequest":{"Item":{"id":{"S":"2"}}}}],"other":[{"PutRequest":{"Item":{"id":{"S":"x"}}}}]}}"#
                .utf8)
        let puts = try RawJSON.unprocessedPuts(body, table: "t").map { String(decoding: $0, as: UTF8.self) }
        // Whole put requests, ready to send again.
        #expect(puts == [#"{"PutRequest":{"Item":{"id":{"S":"1"}}}}"#, #"{"PutRequest":{"Item":{"id":{"S":"2"}}}}"#])
        #expect(try RawJSON.unprocessedPuts(Array(#"{"UnprocessedItems":{}}"#.utf8), table: "t").isEmpty)
    }
}

@Suite struct RetentionTests {
    static let day = 86400.0
    // 2026-11-24T02:00:00Z, a Tuesday.
    static let base = Date(timeIntervalSince1970: 1_795_485_600)

    func candidates(_ ages: [Double], pinned: Set<Int> = [], verified: Set<Int>? = nil) -> [Retention.Candidate] {
        ages.enumerated().map { i, age in
            Retention.Candidate(
                id: "postgres-\(i)", kind: .postgres, time: Self.base.addingTimeInterval(-age * Self.day),
                pinned: pinned.contains(i), verified: verified?.contains(i) ?? true)
        }
    }

    func kept(_ d: [PruneDecision]) -> [String] { d.filter(\.keep).map(\.id).sorted() }

    @Test func keepLastKeepsTheNewest() {
        let d = Retention.plan(candidates([0, 1, 2, 3, 4]), policy: RetentionPolicy(keepLast: 2))
        #expect(kept(d) == ["postgres-0", "postgres-1"])
        #expect(d.first { $0.id == "postgres-4" }?.keep == false)
    }

    @Test func dailyKeepsTheNewestOfEachDay() {
        // Two backups a day (02:00 and 00:48) for four days.
        let ages = [0.0, 0.05, 1, 1.05, 2, 2.05, 3, 3.05]
        let d = Retention.plan(candidates(ages), policy: RetentionPolicy(daily: 3))
        #expect(kept(d) == ["postgres-0", "postgres-2", "postgres-4"])
    }

    @Test func weeklyUsesISOWeeksAndMonthlyCalendarMonths() {
        // Tue 24th is in ISO week 48; Sat 21st and Tue 17th in week 47; Tue 10th in week 46.
        let d = Retention.plan(candidates([0, 3, 7, 14, 40]), policy: RetentionPolicy(weekly: 2))
        #expect(kept(d) == ["postgres-0", "postgres-1"])
        let m = Retention.plan(candidates([0, 10, 30, 40, 70]), policy: RetentionPolicy(monthly: 2))
        // Nov 24 and Nov 14 share November; Oct 25 is October's newest.
        #expect(kept(m) == ["postgres-0", "postgres-2"])
    }

    @Test func rulesAddUp() {
        let d = Retention.plan(
            candidates([0, 1, 2, 9, 40]), policy: RetentionPolicy(keepLast: 1, daily: 2, monthly: 2))
        #expect(kept(d) == ["postgres-0", "postgres-1", "postgres-4"])
        #expect(d.first { $0.id == "postgres-0" }?.reasons == ["keep_last", "daily", "monthly", "newest verified"])
    }

    @Test func pinnedAndNewestVerifiedAlwaysStay() {
        // Only the oldest verified; a pin in the middle; keep_last 1.
        let d = Retention.plan(
            candidates([0, 1, 2, 3], pinned: [2], verified: [3]), policy: RetentionPolicy(keepLast: 1))
        #expect(kept(d) == ["postgres-0", "postgres-2", "postgres-3"])
        #expect(d.first { $0.id == "postgres-3" }?.reasons == ["newest verified"])
        #expect(d.first { $0.id == "postgres-2" }?.reasons == ["pinned"])
    }

    @Test func inUseStaysAndAnEmptyPolicyKeepsAll() {
        var c = candidates([0, 1, 2])
        c[2].inUse = true
        #expect(kept(Retention.plan(c, policy: RetentionPolicy(keepLast: 1))) == ["postgres-0", "postgres-2"])
        #expect(kept(Retention.plan(c, policy: RetentionPolicy())).count == 3)
    }

    @Test func civilDatesAndISOWeeks() {
        #expect(UTCDate(Self.base).year == 2026 && UTCDate(Self.base).month == 11 && UTCDate(Self.base).day == 24)
        #expect(UTCDate(Self.base).isoWeekday == 1)  // Monday = 0
        // 2021-01-03 (Sunday) belongs to ISO week 53 of 2020; 2024-12-30 (Monday) to week 1 of 2025.
        let w2020 = UTCDate(days: UTCDate.days(year: 2021, month: 1, day: 3)).isoWeek
        #expect(w2020.year == 2020 && w2020.week == 53)
        let w2025 = UTCDate(days: UTCDate.days(year: 2024, month: 12, day: 30)).isoWeek
        #expect(w2025.year == 2025 && w2025.week == 1)
        let leap = UTCDate(days: UTCDate.days(year: 2024, month: 2, day: 29) + 1)
        #expect(leap.month == 3 && leap.day == 1)
        #expect(UTCDate.days(year: 1970, month: 1, day: 1) == 0)
    }
}

@Suite struct ExportLayoutTests {
    @Test func manifestsRoundTripInAWSShape() throws {
        let e = ExportLayout.FileEntry(
            itemCount: 12, md5Checksum: "1B2M2Y8AsgTpgAmY7PhCfg==", etag: nil,
            dataFileS3Key: "p/AWSDynamoDB/01795485600000-0a1b2c3d/data/abcdefghijklmnopqrstuvwxyz.json.gz")
        #expect(
            e.jsonLine
                == #"{"itemCount":12,"md5Checksum":"1B2M2Y8AsgTpgAmY7PhCfg==","etag":null,"dataFileS3Key":"p/AWSDynamoDB/01795485600000-0a1b2c3d/data/abcdefghijklmnopqrstuvwxyz.json.gz"}"#
        )
        let parsed = try ExportLayout.parseFiles(Array((e.jsonLine + "\n" + e.jsonLine + "\n").utf8))
        #expect(parsed == [e, e])
        #expect(
            ExportLayout.relativeDataPath(e.dataFileS3Key, exportId: "01795485600000-0a1b2c3d")
                == "data/abcdefghijklmnopqrstuvwxyz.json.gz")
        #expect(ExportLayout.relativeDataPath("elsewhere/data/x.json.gz", exportId: "01795485600000-0a1b2c3d") == nil)
        #expect(throws: (any Error).self) { _ = try ExportLayout.parseFiles(Array("{\"itemCount\":\"x\"}\n".utf8)) }
    }

    @Test func idsLookLikeAWSs() {
        let id = ExportLayout.newExportId(at: Date(timeIntervalSince1970: 1_795_485_600))
        #expect(id.hasPrefix("01795485600000-") && id.count == 23)
        let name = ExportLayout.newDataFileName()
        #expect(name.count == 26 + ".json.gz".count && name.hasSuffix(".json.gz"))
        #expect(name.dropLast(8).allSatisfy { "abcdefghijklmnopqrstuvwxyz234567".contains($0) })
        #expect(ExportLayout.base64MD5([UInt8](repeating: 0, count: 16)) == "AAAAAAAAAAAAAAAAAAAAAA==")
    }

    @Test func backupIDs() {
        let id = BackupID.make(kind: .dynamodb, at: Date(timeIntervalSince1970: 1_795_485_600))
        #expect(id.hasPrefix("dynamodb-20261124T020000Z-"))
        #expect(BackupID.kind(of: id) == .dynamodb)
        // The id carries its start to the second (what S3 orphans are aged by).
        #expect(BackupID.date(of: id) == Date(timeIntervalSince1970: 1_795_485_600))
        #expect(BackupID.date(of: "postgres-20261124T020007Z-abcd") == Date(timeIntervalSince1970: 1_795_485_607))
        #expect(BackupID.date(of: "postgres-2026112") == nil)
        for bad in [
            "", "postgres", "postgres-x", "../postgres-20261124T020000Z-abcd", "mongo-20261124T020000Z-abcd",
            "rds-20261124T020000Z-abcd", "snapshot-20261124T020000Z-abcd", "rds-snapshot-x-20261124T020000Z-abcd",
        ] {
            #expect(BackupID.kind(of: bad) == nil, "\(bad)")
        }
        // Kinds with a hyphen of their own.
        for kind in [BackupKind.rdsSnapshot, .dynamodbBackup, .elasticacheSnapshot] {
            let id = BackupID.make(kind: kind, at: Date(timeIntervalSince1970: 1_795_485_600))
            #expect(id.hasPrefix("\(kind.rawValue)-20261124T020000Z-"))
            #expect(BackupID.kind(of: id) == kind && BackupKind.named(byID: id) == kind)
            #expect(BackupID.date(of: id) == Date(timeIntervalSince1970: 1_795_485_600))
        }
        #expect(BackupKind.named(byID: "dynamodb-20261124T020000Z-abcd") == .dynamodb)
    }
}

/// A manifest's own checksum: written with it, found by any edit, absent in old manifests.
@Suite struct ManifestSealTests {
    static let manifest = BackupManifest(
        id: "postgres-20261124T020000Z-3fa1", kind: .postgres, environment: "test", agentVersion: "0.1.0",
        host: "h", startedAt: Date(timeIntervalSince1970: 1_795_000_000.876),
        endedAt: Date(timeIntervalSince1970: 1_795_000_060.123), format: "custom", method: "pg_dump",
        source: .init(host: "db", port: 5432, database: "d", user: "u"), tool: nil, serverVersion: "15.20",
        files: [BackupFile(path: "postgres.dump", bytes: 10, sha256: String(repeating: "a", count: 64))],
        tables: ["public.users": 5000])

    @Test func sealedManifestsCheckOutAndEditsAreFound() throws {
        let bytes = try ManifestSeal.encode(Self.manifest)
        let m = try APICoding.decode(BackupManifest.self, from: bytes)
        #expect(m.manifestSHA256?.count == 64 && m.manifestSHA256 != String(repeating: "0", count: 64))
        #expect(ManifestSeal.problem(bytes, m) == nil)
        // One digit of a row count changed.
        let text = String(decoding: bytes, as: UTF8.self)
        let edited = Array(
            text.split(separator: "5000", omittingEmptySubsequences: false).joined(separator: "5001").utf8)
        #expect(edited != bytes)
        let e = try APICoding.decode(BackupManifest.self, from: edited)
        #expect(ManifestSeal.problem(edited, e)?.contains("does not match its own checksum") == true)
        // A manifest from before checksums has none, and is accepted.
        var old = Self.manifest
        old.manifestSHA256 = nil
        let legacy = try APICoding.encode(old, pretty: true)
        #expect(ManifestSeal.problem(legacy, try APICoding.decode(BackupManifest.self, from: legacy)) == nil)
    }
}
