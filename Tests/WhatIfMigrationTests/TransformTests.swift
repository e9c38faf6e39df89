import Foundation
import Testing
import WhatIfAWS
import WhatIfCore
import WhatIfTesting

@testable import WhatIfMigration

/// The reference files (../shared/fixtures/mongo, written by pymongo's own bson encoder), copied here.
let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/mongo")
    .path
let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().path

/// Reads a source and transforms every document: items (decoded) in order, and rejects by index.
func transformAll(
    _ path: String, jsonArray: Bool = false, skipBad: Bool = false, transform: ScenarioTransform = ScenarioTransform()
) throws -> (items: [DynamoItem], rejects: [Int: Reject], skipped: [MigrationSource.Skipped]) {
    let source = try MigrationSource(path: path, jsonArray: jsonArray)
    var items: [DynamoItem] = []
    var rejects: [Int: Reject] = [:]
    var skipped: [MigrationSource.Skipped] = []
    var out: [UInt8] = []
    let each = { (doc: SourceDocument) throws in
        out.removeAll(keepingCapacity: true)
        do {
            _ = try transform.transform(doc.bytes, base: doc.position, into: &out)
            items.append(try JSONDecoder().decode(DynamoItem.self, from: Data(out)))
        } catch let r as Reject {
            rejects[doc.index] = r
        }
    }
    try source.read(skipBad: skipBad, skipped: { skipped.append($0) }, each)
    return (items, rejects, skipped)
}

/// Runs Tests/tools/bson_transform.py (pymongo's bson) and returns its output.
func bsonTool(_ args: [String]) throws -> [UInt8] {
    let env = ProcessInfo.processInfo.environment
    let r = try Subprocess.run(
        "/usr/bin/env", arguments: ["python3", repoRoot + "/Tests/tools/bson_transform.py"] + args, environment: env,
        limit: 1 << 30)
    guard r.termination.succeeded else { throw Failure("bson_transform.py \(r.termination): \(r.stderr)") }
    return r.stdout
}

/// The same transform by pymongo's bson, item per line.
func pythonTransform(_ bsonPath: String) throws -> [DynamoItem] {
    try bsonTool([bsonPath]).split(separator: 10).map { try JSONDecoder().decode(DynamoItem.self, from: Data($0)) }
}

@Suite struct TransformTests {
    @Test func everyInputFormOfTheReferenceSetGivesTheSameItems() throws {
        let reference = try transformAll(fixtures + "/scenarios.bson")
        #expect(reference.items.count == 20)
        #expect(reference.rejects.isEmpty)
        for other in [
            "scenarios.bson.gz", "dump", "dump/what_if", "scenarios.canonical.json", "scenarios.relaxed.json",
            "scenarios.array.json",
        ] {
            let got = try transformAll(fixtures + "/" + other)
            #expect(got.items.count == reference.items.count, "\(other)")
            #expect(got.items == reference.items, "\(other) differs from the .bson")
            #expect(got.rejects.isEmpty, "\(other)")
        }
    }

    @Test func itemsMatchPymongosTransformItemByItem() throws {
        let ours = try transformAll(fixtures + "/scenarios.bson").items
        let theirs = try pythonTransform(fixtures + "/scenarios.bson")
        #expect(ours.count == theirs.count)
        for (i, (a, b)) in zip(ours, theirs).enumerated() where a != b {
            Issue.record("document \(i) differs:\n ours \(a)\n pymongo \(b)")
        }
    }

