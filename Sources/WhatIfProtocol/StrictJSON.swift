#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Why a request body was refused, with where: `path` is the key path ("" for the whole body, "ids.2",
/// "params.dryRun"); `accepted` lists the keys the object at that place takes, for an unknown key.
public struct StrictJSONError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What was wrong with the body.
    public enum Kind: Sendable, Equatable {
        /// Not JSON at all: a syntax error, bad UTF-8, nesting past the limit.
        case syntax
        case duplicateKey
        case unknownKey
        case wrongType
        case missingKey
        case badValue
    }

    /// What was wrong.
    public var kind: Kind
    /// Where, as a dotted key path (`""` for the whole body, `ids.2`, `params.dryRun`).
    public var path: String
    /// The problem in words, naming the key.
    public var message: String
    /// For an unknown key: the keys the object at `path` takes.
    public var accepted: [String]

    package init(_ kind: Kind, path: String, _ message: String, accepted: [String] = []) {
        self.kind = kind
        self.path = path
        self.message = message
        self.accepted = accepted
    }

    /// The message, with the accepted keys when there are some.
    public var description: String {
        var s = message
        if !accepted.isEmpty {
            s += "; accepted keys\(path.isEmpty ? "" : " in \(path)"): \(accepted.joined(separator: ", "))"
        }
        return s
    }
}

/// Request bodies read strictly: one JSON value, no duplicate keys, nesting at most `maxDepth` deep,
/// decoded into a type that must use every key present (an unknown or misspelt key is an error that
/// names it and the keys the type takes), numbers and booleans only where the type has them.
public enum StrictJSON {
    /// The deepest nesting of arrays and objects a body may have.
    public static let maxDepth = 64

    /// Parses `bytes` strictly and decodes them as `type`.
    public static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws(StrictJSONError) -> T {
        try decode(type, from: try parse(bytes))
    }

    /// Decodes an already parsed value as `type`, refusing keys the type does not use.
    public static func decode<T: Decodable>(_ type: T.Type, from value: JSONValue) throws(StrictJSONError) -> T {
        let tracker = KeyTracker()
        let result: T
        do {
            result = try T(from: StrictDecoder(value: value, codingPath: [], tracker: tracker))
        } catch let e as StrictJSONError {
            throw e
        } catch let e as DecodingError {
            // A required key that is missing because it was misspelt: name the misspelling.
            if case .keyNotFound(let key, let c) = e,
                let near = tracker.misspelling(of: key.stringValue, at: c.codingPath)
            {
                throw near
            }
            throw convert(e)
        } catch {
            throw StrictJSONError(.badValue, path: "", "\(error)")
        }
        if let unknown = tracker.firstUnknown() { throw unknown }
        return result
    }

    static func pathText(_ path: [any CodingKey]) -> String {
        path.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
    }

    static func convert(_ e: DecodingError) -> StrictJSONError {
        switch e {
        case .keyNotFound(let key, let c):
            let path = pathText(c.codingPath + [key])
            return StrictJSONError(.missingKey, path: path, "missing \"\(path)\"")
        case .typeMismatch(_, let c), .valueNotFound(_, let c):
            let path = pathText(c.codingPath)
            return StrictJSONError(.wrongType, path: path, "\"\(path)\": \(c.debugDescription)")
        case .dataCorrupted(let c):
            let path = pathText(c.codingPath)
            return StrictJSONError(
                .badValue, path: path, path.isEmpty ? c.debugDescription : "\"\(path)\": \(c.debugDescription)")
        @unknown default:
            return StrictJSONError(.badValue, path: "", "\(e)")
        }
    }

    // MARK: Parsing

    /// One JSON document; duplicate keys, trailing text and nesting past `maxDepth` are errors.
    public static func parse(_ bytes: [UInt8]) throws(StrictJSONError) -> JSONValue {
        var p = Parser(bytes: bytes)
        p.skipSpace()
        let v = try p.value(depth: 0, path: "")
        p.skipSpace()
        guard p.i == bytes.count else { throw p.fail("unexpected text after the JSON value") }
        return v
    }

    struct Parser {
        let bytes: [UInt8]
        var i = 0

        func fail(_ m: String) -> StrictJSONError {
            StrictJSONError(.syntax, path: "", "not JSON: \(m) at byte \(i)")
        }

        mutating func skipSpace() {
            while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x0A || bytes[i] == 0x0D || bytes[i] == 0x09 {
                i += 1
            }
        }

