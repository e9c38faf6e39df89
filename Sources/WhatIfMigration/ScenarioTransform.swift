import WhatIfCore
import WhatIfCrypto

#if canImport(Glibc)
    import Glibc
#endif
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A document that is well-formed but cannot become a DynamoDB item; it goes to the reject file.
package struct Reject: Error, Sendable, Equatable, CustomStringConvertible {
    package var reason: String
    /// The field it is about, as a path (`settings.temperature`, `scenes[2].n`), when there is one.
    package var field: String?
    public init(_ reason: String, field: String? = nil) {
        self.reason = reason
        self.field = field
    }
    package var description: String { field.map { "\($0): \(reason)" } ?? reason }

    func inside(_ component: String, list: Bool) -> Reject {
        var r = self
        if let f = field {
            r.field = list || f.hasPrefix("[") ? component + f : component + "." + f
        } else {
            r.field = component
        }
        return r
    }
}

/// The migration guide's transform of a MongoDB scenario document into a DynamoDB item, done on the
/// BSON bytes in one pass and written as DynamoDB JSON:
/// - `_id` is dropped; a missing `scenarioId` becomes a UUIDv5 of the `_id` (so a rerun writes the same key);
/// - dates become ISO 8601 strings with milliseconds and `Z`;
/// - every BSON type is mapped explicitly (see `docs/migration.md`), unsupported ones are rejected by name;
/// - the table's key attributes are checked as DynamoDB checks them (scenarioId, userId, createdAt are
///   non-empty strings), and so is the 400 KB item size and the 32-level nesting limit;
/// - a public scenario (`isPublic: true`) gets `publicShard`, the sparse public index's partition key.
public struct ScenarioTransform: Sendable {
    package var publicShards: Int
    package var maxItemBytes: Int

    /// The namespace of the UUIDv5 derived from `_id` (fixed: changing it would change every derived key).
    package static let namespace: [UInt8] = [
        0x3c, 0x6e, 0x1f, 0x0d, 0x58, 0x2b, 0x4a, 0x8e, 0x9b, 0x41, 0x7a, 0x52, 0xd3, 0x0e, 0x96, 0x1c,
    ]
    package static let maxDepth = 32

    public init(publicShards: Int = ScenarioTable.defaultPublicShards, maxItemBytes: Int = 400 * 1024) {
        self.publicShards = max(1, publicShards)
        self.maxItemBytes = maxItemBytes
    }

    public struct Item: Sendable {
        /// Where the key is in the output: the JSON string's content, escaped.
        package var keyRange: Range<Int>
        /// A 128-bit hash of the key (two independent SipHashes) for duplicate checks without a String.
        package var keyHash: KeyHash
        /// DynamoDB's size accounting (names plus values), in bytes.
        package var size: Int
        /// True when scenarioId was derived from `_id`.
        package var derivedKey: Bool

        /// The key as text (JSON unescaping only what the transform escapes).
        package func scenarioId(in out: [UInt8]) -> String {
            let raw = Array(out[keyRange])
            guard raw.contains(0x5C) else { return String(decoding: raw, as: UTF8.self) }
            let quoted = [0x22] + raw + [0x22]
            return (try? JSONDecoder().decode(String.self, from: Data(quoted))) ?? String(decoding: raw, as: UTF8.self)
        }
    }

