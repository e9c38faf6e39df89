/// Byte-level JSON for the export and restore hot paths: DynamoDB's answers are validated and cut into
/// items without decoding every attribute. Everything copied is re-emitted without insignificant
/// whitespace, so an item is always exactly one line.
public struct RawJSONError: Error, Sendable, Equatable, CustomStringConvertible {
    package var offset: Int
    package var reason: String
    public var description: String { "invalid JSON at byte \(offset): \(reason)" }
}

public enum RawJSON {
    static let maxDepth = 256

    struct Parser {
        let p: UnsafeRawBufferPointer
        var i = 0

        init(_ p: UnsafeRawBufferPointer) { self.p = p }

        func fail(_ reason: String) -> RawJSONError { RawJSONError(offset: i, reason: reason) }

        mutating func skipWhitespace() {
            while i < p.count {
                let c = p[i]
                if c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 { i += 1 } else { break }
            }
        }

        mutating func peek() throws(RawJSONError) -> UInt8 {
            skipWhitespace()
            guard i < p.count else { throw fail("unexpected end") }
            return p[i]
        }

        mutating func expect(_ c: UInt8) throws(RawJSONError) {
            guard try peek() == c else { throw fail("expected '\(Character(Unicode.Scalar(c)))'") }
            i += 1
        }

        /// A string's raw bytes between the quotes (escapes left as they are), validated.
        mutating func string() throws(RawJSONError) -> Range<Int> {
            guard try peek() == 0x22 else { throw fail("expected a string") }
            i += 1
            let start = i
            while i < p.count {
                let c = p[i]
                if c == 0x22 {
                    i += 1
                    return start..<(i - 1)
                }
                if c < 0x20 { throw fail("control character in a string") }
                if c == 0x5C {
                    i += 1
                    guard i < p.count else { break }
                    switch p[i] {
                    case 0x22, 0x5C, 0x2F, 0x62, 0x66, 0x6E, 0x72, 0x74: i += 1
                    case 0x75:
                        guard i + 4 < p.count else { throw fail("short \\u escape") }
                        for k in 1...4 where !isHex(p[i + k]) { throw fail("bad \\u escape") }
                        i += 5
                    default: throw fail("bad escape")
                    }
                    continue
                }
                i += 1
            }
            throw fail("unterminated string")
        }

        func isHex(_ c: UInt8) -> Bool {
            (0x30...0x39).contains(c) || (0x41...0x46).contains(c) || (0x61...0x66).contains(c)
        }

        func isDigit(_ c: UInt8) -> Bool { (0x30...0x39).contains(c) }

        mutating func number() throws(RawJSONError) -> Range<Int> {
            let start = i
            if i < p.count, p[i] == 0x2D { i += 1 }
            guard i < p.count, isDigit(p[i]) else { throw fail("bad number") }
            if p[i] == 0x30 {
                i += 1
            } else {
                while i < p.count, isDigit(p[i]) { i += 1 }
            }
            if i < p.count, p[i] == 0x2E {
                i += 1
                guard i < p.count, isDigit(p[i]) else { throw fail("bad fraction") }
                while i < p.count, isDigit(p[i]) { i += 1 }
            }
            if i < p.count, p[i] == 0x65 || p[i] == 0x45 {
                i += 1
                if i < p.count, p[i] == 0x2B || p[i] == 0x2D { i += 1 }
                guard i < p.count, isDigit(p[i]) else { throw fail("bad exponent") }
                while i < p.count, isDigit(p[i]) { i += 1 }
            }
            return start..<i
        }

        mutating func literal(_ word: StaticString) throws(RawJSONError) {
            let n = word.utf8CodeUnitCount
            guard i + n <= p.count else { throw fail("unexpected end") }
            for k in 0..<n where p[i + k] != word.utf8Start[k] { throw fail("bad literal") }
            i += n
        }

        /// After a member or an element: `,` (true: another follows) or `close` (false: the object or array
        /// ends), either appended to `out`; anything else is an error at its place.
        mutating func another(closedBy close: UInt8, into out: inout [UInt8]) throws(RawJSONError) -> Bool {
            let n = try peek()
            guard n == 0x2C || n == close else {
                throw fail("expected ',' or '\(Character(Unicode.Scalar(close)))'")
            }
            i += 1
            out.append(n)
            return n == 0x2C
        }