    @Test func typesMapAsTheGuideSays() throws {
        let items = try transformAll(fixtures + "/scenarios.bson").items
        let guide = items[0]
        #expect(guide["scenarioId"] == .s("scenario_123"))
        #expect(guide["_id"] == nil)
        #expect(guide["createdAt"] == .s("2023-01-01T00:00:00.000Z"))
        #expect(guide["tags"] == .l([.s("fantasy"), .s("sci-fi")]))
        #expect(guide["isPublic"] == .bool(true))
        #expect(guide["publicShard"] == .s(ScenarioTable.publicShard(for: "scenario_123", shards: 4)))
        let moon = items[1]
        #expect(moon["settings"] == .m(["model": .s("gpt-4"), "temperature": .n("0.7"), "maxTokens": .n("4096")]))
        #expect(moon["views"] == .n("12345678901"))
        #expect(moon["rating"] == .n("4.5"))
        #expect(moon["deletedAt"] == .null)
        #expect(moon["publicShard"] == nil, "a private scenario is not in the public index")
        let dino = items[2]
        #expect(dino["createdAt"] == .s("1969-07-20T20:17:00.000Z"), "a date before 1970")
        #expect(dino["tags"] == .l([]))
        #expect(dino["settings"] == .m([:]))
        #expect(dino["content"] == .s(""))
        let unicode = items[3]
        #expect(unicode["big"] == .n("9007199254740993"), "Int64 above 2^53 keeps every digit")
        #expect(unicode["neg"] == .n("-9223372036854775808"))
        #expect(unicode["dec"] == .n("12345678901234567890.123456789"), "Decimal128 keeps every digit")
        #expect(unicode["blob"] == .b([0, 1, 0xFE, 0xFF]))
        #expect(unicode["createdAt"] == .s("2099-12-31T23:59:59.999Z"))
    }

    @Test func aMissingScenarioIdIsAStableUUIDv5OfTheId() throws {
        let first = try transformAll(fixtures + "/scenarios.bson").items
        let again = try transformAll(fixtures + "/scenarios.relaxed.json").items
        guard case .s(let key)? = first[2]["scenarioId"] else {
            Issue.record("no scenarioId")
            return
        }
        #expect(again[2]["scenarioId"] == .s(key))
        let chars = Array(key)
        #expect(chars.count == 36 && chars[14] == "5", "version 5: \(key)")
        #expect("89ab".contains(chars[19]), "RFC 9562 variant: \(key)")
        // All 20 keys are distinct.
        let keys = Set(first.compactMap { if case .s(let k)? = $0["scenarioId"] { k } else { nil } })
        #expect(keys.count == 20)
    }