        mutating func literal(_ word: String, _ v: JSONValue) throws(StrictJSONError) -> JSONValue {
            let w = Array(word.utf8)
            guard i + w.count <= bytes.count, Array(bytes[i..<(i + w.count)]) == w else {
                throw fail("unexpected character")
            }
            i += w.count
            return v
        }

        mutating func value(depth: Int, path: String) throws(StrictJSONError) -> JSONValue {
            guard i < bytes.count else { throw fail("unexpected end") }
            switch bytes[i] {
            case UInt8(ascii: "{"):
                guard depth < StrictJSON.maxDepth else {
                    throw StrictJSONError(.syntax, path: path, "nested deeper than \(StrictJSON.maxDepth) levels")
                }
                i += 1
                var out: [String: JSONValue] = [:]
                skipSpace()
                if i < bytes.count, bytes[i] == UInt8(ascii: "}") {
                    i += 1
                    return .object(out)
                }
                while true {
                    skipSpace()
                    guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { throw fail("expected a key") }
                    let key = try string()
                    let keyPath = path.isEmpty ? key : "\(path).\(key)"
                    guard out[key] == nil else {
                        throw StrictJSONError(
                            .duplicateKey, path: keyPath, "the key \"\(keyPath)\" appears twice; send it once")
                    }
                    skipSpace()
                    guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { throw fail("expected ':'") }
                    i += 1
                    skipSpace()
                    out[key] = try value(depth: depth + 1, path: keyPath)
                    skipSpace()
                    guard i < bytes.count else { throw fail("unexpected end") }
                    if bytes[i] == UInt8(ascii: ",") {
                        i += 1
                    } else if bytes[i] == UInt8(ascii: "}") {
                        i += 1
                        return .object(out)
                    } else {
                        throw fail("expected ',' or '}'")
                    }
                }
            case UInt8(ascii: "["):
                guard depth < StrictJSON.maxDepth else {
                    throw StrictJSONError(.syntax, path: path, "nested deeper than \(StrictJSON.maxDepth) levels")
                }
                i += 1
                var out: [JSONValue] = []
                skipSpace()
                if i < bytes.count, bytes[i] == UInt8(ascii: "]") {
                    i += 1
                    return .array(out)
                }
                while true {
                    skipSpace()
                    out.append(
                        try value(depth: depth + 1, path: path.isEmpty ? "\(out.count)" : "\(path).\(out.count)"))
                    skipSpace()
                    guard i < bytes.count else { throw fail("unexpected end") }
                    if bytes[i] == UInt8(ascii: ",") {
                        i += 1
                    } else if bytes[i] == UInt8(ascii: "]") {
                        i += 1
                        return .array(out)
                    } else {
                        throw fail("expected ',' or ']'")
                    }
                }
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "t"): return try literal("true", .bool(true))
            case UInt8(ascii: "f"): return try literal("false", .bool(false))
            case UInt8(ascii: "n"): return try literal("null", .null)
            default: return .number(try number())
            }
        }

        mutating func number() throws(StrictJSONError) -> Double {
            let start = i
            if i < bytes.count, bytes[i] == UInt8(ascii: "-") { i += 1 }
            func digits(_ p: inout Parser) -> Int {
                let s = p.i
                while p.i < p.bytes.count, p.bytes[p.i] >= 0x30, p.bytes[p.i] <= 0x39 { p.i += 1 }
                return p.i - s
            }
            let intStart = i
            let n = digits(&self)
            guard n > 0 else { throw fail("unexpected character") }
            if n > 1, bytes[intStart] == UInt8(ascii: "0") { throw fail("a number with a leading zero") }
            if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
                i += 1
                guard digits(&self) > 0 else { throw fail("a digit must follow '.'") }
            }
            if i < bytes.count, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
                i += 1
                if i < bytes.count, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
                guard digits(&self) > 0 else { throw fail("a digit must follow the exponent") }
            }
            guard let d = Double(String(decoding: bytes[start..<i], as: UTF8.self)), d.isFinite else {
                throw fail("a number out of range")
            }
            return d
        }

        mutating func string() throws(StrictJSONError) -> String {
            var at = i
            let r = bytes.withUnsafeBytes { p in
                Result { () throws(JSONString.Failure) in try JSONString.scan(p, at: &at) }
            }
            i = at
            switch r {
            case .success(let s): return s
            case .failure(let e): throw fail(e.reason)
            }
        }
    }
}

