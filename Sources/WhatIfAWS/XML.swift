import WhatIfUnits

/// An XML element as AWS's query and REST protocols return them: a name (namespace prefix dropped),
/// attributes, child elements and text. Mixed content keeps only the text.
public struct XMLElement: Sendable, Equatable {
    package var name: String
    package var attributes: [String: String] = [:]
    package var children: [XMLElement] = []
    public var text: String = ""

    package func child(_ name: String) -> XMLElement? { children.first { $0.name == name } }
    package func all(_ name: String) -> [XMLElement] { children.filter { $0.name == name } }

    /// Follows a path of child names: `root.path("DescribeDBInstancesResult", "DBInstances")`.
    package func path(_ names: String...) -> XMLElement? {
        var e: XMLElement? = self
        for n in names { e = e?.child(n) }
        return e
    }

    /// The text of a child, if present.
    package subscript(_ name: String) -> String? { child(name)?.text }

    /// Depth-first search for the first element named `name`.
    public func first(_ name: String) -> XMLElement? {
        if self.name == name { return self }
        for c in children {
            if let f = c.first(name) { return f }
        }
        return nil
    }
}

public struct XMLParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
    package var offset: Int
}

/// A small, strict XML parser for service responses. Refuses DTDs (no entity expansion), limits depth,
/// and never crashes on any input (it has a fuzz target).
public struct XMLReader {
    package static let maxDepth = 64

    public static func parse(_ bytes: [UInt8]) throws(XMLParseError) -> XMLElement {
        var r = XMLReader(bytes)
        return try r.document()
    }

    public static func parse(_ text: String) throws(XMLParseError) -> XMLElement {
        try parse(Array(text.utf8))
    }

    private let b: [UInt8]
    private var i = 0

    private init(_ bytes: [UInt8]) {
        b = bytes
        // Skip a UTF-8 byte order mark.
        if b.count >= 3, b[0] == 0xEF, b[1] == 0xBB, b[2] == 0xBF { i = 3 }
    }

    private func fail(_ what: String) -> XMLParseError { XMLParseError(description: "\(what) at byte \(i)", offset: i) }

    private mutating func document() throws(XMLParseError) -> XMLElement {
        try misc()
        guard i < b.count, b[i] == UInt8(ascii: "<") else { throw fail("expected the root element") }
        let root = try element(depth: 0)
        try misc()
        guard i == b.count else { throw fail("content after the root element") }
        return root
    }

    /// Whitespace, comments and processing instructions (including the XML declaration).
    private mutating func misc() throws(XMLParseError) {
        while true {
            skipSpace()
            if starts("<?") {
                try skip(past: "?>")
            } else if starts("<!--") {
                try skip(past: "-->")
            } else if starts("<!") {
                throw fail("DTDs and declarations are not accepted")
            } else {
                return
            }
        }
    }

    private func starts(_ s: StaticString) -> Bool {
        let n = s.utf8CodeUnitCount
        guard i + n <= b.count else { return false }
        let p = s.utf8Start
        for k in 0..<n where b[i + k] != p[k] { return false }
        return true
    }

    private mutating func skip(past s: StaticString) throws(XMLParseError) {
        while i < b.count {
            if starts(s) {
                i += s.utf8CodeUnitCount
                return
            }
            i += 1
        }
        throw fail("unterminated construct")
    }

    private mutating func skipSpace() {
        while i < b.count, b[i] == 32 || b[i] == 9 || b[i] == 10 || b[i] == 13 { i += 1 }
    }

