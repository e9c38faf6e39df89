import WhatIfCore
import WhatIfJSON

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A line (or array element) of mongoexport output that is not valid JSON or Extended JSON.
public struct ExtendedJSONError: Error, Sendable, Equatable, CustomStringConvertible {
    /// 1-based byte column in the line or element.
    package var column: Int
    package var reason: String
    public var description: String { "column \(column): \(reason)" }
}

/// MongoDB Extended JSON v2 (canonical and relaxed, and the legacy `$binary`/`$type` and `$date` number
/// forms mongoexport still writes), read into BSON so the one BSON transform serves every input.
public enum ExtendedJSON {
    indirect enum Node {
        case object([(String, Node)])
        case array([Node])
        case string(String)
        /// The literal as written.
        case number(String)
        case bool(Bool)
        case null
    }

    /// Parses one JSON document and writes it as BSON into `writer` (which is reset first).
    package static func toBSON(_ bytes: UnsafeRawBufferPointer, into writer: inout BSONWriter) throws(ExtendedJSONError)
    {
        var p = Parser(p: bytes)
        p.skipSpace()
        let node = try p.value(depth: 0)
        p.skipSpace()
        guard p.i == bytes.count else { throw p.fail("text after the document") }
        guard case .object(let members) = node else { throw ExtendedJSONError(column: 1, reason: "not a JSON object") }
        writer.reset()
        do { try document(members, &writer) } catch {
            throw ExtendedJSONError(column: 1, reason: "\(error)")
        }
    }

    package static func toBSON(_ bytes: [UInt8], into writer: inout BSONWriter) throws(ExtendedJSONError) {
        let r = bytes.withUnsafeBytes { b in
            Result { () throws(ExtendedJSONError) in try toBSON(b, into: &writer) }
        }
        try r.get()
    }

    public static func toBSON(_ bytes: [UInt8]) throws(ExtendedJSONError) -> [UInt8] {
        var w = BSONWriter()
        try toBSON(bytes, into: &w)
        return w.bytes
    }

    struct Bad: Error, CustomStringConvertible {
        var description: String
        init(_ d: String) { description = d }
    }

    static func document(_ members: [(String, Node)], _ w: inout BSONWriter) throws {
        w.beginDocument()
        for (k, v) in members { try element(k, v, &w) }
        w.endDocument()
    }

    static func element(_ key: String, _ v: Node, _ w: inout BSONWriter) throws {
        do { try element0(key, v, &w) } catch let b as Bad where !b.description.hasPrefix("field ") {
            throw Bad("field \(key): \(b.description)")
        }
    }