        /// Validates one value and appends it to `out` without insignificant whitespace.
        mutating func copyValue(into out: inout [UInt8], depth: Int = 0) throws(RawJSONError) {
            guard depth < RawJSON.maxDepth else { throw fail("nested too deeply") }
            let c = try peek()
            switch c {
            case 0x7B:  // {
                i += 1
                out.append(0x7B)
                if try peek() == 0x7D {
                    i += 1
                    out.append(0x7D)
                    return
                }
                while true {
                    let s = try string()
                    appendString(s, into: &out)
                    try expect(0x3A)
                    out.append(0x3A)
                    try copyValue(into: &out, depth: depth + 1)
                    if try !another(closedBy: 0x7D, into: &out) { return }
                }
            case 0x5B:  // [
                i += 1
                out.append(0x5B)
                if try peek() == 0x5D {
                    i += 1
                    out.append(0x5D)
                    return
                }
                while true {
                    try copyValue(into: &out, depth: depth + 1)
                    if try !another(closedBy: 0x5D, into: &out) { return }
                }
            case 0x22:
                let s = try string()
                appendString(s, into: &out)
            case 0x74:
                try literal("true")
                out.append(contentsOf: "true".utf8)
            case 0x66:
                try literal("false")
                out.append(contentsOf: "false".utf8)
            case 0x6E:
                try literal("null")
                out.append(contentsOf: "null".utf8)
            default:
                let r = try number()
                out.append(contentsOf: UnsafeRawBufferPointer(rebasing: p[r]))
            }
        }