    @Test func numbersAreNormalisedAndBoundedAsDynamoDBDoes() throws {
        #expect(try DynamoNumber.parse("-0.70").text == "-0.7")
        #expect(try DynamoNumber.parse("1e-05").text == "0.00001")
        #expect(try DynamoNumber.parse("1.5E+3").text == "1500")
        #expect(try DynamoNumber.parse("-0").text == "0")
        #expect(try DynamoNumber.parse("1E+125").text == "1E+125")
        #expect(throws: DynamoNumber.Problem.outOfRange) { try DynamoNumber.parse("1E+126") }
        #expect(throws: DynamoNumber.Problem.outOfRange) { try DynamoNumber.parse("5e-324") }
        #expect(throws: DynamoNumber.Problem.tooPrecise(39)) {
            try DynamoNumber.parse("123456789012345678901234567890123456789")
        }
        #expect(throws: (any Error).self) { try DynamoNumber.parse("1.2.3") }
        // Decimal128 round trip through its BID encoding, with 34 digits.
        let text = "1234567890123456789012345678901234E-20"
        let (lo, hi) = try #require(Decimal128.encode(text))
        #expect(
            try Decimal128.number(Decimal128.decode(low: lo, high: hi))?.text == "12345678901234.56789012345678901234")
        #expect(Decimal128.decode(low: 0, high: 0x7C00_0000_0000_0000) == .nan)
        #expect(String(Decimal128.maxCoefficient).count == 34)
        let (l2, h2) = try #require(Decimal128.encode("9999999999999999999999999999999999"))
        #expect(
            try Decimal128.number(Decimal128.decode(low: l2, high: h2))?.text == "9999999999999999999999999999999999")
        #expect(Decimal128.encode("99999999999999999999999999999999999") == nil, "35 digits")
    }

    /// Builds one document with pymongo-independent Swift (the BSON writer) for edge cases.
    func document(_ build: (inout BSONWriter) -> Void, id: Bool = true, user: Bool = true) -> [UInt8] {
        var w = BSONWriter()
        w.beginDocument()
        if id {
            w.key(.objectId, "_id")
            w.raw(Array(repeating: 7, count: 12))
        }
        if user {
            w.key(.string, "userId")
            w.string("u1")
        }
        build(&w)
        w.endDocument()
        return w.bytes
    }

    func reject(_ doc: [UInt8], _ t: ScenarioTransform = ScenarioTransform()) -> Reject? {
        var out: [UInt8] = []
        do {
            _ = try doc.withUnsafeBytes { try t.transform($0, into: &out) }
            return nil
        } catch let r as Reject { return r } catch {
            Issue.record("not a reject: \(error)")
            return nil
        }
    }

    @Test func documentsThatCannotBeItemsAreRejectedWithTheField() throws {
        let regex = document { w in
            w.key(.document, "settings")
            w.beginDocument()
            w.key(.array, "list")
            w.beginDocument()
            w.key(.int32, "0")
            w.int32(1)
            w.key(.regex, "1")
            w.cstring("a+")
            w.cstring("i")
            w.endDocument()
            w.endDocument()
        }
        let r = try #require(reject(regex))
        #expect(r.field == "settings.list[1]")
        #expect(r.reason.contains("regular expression"))
        #expect(reject(document({ _ in }, user: false))?.field == "userId")
        #expect(reject(document({ _ in }, id: false))?.field == "scenarioId")
        #expect(
            reject(
                document { w in
                    w.key(.boolean, "scenarioId")
                    w.raw([1])
                })?.reason.contains("boolean") == true)
        #expect(
            reject(
                document { w in
                    w.key(.double, "score")
                    w.double(.nan)
                })?.field == "score")
        #expect(
            reject(
                document { w in
                    w.key(.int32, "createdAt")
                    w.int32(5)
                })?.field == "createdAt")
        // Over 400 KB.
        let big = document { w in
            w.key(.string, "content")
            w.string(String(repeating: "x", count: 410 * 1024))
        }
        #expect(reject(big)?.reason.contains("400 KB") == true)
        // Nesting: 31 levels below the item are allowed, 33 are not.
        func nested(_ levels: Int) -> [UInt8] {
            document { w in
                for _ in 0..<levels {
                    w.key(.document, "d")
                    w.beginDocument()
                }
                for _ in 0..<levels { w.endDocument() }
            }
        }
        #expect(reject(nested(33))?.reason.contains("32 levels") == true)
        #expect(reject(nested(31)) == nil)
        // Invalid UTF-8 in a value.
        let badUTF8 = document { w in
            w.key(.string, "topic")
            w.int32(3)
            w.raw([0xC3, 0x28, 0])
        }
        #expect(reject(badUTF8)?.field == "topic")
    }

    @Test func truncatedAndCorruptDumpsStopAtTheByteUnlessSkipBad() throws {
        let whole = try Files.read(fixtures + "/scenarios.bson")
        #expect(throws: SourceError.self) { try transformAll(fixtures + "/truncated.bson") }
        do {
            _ = try transformAll(fixtures + "/truncated.bson")
        } catch let e as SourceError {
            #expect(e.message.contains("byte"), "\(e.message)")
            #expect(e.message.contains("truncated"), "\(e.message)")
        }
        let t = try transformAll(fixtures + "/truncated.bson", skipBad: true)
        #expect(t.items.count == 19)
        #expect(t.skipped.count == 1)

        // The second document's length is corrupt: the error names its offset, the first's length.
        let firstLength = Int(whole[0]) | Int(whole[1]) << 8 | Int(whole[2]) << 16
        do {
            _ = try transformAll(fixtures + "/corrupt-length.bson")
            Issue.record("no error")
        } catch let e as SourceError {
            #expect(e.message.contains("byte \(firstLength)"), "\(e.message)")
        }
        let c = try transformAll(fixtures + "/corrupt-length.bson", skipBad: true)
        #expect(c.items.count == 19, "every document but the corrupt one")
        #expect(c.skipped.count == 1, "\(c.skipped)")
        #expect(
            c.items == (try transformAll(fixtures + "/scenarios.bson")).items.enumerated().filter { $0.0 != 1 }.map(\.1)
        )
    }

    /// Found by FuzzBSON: a `userId` or `createdAt` string element whose document ends right after its
    /// name. The transform read the string's length prefix past the end of the document and trapped;
    /// now it is malformed BSON at the value's byte, as BSON.validate says.
    @Test(arguments: ["userId", "createdAt"])
    func anIndexKeyCutOffAfterItsNameIsMalformedNotATrap(field: String) throws {
        var doc: [UInt8] = [0, 0, 0, 0, 0x02] + Array(field.utf8) + [0, 0]
        doc[0] = UInt8(doc.count)
        let valueAt = 5 + field.utf8.count + 1
        #expect(throws: BSONError.self) { try doc.withUnsafeBytes { try BSON.validate($0) } }
        var out: [UInt8] = []
        do {
            _ = try doc.withUnsafeBytes { try ScenarioTransform().transform($0, base: 100, into: &out) }
            Issue.record("no error")
        } catch let e as BSONError {
            #expect(e.offset == Int64(100 + valueAt), "\(e)")
            #expect(e.reason.contains("runs past the end"), "\(e)")
        }
    }

    @Test func aBrokenJSONLineIsNamed() throws {
        do {
            _ = try transformAll(fixtures + "/broken-line.json")
            Issue.record("no error")
        } catch let e as SourceError {
            #expect(e.message.contains("line 2"), "\(e.message)")
        }
        let s = try transformAll(fixtures + "/broken-line.json", skipBad: true)
        #expect(s.items.count == 19)
        #expect(s.skipped.map(\.position) == ["line 2"])
    }

    @Test func extendedJSONWrappersAndErrors() throws {
        func item(_ json: String) throws -> DynamoItem {
            let bson = try ExtendedJSON.toBSON(Array(json.utf8))
            var out: [UInt8] = []
            _ = try bson.withUnsafeBytes { try ScenarioTransform().transform($0, into: &out) }
            return try JSONDecoder().decode(DynamoItem.self, from: Data(out))
        }
        let i = try item(
            #"{"_id":{"$oid":"65a1f0c2e4b0a1b2c3d4e5f6"},"userId":"u","when":{"$date":"2024-02-29T23:00:00.5+01:00"},"#
                + #""b":{"$binary":{"base64":"AAE=","subType":"00"}},"u":{"$uuid":"00112233-4455-6677-8899-aabbccddeeff"},"#
                + #""big":12345678901,"small":-3,"f":1.25,"legacy":{"$binary":"AAE=","$type":"00"}}"#)
        #expect(i["when"] == .s("2024-02-29T22:00:00.500Z"))
        #expect(i["b"] == .b([0, 1]))
        #expect(i["legacy"] == .b([0, 1]))
        #expect(i["big"] == .n("12345678901"))
        #expect(i["small"] == .n("-3"))
        #expect(i["f"] == .n("1.25"))
        #expect(
            i["u"]
                == .b([0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF]))
        #expect(throws: ExtendedJSONError.self) { try ExtendedJSON.toBSON(Array(#"{"a": [1, 2"#.utf8)) }
        // Found by FuzzExtendedJSON: a sign with nothing before it.
        #expect(throws: ExtendedJSONError.self) { try ExtendedJSON.toBSON(Array("+".utf8)) }
        #expect(throws: ExtendedJSONError.self) { try ExtendedJSON.toBSON(Array(#"{"a": +1}"#.utf8)) }
        // Found by FuzzBSON: negative doubles (their bit pattern is a negative Int64).
        #expect(try item(#"{"_id":1,"userId":"u","t":-2.5,"e":-1e-7}"#)["t"] == .n("-2.5"))
        #expect(try item(#"{"_id":1,"userId":"u","e":-1e-7}"#)["e"] == .n("-0.0000001"))
        #expect(throws: ExtendedJSONError.self) { try ExtendedJSON.toBSON(Array(#"{"a": {"$oid": "zz"}}"#.utf8)) }
        #expect(throws: ExtendedJSONError.self) { try ExtendedJSON.toBSON(Array(#"{"a": "\ud800"}"#.utf8)) }
        // A million levels of nesting is an error, never a stack overflow; so is a BSON document nested past its limit.
        for open in ["[", #"{"a":"#] {
            #expect(throws: ExtendedJSONError.self) {
                try ExtendedJSON.toBSON(Array((#"{"x":"# + String(repeating: open, count: 1_000_000)).utf8))
            }
        }
        var nested: [UInt8] = [5, 0, 0, 0, 0]
        for _ in 0..<10_000 {
            // { "a": <nested> }
            let size = 4 + 1 + 2 + nested.count + 1
            nested = withUnsafeBytes(of: Int32(size).littleEndian, Array.init) + [3, 0x61, 0] + nested + [0]
        }
        #expect(throws: BSONError.self) { try nested.withUnsafeBytes { try BSON.validate($0) } }
    }

    @Test func largerGeneratedDumpMatchesPymongo() throws {
        let dir = TempDir()
        let path = dir.path + "/gen.bson"
        _ = try bsonTool(["--generate", "5000", path])
        let ours = try transformAll(path).items
        let theirs = try pythonTransform(path)
        #expect(ours.count == 5000)
        #expect(theirs.count == 5000)
        let differing = zip(ours, theirs).enumerated().filter { $0.1.0 != $0.1.1 }.map(\.offset)
        #expect(
            differing.isEmpty,
            "documents \(differing.prefix(5)) differ, e.g. \(differing.first.map { (ours[$0], theirs[$0]) }.debugDescription)"
        )
    }
}