    private static func isNameByte(_ c: UInt8) -> Bool {
        (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c == 95 || c == 45 || c == 46
            || c == 58 || c >= 0x80
    }

    private mutating func name() throws(XMLParseError) -> String {
        let start = i
        while i < b.count, Self.isNameByte(b[i]) { i += 1 }
        guard i > start else { throw fail("expected a name") }
        return String(decoding: b[start..<i], as: UTF8.self)
    }

    private static func localName(_ qname: String) -> String {
        if let colon = qname.lastIndex(of: ":") { return String(qname[qname.index(after: colon)...]) }
        return qname
    }

    private mutating func element(depth: Int) throws(XMLParseError) -> XMLElement {
        guard depth < Self.maxDepth else { throw fail("elements nested deeper than \(Self.maxDepth)") }
        i += 1  // <
        let qname = try name()
        var e = XMLElement(name: Self.localName(qname))
        // Attributes.
        while true {
            skipSpace()
            guard i < b.count else { throw fail("unterminated start tag") }
            if b[i] == UInt8(ascii: "/") {
                guard i + 1 < b.count, b[i + 1] == UInt8(ascii: ">") else { throw fail("expected />") }
                i += 2
                return e
            }
            if b[i] == UInt8(ascii: ">") {
                i += 1
                break
            }
            let attr = try name()
            skipSpace()
            guard i < b.count, b[i] == UInt8(ascii: "=") else { throw fail("expected = after attribute \(attr)") }
            i += 1
            skipSpace()
            guard i < b.count, b[i] == 34 || b[i] == 39 else { throw fail("expected a quoted attribute value") }
            let quote = b[i]
            i += 1
            let start = i
            while i < b.count, b[i] != quote {
                if b[i] == UInt8(ascii: "<") { throw fail("< in attribute value") }
                i += 1
            }
            guard i < b.count else { throw fail("unterminated attribute value") }
            e.attributes[attr] = try Self.unescape(b[start..<i], at: start)
            i += 1
        }
        // Content.
        var text: [UInt8] = []
        while true {
            guard i < b.count else { throw fail("unterminated element <\(qname)>") }
            if b[i] == UInt8(ascii: "<") {
                if starts("</") {
                    i += 2
                    let end = try name()
                    guard end == qname else { throw fail("</\(end)> closes <\(qname)>") }
                    skipSpace()
                    guard i < b.count, b[i] == UInt8(ascii: ">") else { throw fail("expected >") }
                    i += 1
                    e.text = String(decoding: text, as: UTF8.self)
                    if !e.children.isEmpty, e.text.allSatisfy({ $0.isWhitespace }) { e.text = "" }
                    return e
                } else if starts("<!--") {
                    try skip(past: "-->")
                } else if starts("<![CDATA[") {
                    i += 9
                    let start = i
                    while i < b.count, !starts("]]>") { i += 1 }
                    guard i < b.count else { throw fail("unterminated CDATA") }
                    text += b[start..<i]
                    i += 3
                } else if starts("<?") {
                    try skip(past: "?>")
                } else if starts("<!") {
                    throw fail("declarations are not accepted inside elements")
                } else {
                    e.children.append(try element(depth: depth + 1))
                }
            } else {
                let start = i
                while i < b.count, b[i] != UInt8(ascii: "<") { i += 1 }
                text += try Self.unescape(b[start..<i], at: start).utf8
            }
        }
    }

    private static func unescape(_ s: ArraySlice<UInt8>, at offset: Int) throws(XMLParseError) -> String {
        guard s.contains(UInt8(ascii: "&")) else { return String(decoding: s, as: UTF8.self) }
        var out: [UInt8] = []
        out.reserveCapacity(s.count)
        var k = s.startIndex
        while k < s.endIndex {
            let c = s[k]
            guard c == UInt8(ascii: "&") else {
                out.append(c)
                k += 1
                continue
            }
            guard let semi = s[k...].firstIndex(of: UInt8(ascii: ";")), semi - k <= 12 else {
                throw XMLParseError(description: "bad entity at byte \(k)", offset: k)
            }
            let ent = String(decoding: s[(k + 1)..<semi], as: UTF8.self)
            switch ent {
            case "amp": out.append(UInt8(ascii: "&"))
            case "lt": out.append(UInt8(ascii: "<"))
            case "gt": out.append(UInt8(ascii: ">"))
            case "quot": out.append(34)
            case "apos": out.append(39)
            default:
                var scalar: UInt32?
                if ent.hasPrefix("#x") || ent.hasPrefix("#X") {
                    scalar = UInt32(ent.dropFirst(2), radix: 16)
                } else if ent.hasPrefix("#") {
                    scalar = UInt32(ent.dropFirst(1), radix: 10)
                }
                guard let v = scalar, let u = Unicode.Scalar(v) else {
                    throw XMLParseError(description: "unknown entity &\(ent); at byte \(k)", offset: k)
                }
                out += Array(String(Character(u)).utf8)
            }
            k = semi + 1
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// Escapes text for XML content or attribute values.
package func xmlEscape(_ s: String) -> String { Markup.escape(s) }