    static func element0(_ key: String, _ v: Node, _ w: inout BSONWriter) throws {
        switch v {
        case .null: w.key(.null, key)
        case .bool(let b):
            w.key(.boolean, key)
            w.raw([b ? 1 : 0])
        case .string(let s):
            w.key(.string, key)
            w.string(s)
        case .number(let lit):
            if !lit.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }), let i = Int64(lit) {
                if let i32 = Int32(exactly: i) {
                    w.key(.int32, key)
                    w.int32(i32)
                } else {
                    w.key(.int64, key)
                    w.int64(i)
                }
            } else {
                guard let d = Double(lit) else { throw Bad("\(lit) is not a number") }
                w.key(.double, key)
                w.double(d)
            }
        case .array(let items):
            w.key(.array, key)
            w.beginDocument()
            for (i, item) in items.enumerated() { try element(String(i), item, &w) }
            w.endDocument()
        case .object(let m):
            if let first = m.first?.0, first.hasPrefix("$"), try special(key, m, &w) { return }
            w.key(.document, key)
            try document(m, &w)
        }
    }

    static func str(_ n: Node?, _ what: String) throws -> String {
        guard case .string(let s)? = n else { throw Bad("\(what) must be a string") }
        return s
    }

    /// Writes a type wrapper (`{"$oid": …}` and the rest); false when the object is an ordinary document.
    static func special(_ key: String, _ m: [(String, Node)], _ w: inout BSONWriter) throws -> Bool {
        let d = Dictionary(m, uniquingKeysWith: { a, _ in a })
        let first = m[0].0
        switch (first, m.count) {
        case ("$oid", 1):
            let hex = try str(d["$oid"], "$oid")
            guard hex.utf8.count == 24, let bytes = Hex.decode(hex) else { throw Bad("$oid needs 24 hex digits") }
            w.key(.objectId, key)
            w.raw(bytes)
        case ("$numberInt", 1):
            guard let v = Int32(try str(d["$numberInt"], "$numberInt")) else { throw Bad("$numberInt is not an Int32") }
            w.key(.int32, key)
            w.int32(v)
        case ("$numberLong", 1):
            guard let v = Int64(try str(d["$numberLong"], "$numberLong")) else {
                throw Bad("$numberLong is not an Int64")
            }
            w.key(.int64, key)
            w.int64(v)
        case ("$numberDouble", 1):
            let s = try str(d["$numberDouble"], "$numberDouble")
            let v: Double? =
                switch s {
                case "Infinity": .infinity
                case "-Infinity": -.infinity
                case "NaN": .nan
                default: Double(s)
                }
            guard let v else { throw Bad("$numberDouble '\(s)' is not a double") }
            w.key(.double, key)
            w.double(v)
        case ("$numberDecimal", 1):
            let s = try str(d["$numberDecimal"], "$numberDecimal")
            guard let (lo, hi) = Decimal128.encode(s) else {
                throw Bad("$numberDecimal '\(s)' is not a Decimal128 (at most 34 digits)")
            }
            w.key(.decimal128, key)
            w.uint64(lo)
            w.uint64(hi)
        case ("$date", 1):
            let ms: Int64
            switch d["$date"] {
            case .string(let iso)?:
                guard let v = isoMillis(iso) else { throw Bad("$date '\(iso)' is not an ISO 8601 date") }
                ms = v
            case .object(let inner)?:
                guard inner.count == 1, inner[0].0 == "$numberLong", case .string(let s) = inner[0].1,
                    let v = Int64(s)
                else { throw Bad("$date needs an ISO string or {\"$numberLong\": \"…\"}") }
                ms = v
            case .number(let lit)?:
                guard let v = Int64(lit) else { throw Bad("$date \(lit) is not a whole number of milliseconds") }
                ms = v
            default: throw Bad("$date needs an ISO string or {\"$numberLong\": \"…\"}")
            }
            w.key(.dateTime, key)
            w.int64(ms)
        case ("$binary", 1):
            guard case .object(let inner)? = d["$binary"] else { throw Bad("$binary needs base64 and subType") }
            let i = Dictionary(inner, uniquingKeysWith: { a, _ in a })
            try binary(key, try str(i["base64"], "$binary.base64"), try str(i["subType"], "$binary.subType"), &w)
        case ("$binary", 2) where d["$type"] != nil:
            try binary(key, try str(d["$binary"], "$binary"), try str(d["$type"], "$type"), &w)
        case ("$uuid", 1):
            let s = String(try str(d["$uuid"], "$uuid").filter { $0 != "-" })
            guard s.utf8.count == 32, let b = Hex.decode(s) else { throw Bad("$uuid is not a UUID") }
            w.key(.binary, key)
            w.int32(16)
            w.raw([4] + b)
        case ("$regularExpression", 1):
            guard case .object(let inner)? = d["$regularExpression"] else { throw Bad("$regularExpression") }
            let i = Dictionary(inner, uniquingKeysWith: { a, _ in a })
            w.key(.regex, key)
            w.cstring(try str(i["pattern"], "pattern"))
            w.cstring(try str(i["options"], "options"))
        case ("$timestamp", 1):
            guard case .object(let inner)? = d["$timestamp"] else { throw Bad("$timestamp needs t and i") }
            let i = Dictionary(inner, uniquingKeysWith: { a, _ in a })
            guard case .number(let t)? = i["t"], case .number(let inc)? = i["i"], let tv = UInt32(t),
                let iv = UInt32(inc)
            else { throw Bad("$timestamp needs t and i") }
            w.key(.timestamp, key)
            w.uint64(UInt64(tv) << 32 | UInt64(iv))
        case ("$minKey", 1): w.key(.minKey, key)
        case ("$maxKey", 1): w.key(.maxKey, key)
        case ("$undefined", 1): w.key(.undefined, key)
        case ("$symbol", 1):
            w.key(.symbol, key)
            w.string(try str(d["$symbol"], "$symbol"))
        case ("$code", 1):
            w.key(.javascript, key)
            w.string(try str(d["$code"], "$code"))
        case ("$code", 2) where d["$scope"] != nil:
            // Kept as plain code: the transform refuses both kinds the same way.
            w.key(.javascript, key)
            w.string(try str(d["$code"], "$code"))
        case ("$dbPointer", 1):
            w.key(.dbPointer, key)
            w.string("")
            w.raw([UInt8](repeating: 0, count: 12))
        default:
            return false
        }
        return true
    }

    static func binary(_ key: String, _ b64: String, _ subtype: String, _ w: inout BSONWriter) throws {
        guard let data = Data(base64Encoded: b64) else { throw Bad("$binary is not base64") }
        guard let st = UInt8(subtype, radix: 16) else { throw Bad("$binary subType '\(subtype)' is not hex") }
        w.key(.binary, key)
        w.int32(Int32(data.count))
        w.raw([st] + Array(data))
    }

    /// `YYYY-MM-DDTHH:MM:SS[.fff…](Z|±HH:MM|±HHMM)` to milliseconds since 1970.
    static func isoMillis(_ s: String) -> Int64? {
        let b = Array(s.utf8)
        func num(_ r: Range<Int>) -> Int? {
            guard r.upperBound <= b.count else { return nil }
            var v = 0
            for i in r {
                guard b[i] >= 0x30, b[i] <= 0x39 else { return nil }
                v = v * 10 + Int(b[i] - 0x30)
            }
            return v
        }
        guard b.count >= 20, let y = num(0..<4), b[4] == 45, let mo = num(5..<7), b[7] == 45, let da = num(8..<10),
            b[10] == 84 || b[10] == 116, let h = num(11..<13), b[13] == 58, let mi = num(14..<16), b[16] == 58,
            let se = num(17..<19), (1...12).contains(mo), (1...31).contains(da), h < 24, mi < 60, se < 61
        else { return nil }
        var i = 19
        var ms = 0
        if i < b.count, b[i] == 46 {
            i += 1
            var scale = 100
            var any = false
            while i < b.count, b[i] >= 0x30, b[i] <= 0x39 {
                ms += Int(b[i] - 0x30) * scale
                scale /= 10
                any = true
                i += 1
            }
            guard any else { return nil }
        }
        var offset = 0
        guard i < b.count else { return nil }
        if b[i] == 90 || b[i] == 122 {
            i += 1
        } else if b[i] == 43 || b[i] == 45 {
            let sign = b[i] == 45 ? -1 : 1
            guard let oh = num((i + 1)..<(i + 3)) else { return nil }
            var j = i + 3
            if j < b.count, b[j] == 58 { j += 1 }
            guard let om = num(j..<(j + 2)) else { return nil }
            offset = sign * (oh * 3600 + om * 60)
            i = j + 2
        } else {
            return nil
        }
        guard i == b.count else { return nil }
        let days = UTCDate.days(year: y, month: mo, day: da)
        let secs = Int64(days) * 86400 + Int64(h * 3600 + mi * 60 + se) - Int64(offset)
        return secs * 1000 + Int64(ms)
    }

    struct Parser {
        let p: UnsafeRawBufferPointer
        var i = 0

        func fail(_ r: String) -> ExtendedJSONError { ExtendedJSONError(column: i + 1, reason: r) }

        mutating func skipSpace() {
            while i < p.count, p[i] == 0x20 || p[i] == 0x09 || p[i] == 0x0A || p[i] == 0x0D { i += 1 }
        }

        mutating func value(depth: Int) throws(ExtendedJSONError) -> Node {
            guard depth < 200 else { throw fail("nested more than 200 levels") }
            guard i < p.count else { throw fail("the text ends where a value should be (cut short?)") }
            switch p[i] {
            case UInt8(ascii: "{"):
                i += 1
                var members: [(String, Node)] = []
                skipSpace()
                if i < p.count, p[i] == UInt8(ascii: "}") {
                    i += 1
                    return .object(members)
                }
                while true {
                    skipSpace()
                    guard i < p.count, p[i] == UInt8(ascii: "\"") else { throw fail("expected a quoted field name") }
                    let k = try string()
                    skipSpace()
                    guard i < p.count, p[i] == UInt8(ascii: ":") else { throw fail("expected ':'") }
                    i += 1
                    skipSpace()
                    members.append((k, try value(depth: depth + 1)))
                    skipSpace()
                    guard i < p.count else { throw fail("the text ends inside an object (cut short?)") }
                    if p[i] == UInt8(ascii: ",") {
                        i += 1
                        continue
                    }
                    guard p[i] == UInt8(ascii: "}") else { throw fail("expected ',' or '}'") }
                    i += 1
                    return .object(members)
                }
            case UInt8(ascii: "["):
                i += 1
                var items: [Node] = []
                skipSpace()
                if i < p.count, p[i] == UInt8(ascii: "]") {
                    i += 1
                    return .array(items)
                }
                while true {
                    skipSpace()
                    items.append(try value(depth: depth + 1))
                    skipSpace()
                    guard i < p.count else { throw fail("the text ends inside an array (cut short?)") }
                    if p[i] == UInt8(ascii: ",") {
                        i += 1
                        continue
                    }
                    guard p[i] == UInt8(ascii: "]") else { throw fail("expected ',' or ']'") }
                    i += 1
                    return .array(items)
                }
            case UInt8(ascii: "\""):
                return .string(try string())
            case UInt8(ascii: "t"):
                try literal("true")
                return .bool(true)
            case UInt8(ascii: "f"):
                try literal("false")
                return .bool(false)
            case UInt8(ascii: "n"):
                try literal("null")
                return .null
            default:
                let start = i
                if i < p.count, p[i] == UInt8(ascii: "-") { i += 1 }
                var digits = 0
                while i < p.count,
                    (0x30...0x39).contains(p[i]) || p[i] == 0x2E || p[i] == 0x65 || p[i] == 0x45
                        || ((p[i] == 0x2B || p[i] == 0x2D) && i > start && (p[i - 1] == 0x65 || p[i - 1] == 0x45))
                {
                    if (0x30...0x39).contains(p[i]) { digits += 1 }
                    i += 1
                }
                guard digits > 0 else {
                    i = start
                    throw fail("unexpected character '\(Character(Unicode.Scalar(p[start])))'")
                }
                let lit = String(decoding: UnsafeRawBufferPointer(rebasing: p[start..<i]), as: UTF8.self)
                guard Double(lit) != nil else {
                    i = start
                    throw fail("'\(lit)' is not a JSON number")
                }
                return .number(lit)
            }
        }

        mutating func literal(_ word: StaticString) throws(ExtendedJSONError) {
            let n = word.utf8CodeUnitCount
            guard p.count - i >= n,
                word.withUTF8Buffer({ w in (0..<n).allSatisfy { p[i + $0] == w[$0] } })
            else { throw fail("expected \(word)") }
            i += n
        }

        mutating func string() throws(ExtendedJSONError) -> String {
            do { return try JSONString.scan(p, at: &i) } catch { throw fail(error.reason) }
        }
    }
}