@Suite struct ScenarioTableTests {
    @Test func theExpectedSchemaIsValidAndABooleanKeyIsNot() {
        let expected = ScenarioTable.expected(table: "what-if-generator-scenarios-test")
        #expect(ScenarioTable.validate(expected).isEmpty)
        // The guide's isPublic-createdAt-index, keyed on a Boolean: moto takes it, DynamoDB does not.
        var guide = expected
        guide.attributeDefinitions.append(AttributeDefinition(attributeName: "isPublic", attributeType: "BOOL"))
        guide.globalSecondaryIndexes?.append(
            GlobalSecondaryIndex(
                indexName: "isPublic-createdAt-index",
                keySchema: [
                    KeySchemaElement(attributeName: "isPublic", keyType: "HASH"),
                    KeySchemaElement(attributeName: "createdAt", keyType: "RANGE"),
                ], projection: Projection(projectionType: "ALL")))
        let problems = ScenarioTable.validate(guide)
        #expect(problems.count == 1, "\(problems)")
        #expect(problems.first?.contains("isPublic has type BOOL") == true)
        #expect(problems.first?.contains("sparse index") == true)
        // Other things CreateTable refuses.
        var bad = expected
        bad.tableName = "x"
        bad.attributeDefinitions.append(AttributeDefinition(attributeName: "unused", attributeType: "S"))
        bad.globalSecondaryIndexes?[0].projection = Projection(projectionType: "INCLUDE")
        bad.provisionedThroughput = ProvisionedThroughput(readCapacityUnits: 1, writeCapacityUnits: 1)
        let p = ScenarioTable.validate(bad)
        #expect(p.contains { $0.contains("table name 'x'") })
        #expect(p.contains { $0.contains("attribute unused is defined but is no key") })
        #expect(p.contains { $0.contains("INCLUDE needs NonKeyAttributes") })
        #expect(p.contains { $0.contains("on-demand tables take no ProvisionedThroughput") })
    }

