/// BSON (bsonspec.org 1.1): the element types, a streaming document splitter for mongodump files, a
/// structural validator and a small writer (for Extended JSON input).
package enum BSONType: UInt8, Sendable {
    case double = 0x01
    case string = 0x02
    case document = 0x03
    case array = 0x04
    case binary = 0x05
    case undefined = 0x06
    case objectId = 0x07
    case boolean = 0x08
    case dateTime = 0x09
    case null = 0x0A
    case regex = 0x0B
    case dbPointer = 0x0C
    case javascript = 0x0D
    case symbol = 0x0E
    case javascriptWithScope = 0x0F
    case int32 = 0x10
    case timestamp = 0x11
    case int64 = 0x12
    case decimal128 = 0x13
    case minKey = 0xFF
    case maxKey = 0x7F

    package var name: String {
        switch self {
        case .double: "double"
        case .string: "string"
        case .document: "document"
        case .array: "array"
        case .binary: "binary"
        case .undefined: "undefined"
        case .objectId: "ObjectId"
        case .boolean: "boolean"
        case .dateTime: "date"
        case .null: "null"
        case .regex: "regular expression"
        case .dbPointer: "DBPointer"
        case .javascript: "JavaScript code"
        case .symbol: "symbol"
        case .javascriptWithScope: "JavaScript code with scope"
        case .int32: "Int32"
        case .timestamp: "timestamp"
        case .int64: "Int64"
        case .decimal128: "Decimal128"
        case .minKey: "MinKey"
        case .maxKey: "MaxKey"
        }
    }
}

/// A document that is not well-formed BSON, at an absolute byte offset of the file (of the decompressed
/// stream for `.bson.gz`).
public struct BSONError: Error, Sendable, Equatable, CustomStringConvertible {
    public var offset: Int64
    package var reason: String
    public var description: String { "malformed BSON at byte \(offset): \(reason)" }
}

public enum BSON {
    /// MongoDB's largest document is 16 MiB; mongodump never writes more (with some slack for its own).
    package static let maxDocumentSize = 16 * 1024 * 1024 + 16 * 1024
    /// Nesting deeper than this is refused as malformed (MongoDB's own limit is 100).
    package static let maxDepth = 100

    @inline(__always) static func int32(_ p: UnsafeRawBufferPointer, _ i: Int) -> Int32 {
        Int32(littleEndian: p.loadUnaligned(fromByteOffset: i, as: Int32.self))
    }
    @inline(__always) static func int64(_ p: UnsafeRawBufferPointer, _ i: Int) -> Int64 {
        Int64(littleEndian: p.loadUnaligned(fromByteOffset: i, as: Int64.self))
    }

    /// Checks a whole document's structure: lengths, terminators, element types, C strings, string
    /// lengths and their NULs. `base` is the document's offset in the file, for the error.
    public static func validate(_ doc: UnsafeRawBufferPointer, base: Int64 = 0) throws(BSONError) {
        try validateDocument(doc, 0, doc.count, base: base, depth: 0)
    }

    static func validateDocument(_ p: UnsafeRawBufferPointer, _ start: Int, _ end: Int, base: Int64, depth: Int)
        throws(BSONError)
    {
        func fail(_ at: Int, _ r: String) -> BSONError { BSONError(offset: base + Int64(at), reason: r) }
        guard depth <= maxDepth else { throw fail(start, "nested more than \(maxDepth) levels") }
        guard end - start >= 5 else { throw fail(start, "a document needs at least 5 bytes") }
        let len = Int(int32(p, start))
        guard len == end - start else {
            throw fail(start, "the document's length says \(len) bytes, its container leaves \(end - start)")
        }
        guard p[end - 1] == 0 else { throw fail(end - 1, "the document does not end with a 0 byte") }
        var i = start + 4
        while i < end - 1 {
            let t = p[i]
            guard let type = BSONType(rawValue: t) else {
                throw fail(i, "unknown element type 0x\(String(t, radix: 16))")
            }
            i += 1
            guard let nul = p[i..<(end - 1)].firstIndex(of: 0) else { throw fail(i, "an element name has no end") }
            i = nul + 1
            i = try skipValue(type, p, i, end - 1, base: base, depth: depth)
        }
        guard i == end - 1 else { throw fail(i, "an element runs past the end of its document") }
    }