        func appendString(_ r: Range<Int>, into out: inout [UInt8]) {
            out.append(0x22)
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: p[r]))
            out.append(0x22)
        }

        mutating func skipValue(depth: Int = 0) throws(RawJSONError) {
            var sink: [UInt8] = []
            try copyValue(into: &sink, depth: depth)
        }

        func equals(_ r: Range<Int>, _ s: StaticString) -> Bool {
            guard r.count == s.utf8CodeUnitCount else { return false }
            for k in 0..<r.count where p[r.lowerBound + k] != s.utf8Start[k] { return false }
            return true
        }

        func bytes(_ r: Range<Int>) -> [UInt8] { Array(UnsafeRawBufferPointer(rebasing: p[r])) }

        mutating func end() throws(RawJSONError) {
            skipWhitespace()
            guard i == p.count else { throw fail("trailing data after the JSON value") }
        }

        /// Calls `member` for each key of an object; `member` must consume the value.
        mutating func object(_ member: (inout Parser, Range<Int>) throws(RawJSONError) -> Void) throws(RawJSONError) {
            try expect(0x7B)
            if try peek() == 0x7D {
                i += 1
                return
            }
            while true {
                let k = try string()
                try expect(0x3A)
                try member(&self, k)
                let n = try peek()
                i += 1
                if n == 0x2C { continue }
                if n == 0x7D { return }
                i -= 1
                throw fail("expected ',' or '}'")
            }
        }

        /// Calls `element` for each element of an array; `element` must consume it.
        mutating func array(_ element: (inout Parser) throws(RawJSONError) -> Void) throws(RawJSONError) {
            try expect(0x5B)
            if try peek() == 0x5D {
                i += 1
                return
            }
            while true {
                try element(&self)
                let n = try peek()
                i += 1
                if n == 0x2C { continue }
                if n == 0x5D { return }
                i -= 1
                throw fail("expected ',' or ']'")
            }
        }

        mutating func integer() throws(RawJSONError) -> Int {
            _ = try peek()
            let r = try number()
            var v = 0
            for k in r {
                let c = p[k]
                guard isDigit(c), v < Int.max / 10 - 10 else { throw fail("expected a non-negative integer") }
                v = v * 10 + Int(c - 0x30)
            }
            return v
        }
    }

    public struct ScanPage: Sendable, Equatable {
        /// Items appended to the output.
        public var items: Int
        /// The page's `Count`.
        package var declaredCount: Int
        /// `LastEvaluatedKey`, as JSON, when there are more pages.
        public var lastEvaluatedKey: [UInt8]?
    }

    /// Checks a Scan answer and appends one `{"Item":{...}}` line per item to `out`, in AWS's export
    /// format. The answer's `Count` must equal the number of items.
    public static func splitScanPage(_ body: [UInt8], into out: inout [UInt8]) throws(RawJSONError) -> ScanPage {
        try body.withUnsafeBytes { raw in
            Result { () throws(RawJSONError) -> ScanPage in
                var parser = Parser(raw)
                var items = 0
                var declared: Int?
                var lek: [UInt8]?
                var sawItems = false
                try parser.object { (p, key) throws(RawJSONError) in
                    if p.equals(key, "Items") {
                        sawItems = true
                        try p.array { (e) throws(RawJSONError) in
                            guard try e.peek() == 0x7B else { throw e.fail("an item is not an object") }
                            out.append(contentsOf: #"{"Item":"#.utf8)
                            try e.copyValue(into: &out, depth: 2)
                            out.append(contentsOf: "}\n".utf8)
                            items += 1
                        }
                    } else if p.equals(key, "Count") {
                        declared = try p.integer()
                    } else if p.equals(key, "LastEvaluatedKey") {
                        guard try p.peek() == 0x7B else { throw p.fail("LastEvaluatedKey is not an object") }
                        var k: [UInt8] = []
                        try p.copyValue(into: &k, depth: 1)
                        lek = k
                    } else {
                        try p.skipValue(depth: 1)
                    }
                }
                try parser.end()
                guard let declared else { throw RawJSONError(offset: 0, reason: "the Scan answer has no Count") }
                guard declared == items, sawItems || items == 0 else {
                    throw RawJSONError(
                        offset: 0, reason: "the Scan answer's Count is \(declared) but it holds \(items) items")
                }
                return ScanPage(items: items, declaredCount: declared, lastEvaluatedKey: lek)
            }
        }.get()
    }

    /// Checks one line of an export data file: exactly `{"Item":{...}}`. Returns the item's JSON.
    public static func itemOfLine(_ line: UnsafeRawBufferPointer) throws(RawJSONError) -> [UInt8] {
        var parser = Parser(line)
        var item: [UInt8]?
        var keys = 0
        try parser.object { (p, key) throws(RawJSONError) in
            keys += 1
            guard p.equals(key, "Item") else { throw p.fail("a line holds a key other than \"Item\"") }
            guard try p.peek() == 0x7B else { throw p.fail("\"Item\" is not an object") }
            var out: [UInt8] = []
            try p.copyValue(into: &out, depth: 1)
            item = out
        }
        try parser.end()
        guard keys == 1, let item else { throw RawJSONError(offset: 0, reason: "a line is not {\"Item\": {...}}") }
        return item
    }

    /// One change of an incremental export: the item's key, its new image (nil: the item was deleted),
    /// and whether an old image came with it (an update or a delete; none: an insert, with view
    /// `NEW_AND_OLD_IMAGES`).
    public struct Change: Sendable, Equatable {
        public var keys: [UInt8]
        public var newImage: [UInt8]?
        public var hasOldImage: Bool
    }

    /// A line of an incremental export's data file:
    /// `{"Metadata":{"WriteTimestampMicros":{"N":"..."}},"Keys":{...},"NewImage":{...},"OldImage":{...}}`
    /// (Metadata, NewImage and OldImage optional; nothing else).
    public static func changeOfLine(_ line: UnsafeRawBufferPointer) throws(RawJSONError) -> Change {
        var parser = Parser(line)
        var keys: [UInt8]?
        var newImage: [UInt8]?
        var old = false
        try parser.object { (p, key) throws(RawJSONError) in
            if p.equals(key, "Metadata") { return try p.skipValue(depth: 1) }
            let isKeys = p.equals(key, "Keys")
            let isNew = p.equals(key, "NewImage")
            guard isKeys || isNew || p.equals(key, "OldImage") else {
                throw p.fail("a change holds a key other than Metadata, Keys, NewImage, OldImage")
            }
            guard try p.peek() == 0x7B else {
                throw p.fail("\"\(String(decoding: p.bytes(key), as: UTF8.self))\" is not an object")
            }
            var out: [UInt8] = []
            try p.copyValue(into: &out, depth: 1)
            if isKeys {
                keys = out
            } else if isNew {
                newImage = out
            } else {
                old = true
            }
        }
        try parser.end()
        guard let keys else { throw RawJSONError(offset: 0, reason: "a change has no \"Keys\"") }
        return Change(keys: keys, newImage: newImage, hasOldImage: old)
    }

    /// The put requests a BatchWriteItem answer left unprocessed for `table`, each as
    /// `{"PutRequest":{"Item":{...}}}` JSON ready to send again.
    public static func unprocessedPuts(_ body: [UInt8], table: String) throws(RawJSONError) -> [[UInt8]] {
        let tableBytes = Array(table.utf8)
        return try body.withUnsafeBytes { raw in
            Result { () throws(RawJSONError) -> [[UInt8]] in
                var parser = Parser(raw)
                var out: [[UInt8]] = []
                try parser.object { (p, key) throws(RawJSONError) in
                    guard p.equals(key, "UnprocessedItems") else { return try p.skipValue(depth: 1) }
                    try p.object { (t, name) throws(RawJSONError) in
                        guard t.bytes(name) == tableBytes else { return try t.skipValue(depth: 2) }
                        try t.array { (e) throws(RawJSONError) in
                            var req: [UInt8] = []
                            try e.copyValue(into: &req, depth: 3)
                            out.append(req)
                        }
                    }
                }
                try parser.end()
                return out
            }
        }.get()
    }

    /// Validates a whole JSON document.
    public static func validate(_ bytes: [UInt8]) throws(RawJSONError) {
        try bytes.withUnsafeBytes { raw in
            Result { () throws(RawJSONError) in
                var parser = Parser(raw)
                try parser.skipValue()
                try parser.end()
            }
        }.get()
    }
}