    @Test func publicShardsSpreadAndStayPut() {
        var counts = [String: Int]()
        for i in 0..<4000 { counts[ScenarioTable.publicShard(for: "scenario_\(i)", shards: 4), default: 0] += 1 }
        #expect(counts.keys.sorted() == ["public#0", "public#1", "public#2", "public#3"])
        #expect(counts.values.allSatisfy { $0 > 800 }, "\(counts)")
        #expect(
            ScenarioTable.publicShard(for: "scenario_123", shards: 4)
                == ScenarioTable.publicShard(for: "scenario_123", shards: 4))
    }
}

@Suite struct KeyTableTests {
    @Test func findsEveryRepeatAcrossGrowthAndNothingElse() {
        var t = KeyTable(shardCapacity: 16)
        func hash(_ s: String) -> ScenarioTransform.KeyHash {
            var c = s
            return c.withUTF8 { ScenarioTransform.KeyHash(UnsafeRawBufferPointer($0)) }
        }
        // Every shard grows several times over (16 slots each at first).
        var repeats = 0
        for i in 0..<200_000 where t.insert(hash("scenario_\(i)")) { repeats += 1 }
        #expect(repeats == 0)
        var found = 0
        for i in stride(from: 0, to: 200_000, by: 997) where t.insert(hash("scenario_\(i)")) { found += 1 }
        #expect(found == 201)
        let fresh = t.insert(hash("scenario_200000"))
        #expect(!fresh)
        // Keys that differ only past the first eight bytes, or in length, hash apart.
        #expect(hash("abcdefgh1") != hash("abcdefgh2"))
        #expect(hash("abc") != hash("abc\0"))
    }
}