/// The keys each object of the body had, and the keys the decoded type asked for.
final class KeyTracker {
    private var objects: [(path: [any CodingKey], keys: Set<String>, used: Set<String>)] = []
    private var index: [String: Int] = [:]

    func register(_ path: [any CodingKey], keys: Set<String>) -> Int {
        let id = StrictJSON.pathText(path)
        if let i = index[id] { return i }
        objects.append((path, keys, []))
        index[id] = objects.count - 1
        return objects.count - 1
    }

    func use(_ object: Int, _ key: String) { objects[object].used.insert(key) }

    /// An unused key of the object at `path` that looks like `missing`.
    func misspelling(of missing: String, at path: [any CodingKey]) -> StrictJSONError? {
        guard let i = index[StrictJSON.pathText(path)] else { return nil }
        let o = objects[i]
        guard let key = o.keys.subtracting(o.used).sorted().first(where: { Self.close($0, missing) }) else {
            return nil
        }
        let p = StrictJSON.pathText(path)
        return StrictJSONError(
            .unknownKey, path: p, "unknown key \"\(p.isEmpty ? key : "\(p).\(key)")\"; did you mean \"\(missing)\"?",
            accepted: o.used.union([missing]).sorted())
    }

    func firstUnknown() -> StrictJSONError? {
        for o in objects {
            let unknown = o.keys.subtracting(o.used).sorted()
            guard let key = unknown.first else { continue }
            let path = StrictJSON.pathText(o.path)
            let full = path.isEmpty ? key : "\(path).\(key)"
            let near = o.used.sorted().first { Self.close($0, key) }
            return StrictJSONError(
                .unknownKey, path: path,
                "unknown key \"\(full)\"" + (near.map { "; did you mean \"\($0)\"?" } ?? ""),
                accepted: o.used.sorted())
        }
        return nil
    }

    /// Same letters ignoring case and `_`/`-`, or at most two edits apart.
    static func close(_ a: String, _ b: String) -> Bool {
        let norm = { (s: String) in s.lowercased().filter { $0 != "_" && $0 != "-" } }
        if norm(a) == norm(b) { return true }
        let x = Array(a.lowercased())
        let y = Array(b.lowercased())
        guard abs(x.count - y.count) <= 2 else { return false }
        var row = Array(0...y.count)
        for i in 1...max(1, x.count) where !x.isEmpty {
            var next = [i] + [Int](repeating: 0, count: y.count)
            for j in stride(from: 1, through: y.count, by: 1) {
                next[j] = min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (x[i - 1] == y[j - 1] ? 0 : 1))
            }
            row = next
        }
        return row[y.count] <= 2
    }
}

struct StrictKey: CodingKey {
    var stringValue: String
    var intValue: Int?
    init(stringValue: String) { self.stringValue = stringValue }
    init(intValue: Int) {
        stringValue = String(intValue)
        self.intValue = intValue
    }
}

struct StrictDecoder: Decoder {
    let value: JSONValue
    let codingPath: [any CodingKey]
    let tracker: KeyTracker
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func mismatch(_ expected: String) -> DecodingError {
        DecodingError.typeMismatch(
            Any.self, .init(codingPath: codingPath, debugDescription: "expected \(expected), found \(value.typeName)"))
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .object(let o) = value else { throw mismatch("an object") }
        let id = tracker.register(codingPath, keys: Set(o.keys))
        return KeyedDecodingContainer(StrictKeyed<Key>(object: o, id: id, decoder: self))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .array(let a) = value else { throw mismatch("a list") }
        return StrictUnkeyed(items: a, decoder: self)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { StrictSingle(decoder: self) }

    func child(_ v: JSONValue, _ key: any CodingKey) -> StrictDecoder {
        StrictDecoder(value: v, codingPath: codingPath + [key], tracker: tracker)
    }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        // Open-ended values (job parameters inside a job request) are taken whole.
        if T.self == JSONValue.self { return value as! T }
        if T.self == Date.self {
            guard case .string(let s) = value else { throw mismatch("an RFC 3339 timestamp") }
            guard let d = Timestamp.parse(s) else {
                throw DecodingError.dataCorrupted(
                    .init(codingPath: codingPath, debugDescription: "not an RFC 3339 timestamp: \(s)"))
            }
            return d as! T
        }
        return try T(from: self)
    }