    /// Validates one value and returns the offset after it.
    static func skipValue(
        _ type: BSONType, _ p: UnsafeRawBufferPointer, _ i: Int, _ end: Int, base: Int64, depth: Int
    ) throws(BSONError) -> Int {
        func fail(_ r: String) -> BSONError { BSONError(offset: base + Int64(i), reason: r) }
        func need(_ n: Int) throws(BSONError) {
            guard n >= 0, end - i >= n else { throw fail("a \(type.name) value runs past the end of its document") }
        }
        func string(at j: Int) throws(BSONError) -> Int {
            guard end - j >= 5 else { throw fail("a \(type.name) value runs past the end of its document") }
            let n = Int(int32(p, j))
            guard n >= 1, n <= end - j - 4 else { throw fail("a string's length (\(n)) is out of range") }
            guard p[j + 4 + n - 1] == 0 else { throw fail("a string does not end with a 0 byte") }
            return j + 4 + n
        }
        func cstring(at j: Int) throws(BSONError) -> Int {
            guard let nul = p[j..<end].firstIndex(of: 0) else { throw fail("a C string has no end") }
            return nul + 1
        }
        switch type {
        case .double, .dateTime, .int64, .timestamp:
            try need(8)
            return i + 8
        case .int32:
            try need(4)
            return i + 4
        case .decimal128:
            try need(16)
            return i + 16
        case .objectId:
            try need(12)
            return i + 12
        case .boolean:
            try need(1)
            guard p[i] <= 1 else { throw fail("a boolean is neither 0 nor 1") }
            return i + 1
        case .null, .undefined, .minKey, .maxKey:
            return i
        case .string, .javascript, .symbol:
            return try string(at: i)
        case .document, .array:
            try need(5)
            let n = Int(int32(p, i))
            guard n >= 5, n <= end - i else { throw fail("an embedded document's length (\(n)) is out of range") }
            try validateDocument(p, i, i + n, base: base, depth: depth + 1)
            return i + n
        case .binary:
            try need(5)
            let n = Int(int32(p, i))
            guard n >= 0, n <= end - i - 5 else { throw fail("a binary value's length (\(n)) is out of range") }
            return i + 5 + n
        case .regex:
            return try cstring(at: cstring(at: i))
        case .dbPointer:
            let j = try string(at: i)
            guard end - j >= 12 else { throw fail("a DBPointer runs past the end of its document") }
            return j + 12
        case .javascriptWithScope:
            try need(4)
            let n = Int(int32(p, i))
            guard n >= 14, n <= end - i else { throw fail("a code-with-scope length (\(n)) is out of range") }
            let j = try string(at: i + 4)
            try validateDocument(p, j, i + n, base: base, depth: depth + 1)
            return i + n
        }
    }
}

/// Cuts a stream of concatenated BSON documents (mongodump's `.bson`) into documents as bytes arrive.
/// Only the length prefix and the final 0 are checked here; the transform checks the rest.
public struct BSONSplitter {
    private var buffer: [UInt8] = []
    private var head = 0
    /// Offset in the stream of `buffer[head]`.
    public private(set) var offset: Int64 = 0
    /// When set, a malformed document is skipped: the splitter looks for the next offset where a whole,
    /// valid document starts, and reports what it skipped.
    package var skipBad: Bool
    package private(set) var skipped: [BSONError] = []
    private var lastSkipEnd: Int64 = -1
    /// True while the last skip may still grow (the splitter stopped there waiting for more bytes).
    package var lastSkipMayGrow: Bool { lastSkipEnd == offset && head < buffer.count }
    private var firstReason = ""

    public init(skipBad: Bool = false) { self.skipBad = skipBad }