    /// A 128-bit hash of a key: two 64-bit lanes over 8-byte words, each with a multiply-xorshift mix and
    /// murmur3's finaliser. Not cryptographic (the keys are the operator's own data); a collision between
    /// two different keys is about 2^-64 likely per pair.
    package struct KeyHash: Hashable, Sendable {
        package var a: UInt64
        package var b: UInt64
        package init(a: UInt64, b: UInt64) {
            self.a = a
            self.b = b
        }
        public init(_ bytes: UnsafeRawBufferPointer) {
            var h1: UInt64 = 0x243F_6A88_85A3_08D3 ^ UInt64(bytes.count)
            var h2: UInt64 = 0x1319_8A2E_0370_7344 ^ (UInt64(bytes.count) &* 0x9E37_79B9_7F4A_7C15)
            var i = 0
            let n = bytes.count
            while i < n {
                var w: UInt64 = 0
                if n - i >= 8 {
                    w = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self))
                    i += 8
                } else {
                    var shift: UInt64 = 0
                    while i < n {
                        w |= UInt64(bytes[i]) << shift
                        shift += 8
                        i += 1
                    }
                }
                h1 = (h1 ^ w) &* 0x9E37_79B9_7F4A_7C15
                h1 ^= h1 >> 29
                h2 = (h2 ^ (w &* 0xC2B2_AE3D_27D4_EB4F)) &* 0x1656_67B1_9E37_79F9
                h2 ^= h2 >> 31
            }
            a = Self.fmix(h1)
            b = Self.fmix(h2 ^ h1)
        }
        static func fmix(_ x: UInt64) -> UInt64 {
            var k = x
            k ^= k >> 33
            k = k &* 0xFF51_AFD7_ED55_8CCD
            k ^= k >> 33
            k = k &* 0xC4CE_B9FE_1A85_EC53
            k ^= k >> 33
            return k
        }
    }

    /// The `_id` of a document as text for reports (ObjectId as hex), or nil.
    package static func idText(_ doc: UnsafeRawBufferPointer) -> String? {
        var found: String?
        try? forEachElement(doc) { type, name, value in
            guard name.elementsEqual("_id".utf8) else { return true }
            switch type {
            case .objectId: found = Hex.encode(value.prefix(12))
            case .string: found = String(decoding: value.dropFirst(4).dropLast(), as: UTF8.self)
            case .int32: found = String(BSON.int32(UnsafeRawBufferPointer(rebasing: value), 0))
            case .int64: found = String(BSON.int64(UnsafeRawBufferPointer(rebasing: value), 0))
            default: found = "(\(type.name))"
            }
            return false
        }
        return found
    }

    /// Walks the top-level elements (the value slice runs to the end of the document).
    static func forEachElement(
        _ doc: UnsafeRawBufferPointer,
        _ body: (BSONType, UnsafeRawBufferPointer.SubSequence, UnsafeRawBufferPointer.SubSequence) throws -> Bool
    ) throws {
        var i = 4
        let end = doc.count - 1
        while i < end {
            guard let type = BSONType(rawValue: doc[i]) else { return }
            guard let nul = doc[(i + 1)..<end].firstIndex(of: 0) else { return }
            let name = doc[(i + 1)..<nul]
            let next = try BSON.skipValue(type, doc, nul + 1, end, base: 0, depth: 0)
            guard try body(type, name, doc[(nul + 1)..<next]) else { return }
            i = next
        }
    }

    /// Appends the item's DynamoDB JSON (`{"scenarioId":{"S":"…"},…}`) to `out`. Throws `BSONError` for
    /// malformed bytes (`base` is the document's offset in the file) and `Reject` for a document that
    /// cannot be an item. On a throw, `out` may hold a partial item: the caller truncates it.
    public func transform(_ doc: UnsafeRawBufferPointer, base: Int64 = 0, into out: inout [UInt8]) throws -> Item {
        let w = Walker(doc: doc, base: base)
        let count = doc.count
        guard count >= 5, Int(BSON.int32(doc, 0)) == count, doc[count - 1] == 0 else {
            throw BSONError(offset: base, reason: "the document's length prefix does not match its bytes")
        }
        out.append(UInt8(ascii: "{"))
        var first = true
        var size = 0
        var idRange: Range<Int>?
        var keyRange: Range<Int>?
        var sawUser = false
        var isPublic = false
        var i = 4
        let end = count - 1
        while i < end {
            let typeStart = i
            guard let type = BSONType(rawValue: doc[i]) else {
                throw w.fail(i, "unknown element type 0x\(String(doc[i], radix: 16))")
            }
            i += 1
            guard let nul = doc[i..<end].firstIndex(of: 0) else { throw w.fail(i, "an element name has no end") }
            let name = UnsafeRawBufferPointer(rebasing: doc[i..<nul])
            let valueStart = nul + 1
            let nameText = { String(decoding: name, as: UTF8.self) }
            switch Self.special(name) {
            case .id:
                let next = try BSON.skipValue(type, doc, valueStart, end, base: base, depth: 1)
                idRange = typeStart..<next
                i = next
                continue
            case .scenarioId:
                let next = try BSON.skipValue(type, doc, valueStart, end, base: base, depth: 1)
                if !first { out.append(UInt8(ascii: ",")) }
                first = false
                JSONOut.literal(#""scenarioId":{"S":"#, into: &out)
                let start = out.count + 1
                if type == .string {
                    let bytes = UnsafeRawBufferPointer(rebasing: doc[(valueStart + 4)..<(next - 1)])
                    guard !bytes.isEmpty else {
                        throw Reject("the key attribute is an empty string", field: "scenarioId")
                    }
                    guard bytes.count <= 2048 else {
                        throw Reject("the key is \(bytes.count) bytes; DynamoDB's limit is 2048", field: "scenarioId")
                    }
                    guard JSONOut.string(bytes, into: &out) else {
                        throw Reject("not valid UTF-8", field: "scenarioId")
                    }
                    size += 10 + bytes.count
                } else if type == .binary, Int(BSON.int32(doc, valueStart)) == 16, doc[valueStart + 4] == 4 {
                    out.append(UInt8(ascii: "\""))
                    out += UUIDText.format(Array(doc[(valueStart + 5)..<(valueStart + 21)])).utf8
                    out.append(UInt8(ascii: "\""))
                    size += 10 + 36
                } else {
                    throw Reject("the key is a \(type.name); it must be a string (or a UUID)", field: "scenarioId")
                }
                keyRange = start..<(out.count - 1)
                out.append(UInt8(ascii: "}"))
                i = next
                continue
            case .userId:
                guard type == .string else {
                    throw Reject("the index key is a \(type.name); it must be a string", field: "userId")
                }
                guard try w.stringLength(valueStart, end) > 1 else {
                    throw Reject("the index key is an empty string", field: "userId")
                }
                sawUser = true
            case .createdAt:
                guard type == .dateTime || type == .string else {
                    throw Reject(
                        "the index sort key is a \(type.name); it must be a date or a string", field: "createdAt")
                }
                if type == .string, try w.stringLength(valueStart, end) <= 1 {
                    throw Reject("the index sort key is an empty string", field: "createdAt")
                }
            case .isPublic:
                if type == .boolean, valueStart < end, doc[valueStart] == 1 { isPublic = true }
            case .publicShard:
                throw Reject(
                    "the document has a field the table reserves for its public index; rename it in MongoDB first",
                    field: ScenarioTable.publicShardAttribute)
            case .other:
                break
            }
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            guard JSONOut.string(name, into: &out) else { throw Reject("the field name is not valid UTF-8") }
            guard !name.isEmpty else {
                throw Reject("a field has an empty name; DynamoDB needs at least one character")
            }
            out.append(UInt8(ascii: ":"))
            let (next, vsize): (Int, Int)
            do {
                (next, vsize) = try w.value(type, valueStart, end, depth: 1, into: &out)
            } catch let r as Reject {
                throw r.inside(nameText(), list: false)
            }
            size += name.count + vsize
            i = next
        }
        guard i == end else { throw w.fail(i, "an element runs past the end of its document") }
        guard sawUser else { throw Reject("the document has no userId (the user index's key)", field: "userId") }
        var derived = false
        if keyRange == nil {
            guard let idRange else { throw Reject("no scenarioId, and no _id to derive one from", field: "scenarioId") }
            // The name is the `_id`'s type byte and value bytes (its element without the name).
            let name = [doc[idRange.lowerBound]] + Array(doc[(idRange.lowerBound + 5)..<idRange.upperBound])
            let key = UUIDText.v5(namespace: Self.namespace, name: name)
            derived = true
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            JSONOut.literal(#""scenarioId":{"S":""#, into: &out)
            let start = out.count
            out += key.utf8
            keyRange = start..<out.count
            JSONOut.literal(#""}"#, into: &out)
            size += 10 + 36
        }
        let range = keyRange!
        let hash = out.withUnsafeBytes { KeyHash(UnsafeRawBufferPointer(rebasing: $0[range])) }
        if isPublic {
            // The shard is of the key's text: an escaped key (quotes, backslashes) is unescaped first.
            let escaped = out[range].contains(0x5C)
            let shard =
                escaped
                ? ScenarioTable.publicShard(
                    for: Item(keyRange: range, keyHash: hash, size: 0, derivedKey: false).scenarioId(in: out),
                    shards: publicShards)
                : out.withUnsafeBytes {
                    ScenarioTable.publicShard(for: UnsafeRawBufferPointer(rebasing: $0[range]), shards: publicShards)
                }
            if !first { out.append(UInt8(ascii: ",")) }
            JSONOut.literal(#""publicShard":{"S":""#, into: &out)
            out += shard.utf8
            JSONOut.literal(#""}"#, into: &out)
            size += ScenarioTable.publicShardAttribute.utf8.count + shard.utf8.count
        }
        out.append(UInt8(ascii: "}"))
        guard size <= maxItemBytes else {
            throw Reject("the item would be \(size) bytes; DynamoDB's limit is \(maxItemBytes) (400 KB)")
        }
        return Item(keyRange: range, keyHash: hash, size: size, derivedKey: derived)
    }

    enum Special { case id, scenarioId, userId, createdAt, isPublic, publicShard, other }

    @inline(__always)
    static func special(_ name: UnsafeRawBufferPointer) -> Special {
        @inline(__always) func eq(_ s: StaticString) -> Bool {
            s.withUTF8Buffer { memcmp(name.baseAddress!, $0.baseAddress!, $0.count) == 0 }
        }
        switch name.count {
        case 3 where eq("_id"): return .id
        case 10 where eq("scenarioId"): return .scenarioId
        case 6 where eq("userId"): return .userId
        case 9 where eq("createdAt"): return .createdAt
        case 8 where eq("isPublic"): return .isPublic
        case 11 where eq("publicShard"): return .publicShard
        default: return .other
        }
    }

    /// Converts values, recursively.
    struct Walker {
        let doc: UnsafeRawBufferPointer
        let base: Int64

        func fail(_ at: Int, _ reason: String) -> BSONError { BSONError(offset: base + Int64(at), reason: reason) }

        /// The length prefix of the string value at `i` (its bytes with the final 0), before the value
        /// itself is read; malformed when the prefix runs past the document.
        func stringLength(_ i: Int, _ end: Int) throws(BSONError) -> Int {
            guard end - i >= 5 else { throw fail(i, "a string value runs past the end of its document") }
            return Int(BSON.int32(doc, i))
        }

        func number(_ n: DynamoNumber, into out: inout [UInt8]) -> Int {
            JSONOut.literal(#"{"N":""#, into: &out)
            n.append(to: &out)
            JSONOut.literal(#""}"#, into: &out)
            return n.storageSize
        }

        /// Writes one value as `{"T":…}`; returns the offset after it and its DynamoDB size.
        func value(_ type: BSONType, _ i: Int, _ end: Int, depth: Int, into out: inout [UInt8]) throws -> (Int, Int) {
            let p = doc
            func need(_ n: Int) throws(BSONError) {
                guard end - i >= n else { throw fail(i, "a \(type.name) value runs past the end of its document") }
            }
            switch type {
            case .string, .symbol:
                try need(5)
                let n = Int(BSON.int32(p, i))
                guard n >= 1, n <= end - i - 4, p[i + 4 + n - 1] == 0 else {
                    throw fail(i, "a string's length (\(n)) is out of range")
                }
                JSONOut.literal(#"{"S":"#, into: &out)
                guard JSONOut.string(UnsafeRawBufferPointer(rebasing: p[(i + 4)..<(i + 3 + n)]), into: &out) else {
                    throw Reject("the string is not valid UTF-8")
                }
                out.append(UInt8(ascii: "}"))
                return (i + 4 + n, n - 1)
            case .int32:
                try need(4)
                JSONOut.literal(#"{"N":""#, into: &out)
                let start = out.count
                JSONOut.int(Int64(BSON.int32(p, i)), into: &out)
                let digits = out.count - start
                JSONOut.literal(#""}"#, into: &out)
                return (i + 4, (digits + 1) / 2 + 1)
            case .int64:
                try need(8)
                JSONOut.literal(#"{"N":""#, into: &out)
                let start = out.count
                JSONOut.int(BSON.int64(p, i), into: &out)
                let digits = out.count - start
                JSONOut.literal(#""}"#, into: &out)
                return (i + 8, (digits + 1) / 2 + 1)
            case .double:
                try need(8)
                let v = Double(bitPattern: UInt64(bitPattern: BSON.int64(p, i)))
                guard v.isFinite else { throw Reject("\(v) has no DynamoDB number (NaN and infinities do not)") }
                if let size = JSONOut.plainDouble(v, into: &out) { return (i + 8, size) }
                let n: DynamoNumber
                do { n = try DynamoNumber.parse(v.description) } catch { throw Reject("the double \(v) is \(error)") }
                return (i + 8, number(n, into: &out))
            case .decimal128:
                try need(16)
                let d = Decimal128.decode(UnsafeRawBufferPointer(rebasing: p[i..<(i + 16)]))
                let n: DynamoNumber?
                do { n = try Decimal128.number(d) } catch { throw Reject("the Decimal128 is \(error)") }
                guard let n else { throw Reject("a Decimal128 NaN or infinity has no DynamoDB number") }
                return (i + 16, number(n, into: &out))
            case .boolean:
                try need(1)
                guard p[i] <= 1 else { throw fail(i, "a boolean is neither 0 nor 1") }
                JSONOut.literal(p[i] == 1 ? #"{"BOOL":true}"# : #"{"BOOL":false}"#, into: &out)
                return (i + 1, 1)
            case .null:
                JSONOut.literal(#"{"NULL":true}"#, into: &out)
                return (i, 1)
            case .dateTime:
                try need(8)
                let ms = BSON.int64(p, i)
                JSONOut.literal(#"{"S":""#, into: &out)
                guard JSONOut.isoDate(millis: ms, into: &out) else {
                    throw Reject("the date (\(ms) ms from 1970) is outside ISO 8601's years 0000-9999")
                }
                JSONOut.literal(#""}"#, into: &out)
                return (i + 8, 24)
            case .objectId:
                try need(12)
                JSONOut.literal(#"{"S":""#, into: &out)
                for k in 0..<12 {
                    out.append(JSONOut.hex[Int(p[i + k] >> 4)])
                    out.append(JSONOut.hex[Int(p[i + k] & 15)])
                }
                JSONOut.literal(#""}"#, into: &out)
                return (i + 12, 24)
            case .binary:
                try need(5)
                let n = Int(BSON.int32(p, i))
                guard n >= 0, n <= end - i - 5 else { throw fail(i, "a binary value's length (\(n)) is out of range") }
                JSONOut.literal(#"{"B":""#, into: &out)
                JSONOut.base64(UnsafeRawBufferPointer(rebasing: p[(i + 5)..<(i + 5 + n)]), into: &out)
                JSONOut.literal(#""}"#, into: &out)
                return (i + 5 + n, n)
            case .document, .array:
                try need(5)
                let n = Int(BSON.int32(p, i))
                guard n >= 5, n <= end - i, p[i + n - 1] == 0 else {
                    throw fail(i, "an embedded document's length (\(n)) is out of range")
                }
                guard depth < ScenarioTransform.maxDepth else {
                    throw Reject("nested more than \(ScenarioTransform.maxDepth) levels, DynamoDB's limit")
                }
                let isArray = type == .array
                JSONOut.literal(isArray ? #"{"L":["# : #"{"M":{"#, into: &out)
                var j = i + 4
                let dend = i + n - 1
                var size = 3
                var index = 0
                while j < dend {
                    guard let t = BSONType(rawValue: p[j]) else {
                        throw fail(j, "unknown element type 0x\(String(p[j], radix: 16))")
                    }
                    j += 1
                    guard let nul = p[j..<dend].firstIndex(of: 0) else { throw fail(j, "an element name has no end") }
                    if index > 0 { out.append(UInt8(ascii: ",")) }
                    let name = UnsafeRawBufferPointer(rebasing: p[j..<nul])
                    if !isArray {
                        guard JSONOut.string(name, into: &out) else { throw Reject("a field name is not valid UTF-8") }
                        out.append(UInt8(ascii: ":"))
                        size += name.count
                    }
                    do {
                        let (next, s) = try value(t, nul + 1, dend, depth: depth + 1, into: &out)
                        size += s + 1
                        j = next
                    } catch let r as Reject {
                        throw r.inside(isArray ? "[\(index)]" : String(decoding: name, as: UTF8.self), list: isArray)
                    }
                    index += 1
                }
                guard j == dend else { throw fail(j, "an element runs past the end of its document") }
                JSONOut.literal(isArray ? "]}" : "}}", into: &out)
                return (i + n, size)
            case .undefined, .regex, .dbPointer, .javascript, .javascriptWithScope, .timestamp, .minKey, .maxKey:
                throw Reject(
                    "BSON \(type.name) has no DynamoDB type; convert or remove the field in MongoDB before migrating")
            }
        }
    }
}

/// UUID text and UUIDv5 (RFC 9562 §5.5: SHA-1 of namespace + name).
package enum UUIDText {
    package static func format(_ b: [UInt8]) -> String {
        var s: [UInt8] = []
        s.reserveCapacity(36)
        for (k, byte) in b.prefix(16).enumerated() {
            if k == 4 || k == 6 || k == 8 || k == 10 { s.append(UInt8(ascii: "-")) }
            s.append(JSONOut.hex[Int(byte >> 4)])
            s.append(JSONOut.hex[Int(byte & 15)])
        }
        return String(decoding: s, as: UTF8.self)
    }

    package static func v5(namespace: [UInt8], name: [UInt8]) -> String {
        var d = Digest(.sha1)
        d.update(namespace)
        d.update(name)
        var h = d.finish()
        h[6] = (h[6] & 0x0F) | 0x50
        h[8] = (h[8] & 0x3F) | 0x80
        return format(Array(h.prefix(16)))
    }
}