    func integer<T: FixedWidthInteger>(_ type: T.Type) throws -> T {
        guard case .number(let n) = value else { throw mismatch("a whole number") }
        guard n.rounded() == n, let v = T(exactly: n) else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: codingPath, debugDescription: "\(n) is not a whole number in range for \(T.self)"))
        }
        return v
    }
}

extension JSONValue {
    var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "a list"
        case .object: "an object"
        }
    }
}

struct StrictKeyed<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let object: [String: JSONValue]
    let id: Int
    let decoder: StrictDecoder
    var codingPath: [any CodingKey] { decoder.codingPath }
    var allKeys: [Key] {
        object.keys.compactMap { k in
            Key(stringValue: k).map {
                decoder.tracker.use(id, k)
                return $0
            }
        }
    }

    func contains(_ key: Key) -> Bool {
        decoder.tracker.use(id, key.stringValue)
        return object[key.stringValue] != nil
    }

    func child(_ key: Key) throws -> StrictDecoder {
        decoder.tracker.use(id, key.stringValue)
        guard let v = object[key.stringValue] else {
            throw DecodingError.keyNotFound(
                key, .init(codingPath: codingPath, debugDescription: "missing \"\(key.stringValue)\""))
        }
        return decoder.child(v, key)
    }

    func decodeNil(forKey key: Key) throws -> Bool {
        decoder.tracker.use(id, key.stringValue)
        return object[key.stringValue].map { $0 == .null } ?? true
    }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T { try child(key).decode(type) }

    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        decoder.tracker.use(id, key.stringValue)
        guard let v = object[key.stringValue], v != .null else { return nil }
        return try decoder.child(v, key).decode(type)
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws
        -> KeyedDecodingContainer<NestedKey>
    {
        try child(key).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try child(key).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder { try child(Key(stringValue: "super")!) }
    func superDecoder(forKey key: Key) throws -> any Decoder { try child(key) }
}

struct StrictUnkeyed: UnkeyedDecodingContainer {
    let items: [JSONValue]
    let decoder: StrictDecoder
    var currentIndex = 0
    var codingPath: [any CodingKey] { decoder.codingPath }
    var count: Int? { items.count }
    var isAtEnd: Bool { currentIndex >= items.count }

    mutating func next() throws -> StrictDecoder {
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(
                Any.self, .init(codingPath: codingPath, debugDescription: "the list ended early"))
        }
        defer { currentIndex += 1 }
        return decoder.child(items[currentIndex], StrictKey(intValue: currentIndex))
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd, items[currentIndex] == .null else { return false }
        currentIndex += 1
        return true
    }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T { try next().decode(type) }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws
        -> KeyedDecodingContainer<NestedKey>
    {
        try next().container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer { try next().unkeyedContainer() }
    mutating func superDecoder() throws -> any Decoder { try next() }
}

struct StrictSingle: SingleValueDecodingContainer {
    let decoder: StrictDecoder
    var codingPath: [any CodingKey] { decoder.codingPath }

    func decodeNil() -> Bool { decoder.value == .null }

    func decode(_ type: Bool.Type) throws -> Bool {
        guard case .bool(let b) = decoder.value else { throw decoder.mismatch("true or false") }
        return b
    }

    func decode(_ type: String.Type) throws -> String {
        guard case .string(let s) = decoder.value else { throw decoder.mismatch("a string") }
        return s
    }

    func decode(_ type: Double.Type) throws -> Double {
        guard case .number(let n) = decoder.value else { throw decoder.mismatch("a number") }
        return n
    }

    func decode(_ type: Float.Type) throws -> Float { Float(try decode(Double.self)) }
    func decode(_ type: Int.Type) throws -> Int { try decoder.integer(type) }
    func decode(_ type: Int8.Type) throws -> Int8 { try decoder.integer(type) }
    func decode(_ type: Int16.Type) throws -> Int16 { try decoder.integer(type) }
    func decode(_ type: Int32.Type) throws -> Int32 { try decoder.integer(type) }
    func decode(_ type: Int64.Type) throws -> Int64 { try decoder.integer(type) }
    func decode(_ type: UInt.Type) throws -> UInt { try decoder.integer(type) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try decoder.integer(type) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try decoder.integer(type) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try decoder.integer(type) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try decoder.integer(type) }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try decoder.decode(type) }
}