    /// Feeds bytes; calls `body(document, offsetInStream)` for each whole document.
    public mutating func push(
        _ bytes: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer, Int64) throws -> Void
    ) throws {
        if head > 0 && head == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            head = 0
        }
        buffer.append(contentsOf: bytes)
        try drain(final: false, body)
        if head > 1 << 20 {
            buffer.removeSubrange(0..<head)
            head = 0
        }
    }

    /// The end of the stream: anything left over is a truncated document.
    public mutating func finish(_ body: (UnsafeRawBufferPointer, Int64) throws -> Void) throws {
        try drain(final: true, body)
        if head < buffer.count {
            let left = buffer.count - head
            var declared = -1
            if left >= 4 { declared = buffer.withUnsafeBytes { Int(BSON.int32($0, head)) } }
            let e = BSONError(
                offset: offset,
                reason: declared > 0
                    ? "the file ends inside a document: it declares \(declared) bytes, \(left) remain (truncated?)"
                    : "the file ends with \(left) stray bytes (truncated?)")
            guard skipBad else { throw e }
            skipped.append(e)
            offset += Int64(left)
            head = buffer.count
        }
    }

    private mutating func drain(final: Bool, _ body: (UnsafeRawBufferPointer, Int64) throws -> Void) throws {
        while buffer.count - head >= 4 {
            let len = buffer.withUnsafeBytes { Int(BSON.int32($0, head)) }
            let plausible = len >= 5 && len <= BSON.maxDocumentSize
            var problem: BSONError?
            if plausible && buffer.count - head < len {
                guard final && skipBad else { return }
                problem = BSONError(
                    offset: offset,
                    reason: "the file ends inside a document: it declares \(len) bytes, \(buffer.count - head) remain")
            } else if !plausible {
                problem = BSONError(
                    offset: offset, reason: "a document's length prefix (\(len)) is out of range (5 to 16 MiB)")
            } else if buffer[head + len - 1] != 0 {
                problem = BSONError(
                    offset: offset + Int64(len - 1),
                    reason: "the document that starts at byte \(offset) does not end with a 0 byte (corrupt length?)")
            } else if skipBad {
                // When bad documents are skipped, each is validated here, so the transform never sees one.
                problem = buffer.withUnsafeBytes { p -> BSONError? in
                    do throws(BSONError) {
                        try BSON.validate(UnsafeRawBufferPointer(rebasing: p[head..<(head + len)]), base: offset)
                        return nil
                    } catch { return error }
                }
            }
            if let problem {
                guard skipBad else { throw problem }
                try resync(final: final, problem)
                continue
            }
            let at = offset
            try buffer.withUnsafeBytes { p in try body(UnsafeRawBufferPointer(rebasing: p[head..<(head + len)]), at) }
            head += len
            offset += Int64(len)
        }
    }

    /// Skips forward byte by byte to the next offset where a valid document starts (or the data ends).
    /// mongodump writes `_id` first in every document, so a candidate must start with it: otherwise an
    /// embedded document inside the damaged one would pass for a top-level one.
    private mutating func resync(final: Bool, _ problem: BSONError) throws {
        let from = offset
        head += 1
        offset += 1
        while buffer.count - head >= 9 {
            let len = buffer.withUnsafeBytes { Int(BSON.int32($0, head)) }
            let startsWithId =
                buffer[head + 5] == UInt8(ascii: "_") && buffer[head + 6] == UInt8(ascii: "i")
                && buffer[head + 7] == UInt8(ascii: "d") && buffer[head + 8] == 0
            if len >= 9 && len <= BSON.maxDocumentSize && startsWithId {
                if buffer.count - head < len {
                    if !final { break }
                } else if buffer[head + len - 1] == 0 {
                    let ok = buffer.withUnsafeBytes { p -> Bool in
                        (try? BSON.validate(UnsafeRawBufferPointer(rebasing: p[head..<(head + len)]))) != nil
                    }
                    if ok { break }
                }
            }
            head += 1
            offset += 1
        }
        if final && buffer.count - head < 9 {
            offset += Int64(buffer.count - head)
            head = buffer.count
        }
        // A skip that continues the previous one (it waited for more bytes) extends it.
        if let last = skipped.last, lastSkipEnd == from {
            skipped[skipped.count - 1] = BSONError(
                offset: last.offset,
                reason: "\(firstReason); skipped \(offset - last.offset) bytes to the next document")
        } else {
            firstReason = problem.reason
            skipped.append(
                BSONError(
                    offset: from, reason: "\(problem.reason); skipped \(offset - from) bytes to the next document"))
        }
        lastSkipEnd = offset
    }
}

/// Writes BSON documents (used to turn Extended JSON into the one form the transform reads).
package struct BSONWriter {
    package private(set) var bytes: [UInt8] = []
    private var starts: [Int] = []

    public init() {}

    package mutating func beginDocument() {
        starts.append(bytes.count)
        bytes += [0, 0, 0, 0]
    }

    package mutating func endDocument() {
        bytes.append(0)
        let start = starts.removeLast()
        let len = UInt32(bytes.count - start)
        withUnsafeBytes(of: len.littleEndian) { b in
            for k in 0..<4 { bytes[start + k] = b[k] }
        }
    }

    package mutating func key(_ type: BSONType, _ name: String) {
        bytes.append(type.rawValue)
        bytes += name.utf8
        bytes.append(0)
    }

    package mutating func string(_ s: String) {
        let u = Array(s.utf8)
        int32(Int32(u.count + 1))
        bytes += u
        bytes.append(0)
    }

    package mutating func cstring(_ s: String) {
        bytes += s.utf8
        bytes.append(0)
    }

    package mutating func int32(_ v: Int32) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    package mutating func int64(_ v: Int64) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    package mutating func uint64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    package mutating func double(_ v: Double) { uint64(v.bitPattern) }
    package mutating func raw(_ b: [UInt8]) { bytes += b }

    package mutating func reset() {
        bytes.removeAll(keepingCapacity: true)
        starts.removeAll()
    }
}