/// The transform on every core: the same outcomes, in the same order, as one thread transforming
/// document after document; a damaged file stops after everything before the damage was consumed.
@Suite struct TransformPipelineTests {
    /// Each document's outcome in order: the item's request bytes, or the reject's reason.
    func outcomes(_ path: String, threads: Int, chunk: Int) throws -> ([String], Int, (any Error)?) {
        var seen: [String] = []
        var indexes = 0
        var stop: (any Error)?
        let pipeline = TransformPipeline(
            transform: ScenarioTransform(), threads: threads, window: 3, chunkBytes: 4096, chunkDocuments: chunk)
        do {
            let consume = { (doc: SourceDocument, outcome: TransformPipeline.Outcome, out: [UInt8]) in
                #expect(doc.index == indexes)
                indexes += 1
                switch outcome {
                case .item(_, let request, _, _): seen.append(String(decoding: out[request], as: UTF8.self))
                case .reject(let r): seen.append("reject: \(r.reason)")
                case .malformed(let e): seen.append("malformed: \(e.reason)")
                case .failed(let e): seen.append("failed: \(e)")
                }
            }
            try pipeline.run(try MigrationSource(path: path), skipBad: false, skipped: { _ in }, consume: consume)
        } catch { stop = error }
        return (seen, indexes, stop)
    }

    @Test func manyThreadsGiveTheOneThreadOrderAndBytes() throws {
        let dir = TempDir()
        let path = dir.path + "/gen.bson"
        _ = try bsonTool(["--generate", "3000", path, "--bad"])
        let (one, n, e1) = try outcomes(path, threads: 1, chunk: 1)
        let (three, m, e3) = try outcomes(path, threads: 3, chunk: 7)
        #expect(e1 == nil && e3 == nil && n == 3000 && m == 3000)
        #expect(one == three)
        #expect(one.filter { $0.hasPrefix("reject: ") }.count == 4)
        // The one-thread pipeline is the plain transform, document after document.
        var direct: [String] = []
        var out: [UInt8] = []
        try MigrationSource(path: path).read(skipBad: false) { doc in
            out = Array(TransformPipeline.prefix)
            do {
                _ = try ScenarioTransform().transform(doc.bytes, base: doc.position, into: &out)
                direct.append(String(decoding: out + Array("}}".utf8), as: UTF8.self))
            } catch let r as Reject { direct.append("reject: \(r.reason)") }
        }
        #expect(direct == one)
    }

    @Test func aDamagedFileStopsAfterEveryDocumentBeforeItWasConsumed() throws {
        let (seen, n, stop) = try outcomes(fixtures + "/corrupt-length.bson", threads: 2, chunk: 1)
        let (sequential, _, _) = try outcomes(fixtures + "/corrupt-length.bson", threads: 1, chunk: 1000)
        #expect(stop is SourceError, "\(String(describing: stop))")
        #expect(n == 1 && seen.count == 1 && sequential == seen)
    }
}
