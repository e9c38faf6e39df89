import WhatIfAWS
import WhatIfCore
import WhatIfCrypto
import WhatIfProtocol

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// `whatifctl migrate verify`: each source document's item compared with the table's, by key. The table
/// is scanned once (parallel segments) into a digest per key; the source is then read and transformed
/// as a migration would, and each item's digest looked up. Numbers compare as numbers (DynamoDB
/// normalises them), maps regardless of attribute order.
package final class ScenarioVerifier {
    let source: MigrationSource
    let table: String
    let client: DynamoDB
    let transform: ScenarioTransform
    let reporter: any JobReporter
    let skipBad: Bool
    let segments: Int

    package init(
        source: MigrationSource, table: String, client: DynamoDB, transform: ScenarioTransform = ScenarioTransform(),
        skipBad: Bool = false, segments: Int = 4, reporter: any JobReporter
    ) {
        self.source = source
        self.table = table
        self.client = client
        self.transform = transform
        self.skipBad = skipBad
        self.segments = segments
        self.reporter = reporter
    }

    /// A digest of an item that ignores attribute order and number spelling.
    package static func digest(_ item: DynamoItem) -> [UInt8] {
        var out: [UInt8] = []
        canonical(.m(item), into: &out)
        return Array(Digest.sha256(out).prefix(16))
    }

    static func canonical(_ v: AttributeValue, into out: inout [UInt8]) {
        func str(_ s: String) {
            out += Array(String(s.utf8.count).utf8)
            out.append(58)
            out += s.utf8
        }
        switch v {
        case .s(let s):
            out.append(UInt8(ascii: "S"))
            str(s)
        case .n(let n):
            out.append(UInt8(ascii: "N"))
            str((try? DynamoNumber.parse(n).text) ?? n)
        case .b(let b):
            out.append(UInt8(ascii: "B"))
            str(Hex.encode(b))
        case .bool(let b): out += Array((b ? "T" : "F").utf8)
        case .null: out.append(UInt8(ascii: "0"))
        case .m(let m):
            out.append(UInt8(ascii: "M"))
            out += Array(String(m.count).utf8)
            for k in m.keys.sorted() {
                str(k)
                canonical(m[k]!, into: &out)
            }
        case .l(let l):
            out.append(UInt8(ascii: "L"))
            out += Array(String(l.count).utf8)
            for x in l { canonical(x, into: &out) }
        case .ss(let a):
            out += Array("SS".utf8)
            for s in a.sorted() { str(s) }
        case .ns(let a):
            out += Array("NS".utf8)
            for s in a.map({ (try? DynamoNumber.parse($0).text) ?? $0 }).sorted() { str(s) }
        case .bs(let a):
            out += Array("BS".utf8)
            for s in a.map({ Hex.encode($0) }).sorted() { str(s) }
        }
    }

    /// What differs between the item the source makes and the table's (for the report's examples).
    package static func describe(expected: DynamoItem, actual: DynamoItem) -> String {
        var parts: [String] = []
        for k in Set(expected.keys).union(actual.keys).sorted() {
            let e = expected[k]
            let a = actual[k]
            if let e, let a, digest(["v": e]) == digest(["v": a]) { continue }
            func show(_ v: AttributeValue?) -> String {
                guard let v else { return "absent" }
                let t = (try? String(decoding: JSONEncoder().encode(v), as: UTF8.self)) ?? "?"
                return t.count > 80 ? String(t.prefix(77)) + "..." : t
            }
            parts.append("\(k): table \(show(a)), source \(show(e))")
            if parts.count == 5 { break }
        }
        return parts.joined(separator: "; ")
    }

    package func run() throws -> VerifyReport {
        let watch = Stopwatch()
        // 1. The table, as digests by key.
        let found = Locked<[String: [UInt8]]>([:])
        let failure = Locked<(any Error)?>(nil)
        let scanned = Locked<Int64>(0)
        let throttle = ProgressThrottle(reporter)
        let client = self.client
        let table = self.table
        let reporter = self.reporter
        let handles = (0..<max(1, segments)).map { seg in
            let total = max(1, segments)
            return Threads.start {
                var start: DynamoItem?
                do {
                    repeat {
                        if reporter.isCancelled || failure.value != nil { return }
                        let page = try client.scan(
                            table: table, segment: total > 1 ? seg : nil, totalSegments: total > 1 ? total : nil,
                            startKey: start, limit: 1000, consistentRead: true)
                        var local: [(String, [UInt8])] = []
                        for item in page.items {
                            guard case .s(let key)? = item["scenarioId"] else { continue }
                            local.append((key, Self.digest(item)))
                        }
                        found.withLock { m in for (k, d) in local { m[k] = d } }
                        let n = scanned.withLock { v -> Int64 in
                            v += Int64(page.items.count)
                            return v
                        }
                        throttle.report(done: Double(n), total: nil, unit: "items", phase: "scanning \(table)")
                        start = page.lastEvaluatedKey
                    } while start != nil
                } catch {
                    failure.withLock { if $0 == nil { $0 = error } }
                }
            }
        }
        for h in handles { h.join() }
        if let e = failure.value { throw e }
        try reporter.checkCancelled()
        var digests = found.value
        let tableItems = Int64(digests.count)

        // 2. The source, transformed, compared by key.
        var documents: Int64 = 0
        var rejected: Int64 = 0
        var matching: Int64 = 0
        var missing: Int64 = 0
        var differing: Int64 = 0
        var examples: [VerifyDifference] = []
        var exampleCount: [VerifyDifference.Kind: Int] = [:]
        var differingKeys: [(String, DynamoItem)] = []
        var seen = Set<String>()
        func example(_ key: String, _ kind: VerifyDifference.Kind, _ detail: String?) {
            guard exampleCount[kind, default: 0] < 100 else { return }
            exampleCount[kind, default: 0] += 1
            examples.append(VerifyDifference(scenarioId: key, kind: kind, detail: detail))
        }
        // Transformed and digested on every core (the pipeline keeps the source's order, so the first
        // document of a repeated key is still the one compared).
        let pipeline = TransformPipeline(transform: transform) { json in
            Self.digest(try JSONDecoder().decode(DynamoItem.self, from: Data(json)))
        }
        func compare(_ doc: SourceDocument, _ outcome: TransformPipeline.Outcome, _ out: [UInt8]) throws {
            if doc.index & 255 == 0 { try reporter.checkCancelled() }
            documents += 1
            let item: ScenarioTransform.Item
            let request: Range<Int>
            let digest: [UInt8]
            switch outcome {
            case .item(let it, let r, _, let d?): (item, request, digest) = (it, r, d)
            case .item: throw Failure("the verify pipeline made an item without its digest")
            case .reject:
                rejected += 1
                return
            case .malformed(let e):
                guard skipBad else {
                    throw SourceError(
                        message: "\(source.path): \(e.description)",
                        hint: "repair the dump, or pass --skip-bad (as the migration was)")
                }
                rejected += 1
                return
            case .failed(let e): throw e
            }
            // A repeated key was rejected by the migration: the first document is the one compared.
            let key = item.scenarioId(in: out)
            guard seen.insert(key).inserted else {
                rejected += 1
                return
            }
            guard let have = digests.removeValue(forKey: key) else {
                missing += 1
                example(key, .missing, nil)
                return
            }
            if have == digest {
                matching += 1
            } else {
                differing += 1
                if differingKeys.count < 100 {
                    // The item alone, without the PutRequest around it.
                    let json = out[(request.lowerBound + TransformPipeline.prefix.count)..<(request.upperBound - 2)]
                    differingKeys.append((key, try JSONDecoder().decode(DynamoItem.self, from: Data(json))))
                }
            }
            throttle.report(done: Double(documents), total: nil, unit: "documents", phase: "comparing")
        }
        try pipeline.run(source, skipBad: skipBad, skipped: { _ in }, consume: compare)
        for (key, expected) in differingKeys {
            let actual = try client.getItem(table: table, key: ["scenarioId": .s(key)], consistentRead: true)
            example(key, .differs, actual.map { Self.describe(expected: expected, actual: $0) } ?? "gone meanwhile")
        }
        for key in digests.keys.sorted().prefix(100) { example(key, .extra, nil) }
        throttle.flush()
        return VerifyReport(
            source: source.path, table: table, documents: documents, rejected: rejected, matching: matching,
            missing: missing, extra: Int64(digests.count), differing: differing, examples: examples,
            tableItems: tableItems, seconds: watch.elapsedSeconds)
    }
}
