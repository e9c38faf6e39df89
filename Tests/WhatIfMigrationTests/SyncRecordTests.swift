import Foundation
import Testing
import WhatIfCore
import WhatIfTesting

@testable import WhatIfMigration

/// The record a finished migration leaves for `--sync`: written, read back, compared, and refused when
/// damaged — without AWS.
@Suite struct SyncRecordTests {
    let dir = TempDir("whatif-sync")

    func hash(_ s: String) -> ScenarioTransform.KeyHash {
        Array(s.utf8).withUnsafeBytes { ScenarioTransform.KeyHash($0) }
    }

    /// Writes a record of `items` (key → item text) and answers its path.
    @discardableResult
    func write(_ items: [(String, String)], name: String = "t") throws -> String {
        let path = SyncRecord.path(directory: dir.path, table: name)
        let w = try SyncRecord.Writer(
            path: path,
            header: .init(table: name, tableIdentity: "id-1", source: "/dump.bson", recorded: "2026-12-07T00:00:00Z"))
        for (k, v) in items {
            try Array(k.utf8).withUnsafeBytes { try w.add(keyHash: hash(k), content: hash(v), key: $0) }
        }
        try w.commit()
        return path
    }

    @Test func aRecordReadsBackAndClassifiesANewDump() throws {
        let path = try write([("a", "1"), ("b", "2"), ("c", "3"), ("d\\\"q", "4")])
        #expect(try SyncRecord.check(Array(Data(contentsOf: URL(fileURLWithPath: path)))) == 4)
        var base = try SyncBaseline.load(path)
        #expect(base.count == 4 && base.header.source == "/dump.bson" && base.header.tableIdentity == "id-1")
        #expect(base.checksum.count == 64)
        #expect(base.classify(hash("a"), content: hash("1")) == .unchanged)
        #expect(base.classify(hash("b"), content: hash("2 edited")) == .changed)
        #expect(base.classify(hash("new"), content: hash("x")) == .added)
        // Seen twice counts once.
        #expect(base.classify(hash("a"), content: hash("1")) == .unchanged)
        #expect(base.unseen == 2)
        var gone: [String] = []
        try base.forEachUnseen { e in gone.append(String(decoding: e.key, as: UTF8.self)) }
        #expect(gone.sorted() == ["c", "d\\\"q"])
        // Only the committed record is there: the partial file went with the rename.
        #expect(!FileManager.default.fileExists(atPath: path + ".partial"))
        let mode = try #require(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
        #expect(mode == 0o600)
    }

    @Test func aWriterNotCommittedLeavesTheOldRecordAndNoPartialFile() throws {
        let path = try write([("a", "1")])
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        do {
            let w = try SyncRecord.Writer(
                path: path, header: .init(table: "t", tableIdentity: nil, source: "/other.bson", recorded: "now"))
            try Array("b".utf8).withUnsafeBytes { try w.add(keyHash: hash("b"), content: hash("2"), key: $0) }
            #expect(FileManager.default.fileExists(atPath: path + ".partial"))
        }
        #expect(!FileManager.default.fileExists(atPath: path + ".partial"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
        // One a killed run left is removed at the next start.
        _ = FileManager.default.createFile(atPath: path + ".partial", contents: Data([1, 2, 3]))
        #expect(SyncRecord.removePartials(in: dir.path) == [path + ".partial"])
        #expect(!FileManager.default.fileExists(atPath: path + ".partial"))
    }

    @Test func aDamagedRecordIsRefusedNamingWhy() throws {
        let path = try write((0..<200).map { ("key-\($0)", "item-\($0)") })
        let good = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        func reason(_ bytes: [UInt8]) -> String? {
            do {
                _ = try SyncRecord.check(bytes, piece: 97)
                return nil
            } catch let e as SyncRecord.Damaged { return e.reason } catch { return "\(error)" }
        }
        #expect(reason(good) == nil)
        var flipped = good
        flipped[good.count / 2] ^= 0x40
        #expect(reason(flipped)?.contains("checksum") == true || reason(flipped)?.contains("key of") == true)
        #expect(reason(Array(good.prefix(good.count - 50)))?.contains("cut short") == true)
        #expect(reason(good + [0])?.contains("after the trailer") == true)
        #expect(reason(Array("not a record\n".utf8))?.contains("not a sync record") == true)
        #expect(reason([])?.contains("before its header") == true)
        // Read in pieces or whole, the same answer.
        #expect(try SyncRecord.check(good, piece: 1) == 200 && SyncRecord.check(good) == 200)
    }

    /// The layout as docs/migration.md describes it, written by another program (Python, for the fuzz
    /// corpus): read the same.
    @Test func theDocumentedLayoutWrittenElsewhereReads() throws {
        let seed = Array(
            try Data(contentsOf: URL(fileURLWithPath: TestPaths.repository + "/Fuzz/Corpus/FuzzBSON/sync-record.bin")))
        #expect(try SyncRecord.check(seed) == 3)
    }
}
