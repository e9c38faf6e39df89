/// A YAML node with the line it starts on. Every scalar is text; the config reader checks types by key.
indirect enum YAMLNode: Equatable, Sendable {
    case scalar(String, quoted: Bool, line: Int)
    case mapping([(key: String, keyLine: Int, value: YAMLNode)], line: Int)
    case sequence([YAMLNode], line: Int)

    var line: Int {
        switch self {
        case .scalar(_, _, let l), .mapping(_, let l), .sequence(_, let l): l
        }
    }

    /// A plain `~`, `null` or empty scalar.
    var isNull: Bool {
        if case .scalar(let s, false, _) = self { return ["", "~", "null", "Null", "NULL"].contains(s) }
        return false
    }

    static func == (a: YAMLNode, b: YAMLNode) -> Bool {
        switch (a, b) {
        case (.scalar(let x, let qx, _), .scalar(let y, let qy, _)): x == y && qx == qy
        case (.sequence(let x, _), .sequence(let y, _)): x == y
        case (.mapping(let x, _), .mapping(let y, _)):
            x.count == y.count && zip(x, y).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        default: false
        }
    }
}

struct YAMLError: Error, Equatable, Sendable {
    var line: Int
    var message: String
}

/// The YAML the agent's config needs, read strictly: block mappings and sequences, flow `{}` and `[]`
/// (also across lines), plain, single- and double-quoted scalars, `|` and `>` block scalars, comments,
/// one optional `---`. Anchors, aliases, tags, complex keys and several documents are refused with the
/// line. Duplicate keys are kept for the config reader to report.
struct YAMLReader {
    /// Collections nested deeper than this are refused: the agent's config needs five levels, and the
    /// reader (and the node tree's own comparisons) recurse once per level.
    static let maxDepth = 64

    private var lines: [Substring]
    private var row = 0
    private var depth = 0

    static func parse(_ text: String) throws(YAMLError) -> YAMLNode? {
        var r = YAMLReader(text)
        return try r.document()
    }

    private init(_ text: String) {
        var ls = text.split(separator: "\n", omittingEmptySubsequences: false)
        for i in ls.indices where ls[i].last == "\r" { ls[i] = ls[i].dropLast() }
        lines = ls
    }

    // MARK: Lines

    /// The line's content without a trailing comment, or nil for blank and comment-only lines.
    private static func content(_ line: Substring) -> Substring? {
        var s = line
        if let c = commentStart(s) { s = s[..<c] }
        while let last = s.last, last == " " || last == "\t" { s.removeLast() }
        return s.allSatisfy({ $0 == " " }) ? nil : s
    }

    /// Where a `#` comment starts: at the start of the line or after a space, outside quotes.
    private static func commentStart(_ s: Substring) -> Substring.Index? {
        var quote: Character?
        var prev: Character = " "
        var i = s.startIndex
        while i < s.endIndex {
            let c = s[i]
            if let q = quote {
                if c == q {
                    // '' inside single quotes is an escaped quote.
                    let next = s.index(after: i)
                    if q == "'", next < s.endIndex, s[next] == "'" {
                        i = s.index(after: next)
                        prev = c
                        continue
                    }
                    quote = nil
                } else if q == "\"", c == "\\" {
                    i = s.index(after: i)
                    if i < s.endIndex { i = s.index(after: i) }
                    continue
                }
            } else if c == "#", prev == " " || prev == "\t" {
                return i
            } else if c == "\"" || c == "'",
                prev == " " || prev == "\t" || prev == ":" || prev == "-" || prev == "[" || prev == "{"
                    || prev == ","
            {
                quote = c
            }
            prev = c
            i = s.index(after: i)
        }
        return nil
    }

    private static func indent(_ s: Substring) -> Int { s.prefix(while: { $0 == " " }).count }

    /// Skips blank and comment lines; returns the next line's index.
    private mutating func skipBlank() -> Int? {
        while row < lines.count {
            if Self.content(lines[row]) != nil { return row }
            row += 1
        }
        return nil
    }

    private func fail(_ line: Int, _ message: String) -> YAMLError { YAMLError(line: line + 1, message: message) }

    // MARK: Document

    private mutating func document() throws(YAMLError) -> YAMLNode? {
        for (i, l) in lines.enumerated()
        where l.first == "\t" || l.prefix(while: { $0 == " " || $0 == "\t" }).contains("\t") {
            if Self.content(l) != nil { throw fail(i, "a tab in the indentation; indent with spaces") }
        }
        guard let first = skipBlank() else { return nil }
        if Self.content(lines[first])! == "---" { row += 1 }
        guard let start = skipBlank() else { return nil }
        let node = try block(minIndent: 0, at: start)
        if let extra = skipBlank() {
            let c = Self.content(lines[extra])!
            if c == "---" || c == "..." { throw fail(extra, "more than one YAML document; keep one") }
            throw fail(extra, "unexpected text '\(c.trimmed)'; check the indentation")
        }
        return node
    }

    /// The block node starting at line `at`, indented at least `minIndent`.
    private mutating func block(minIndent: Int, at: Int) throws(YAMLError) -> YAMLNode {
        guard depth < Self.maxDepth else {
            throw fail(at, "collections nested deeper than \(Self.maxDepth) levels; flatten the config")
        }
        depth += 1
        defer { depth -= 1 }
        let c = Self.content(lines[at])!
        let ind = Self.indent(c)
        let body = c.dropFirst(ind)
        if body == "-" || body.hasPrefix("- ") { return try sequence(indent: ind) }
        if Self.keySplit(body) != nil { return try mapping(indent: ind) }
        // A lone scalar (or flow collection), possibly spanning lines.
        row = at
        return try inlineValue(Substring(body), column: ind, line: at, parentIndent: minIndent - 1)
    }

    /// Splits `key: value` (or `key:`) at the first `: ` / trailing `:` outside quotes and brackets.
    static func keySplit(_ s: Substring) -> (key: Substring, rest: Substring)? {
        var quote: Character?
        var depth = 0
        var i = s.startIndex
        while i < s.endIndex {
            let c = s[i]
            if let q = quote {
                if c == q { quote = nil }
            } else if c == "\"" || c == "'" {
                if i == s.startIndex { quote = c }
            } else if c == "[" || c == "{" {
                if i == s.startIndex { return nil }
                depth += 1
            } else if c == "]" || c == "}" {
                depth -= 1
            } else if c == ":", depth == 0 {
                let next = s.index(after: i)
                if next == s.endIndex || s[next] == " " { return (s[..<i], s[next...]) }
            }
            i = s.index(after: i)
        }
        return nil
    }

    private mutating func mapping(indent: Int) throws(YAMLError) -> YAMLNode {
        let startLine = row
        var pairs: [(key: String, keyLine: Int, value: YAMLNode)] = []
        while let at = skipBlank() {
            let c = Self.content(lines[at])!
            let ind = Self.indent(c)
            if ind < indent { break }
            if ind > indent { throw fail(at, "unexpected indentation; line it up with the keys above") }
            let body = c.dropFirst(ind)
            if body.hasPrefix("- ") || body == "-" || body == "---" || body == "..." { break }
            guard let (rawKey, rawRest) = Self.keySplit(body) else {
                throw fail(at, "expected 'key: value'; write the key, a colon and a space")
            }
            let key = try scalarText(rawKey.trimmed, line: at)
            row = at + 1
            let rest = rawRest.drop(while: { $0 == " " })
            let value: YAMLNode
            if rest.isEmpty {
                // The value is on the next lines: deeper, or a sequence at the same indent.
                if let next = skipBlank() {
                    let nc = Self.content(lines[next])!
                    let ni = Self.indent(nc)
                    let nb = nc.dropFirst(ni)
                    if ni > indent || (ni == indent && (nb.hasPrefix("- ") || nb == "-")) {
                        value = try block(minIndent: indent + 1, at: next)
                    } else {
                        value = .scalar("", quoted: false, line: at + 1)
                    }
                } else {
                    value = .scalar("", quoted: false, line: at + 1)
                }
            } else {
                row = at
                let column = ind + (body.count - rest.count)
                value = try inlineValue(rest, column: column, line: at, parentIndent: indent)
            }
            pairs.append((key.text, at + 1, value))
        }
        return .mapping(pairs, line: startLine + 1)
    }

    private mutating func sequence(indent: Int) throws(YAMLError) -> YAMLNode {
        let startLine = row
        var items: [YAMLNode] = []
        while let at = skipBlank() {
            let c = Self.content(lines[at])!
            let ind = Self.indent(c)
            if ind < indent { break }
            if ind > indent { throw fail(at, "unexpected indentation in a list; line the '-' up with the items above") }
            let body = c.dropFirst(ind)
            guard body == "-" || body.hasPrefix("- ") else { break }
            let rest = body.dropFirst().drop(while: { $0 == " " })
            row = at + 1
            if rest.isEmpty {
                if let next = skipBlank(), Self.indent(Self.content(lines[next])!) > indent {
                    items.append(try block(minIndent: indent + 1, at: next))
                } else {
                    items.append(.scalar("", quoted: false, line: at + 1))
                }
                continue
            }
            let column = ind + (body.count - rest.count)
            if Self.keySplit(rest) != nil, !(rest.first == "[" || rest.first == "{") {
                // "- key: value" starts a mapping whose keys line up with "key".
                items.append(try mappingInSequence(firstLine: at, column: column))
            } else {
                row = at
                items.append(try inlineValue(rest, column: column, line: at, parentIndent: indent))
            }
        }
        return .sequence(items, line: startLine + 1)
    }

    /// A mapping that starts after "- " on `firstLine`, with its keys at `column`.
    private mutating func mappingInSequence(firstLine: Int, column: Int) throws(YAMLError) -> YAMLNode {
        // Read it as if the "- " were spaces (patched in place, not copied: a long list stays linear).
        guard depth < Self.maxDepth else {
            throw fail(firstLine, "collections nested deeper than \(Self.maxDepth) levels; flatten the config")
        }
        depth += 1
        let original = lines[firstLine]
        lines[firstLine] = Substring(String(repeating: " ", count: column)) + original.dropFirst(column)
        defer {
            lines[firstLine] = original
            depth -= 1
        }
        row = firstLine
        return try mapping(indent: column)
    }

    // MARK: Values on a line

    /// A value that starts on `line` at `column`: a scalar, a quoted string, a flow collection (which may
    /// continue on following lines), or a block scalar indicator.
    private mutating func inlineValue(_ text: Substring, column: Int, line: Int, parentIndent: Int) throws(YAMLError)
        -> YAMLNode
    {
        let t = text.trimmed
        if t.hasPrefix("&") || t.hasPrefix("*") {
            throw fail(line, "anchors and aliases are not supported here; repeat the value")
        }
        if t.hasPrefix("!") {
            throw fail(line, "tags are not supported here; remove '\(t.prefix(while: { $0 != " " }))'")
        }
        if t.hasPrefix("? ") || t == "?" { throw fail(line, "complex keys are not supported; use plain keys") }
        if t.hasPrefix("|") || t.hasPrefix(">") {
            row = line + 1
            return try blockScalar(indicator: String(t), line: line, parentIndent: parentIndent)
        }
        if t.hasPrefix("[") || t.hasPrefix("{") {
            // Gather lines until the brackets balance.
            var collected = String(t)
            var last = line
            while !Self.balanced(collected) {
                last += 1
                guard last < lines.count else { throw fail(line, "unclosed '\(t.first!)'; close the flow collection") }
                if let c = Self.content(lines[last]) { collected += " " + c.trimmed }
            }
            row = last + 1
            var p = FlowParser(Array(collected), line: line + 1, depth: depth)
            let node = try p.value()
            p.skipSpaces()
            guard p.atEnd else { throw fail(line, "unexpected text after the flow collection") }
            return node
        }
        row = line + 1
        if t.first == "\"" || t.first == "'" {
            let s = try scalarText(t, line: line)
            return .scalar(s.text, quoted: true, line: line + 1)
        }
        // A plain scalar may continue on more-indented lines (folded with spaces).
        var value = String(t)
        while let next = skipBlank() {
            let c = Self.content(lines[next])!
            guard Self.indent(c) > parentIndent, Self.keySplit(c.trimmed[...]) == nil, !c.trimmed.hasPrefix("- ") else {
                break
            }
            value += " " + c.trimmed
            row = next + 1
        }
        return .scalar(value, quoted: false, line: line + 1)
    }

    static func balanced(_ s: String) -> Bool {
        var depth = 0
        var quote: Character?
        var escaped = false
        for c in s {
            if let q = quote {
                if escaped {
                    escaped = false
                } else if c == "\\", q == "\"" {
                    escaped = true
                } else if c == q {
                    quote = nil
                }
            } else if c == "\"" || c == "'" {
                quote = c
            } else if c == "[" || c == "{" {
                depth += 1
            } else if c == "]" || c == "}" {
                depth -= 1
            }
        }
        return depth <= 0 && quote == nil
    }

    /// `|`, `|-`, `|+`, `>`, `>-`, `>+`: the following more-indented lines.
    private mutating func blockScalar(indicator: String, line: Int, parentIndent: Int) throws(YAMLError) -> YAMLNode {
        let folded = indicator.first == ">"
        let chomp = indicator.dropFirst().first
        guard indicator.count <= 2, chomp == nil || chomp == "-" || chomp == "+" else {
            throw fail(line, "block scalar indicator '\(indicator)' is not supported; use |, |-, > or >-")
        }
        var body: [Substring] = []
        var blockIndent: Int?
        while row < lines.count {
            let l = lines[row]
            if l.allSatisfy({ $0 == " " }) {
                body.append("")
                row += 1
                continue
            }
            let ind = Self.indent(l)
            if ind <= parentIndent { break }
            if blockIndent == nil { blockIndent = ind }
            if ind < blockIndent! { break }
            body.append(l.dropFirst(blockIndent!))
            row += 1
        }
        var trailing = 0
        while let last = body.last, last.isEmpty {
            body.removeLast()
            trailing += 1
        }
        var text: String
        if folded {
            // Lines join with a space; each blank line stands for one line break.
            text = ""
            for (i, l) in body.enumerated() {
                if i == 0 {
                    text += l
                } else if l.isEmpty {
                    text += "\n"
                } else {
                    text += (body[i - 1].isEmpty ? "" : " ") + l
                }
            }
        } else {
            text = body.joined(separator: "\n")
        }
        switch chomp {
        case "-": break
        case "+": text += String(repeating: "\n", count: trailing + (body.isEmpty ? 0 : 1))
        default: if !body.isEmpty { text += "\n" }
        }
        return .scalar(text, quoted: true, line: line + 1)
    }

    /// A key or scalar as written: plain, or quoted with its escapes resolved.
    private func scalarText(_ s: Substring, line: Int) throws(YAMLError) -> (text: String, quoted: Bool) {
        guard let q = s.first, q == "\"" || q == "'" else {
            if s.hasPrefix("&") || s.hasPrefix("*") || s.hasPrefix("!") {
                throw fail(line, "anchors, aliases and tags are not supported here")
            }
            return (String(s), false)
        }
        var p = FlowParser(Array(s), line: line + 1)
        let v = try p.quoted()
        p.skipSpaces()
        guard p.atEnd else { throw fail(line, "unexpected text after a quoted string") }
        return (v, true)
    }
}

/// Flow collections and quoted strings, character by character.
private struct FlowParser {
    let c: [Character]
    var i = 0
    let line: Int
    /// How deep the collection being read is, counting the block levels around it.
    var depth: Int

    init(_ c: [Character], line: Int, depth: Int = 0) {
        self.c = c
        self.line = line
        self.depth = depth
    }

    /// Reads a nested value one level down, refusing to go past the reader's limit.
    mutating func nested() throws(YAMLError) -> YAMLNode {
        guard depth < YAMLReader.maxDepth else {
            throw fail("collections nested deeper than \(YAMLReader.maxDepth) levels; flatten the config")
        }
        depth += 1
        defer { depth -= 1 }
        return try value()
    }

    var atEnd: Bool { i >= c.count }

    mutating func skipSpaces() { while i < c.count, c[i] == " " || c[i] == "\t" { i += 1 } }

    func fail(_ m: String) -> YAMLError { YAMLError(line: line, message: m) }

    mutating func value() throws(YAMLError) -> YAMLNode {
        skipSpaces()
        guard i < c.count else { return .scalar("", quoted: false, line: line) }
        switch c[i] {
        case "[":
            i += 1
            var items: [YAMLNode] = []
            while true {
                skipSpaces()
                guard i < c.count else { throw fail("unclosed '['") }
                if c[i] == "]" {
                    i += 1
                    return .sequence(items, line: line)
                }
                items.append(try nested())
                skipSpaces()
                guard i < c.count else { throw fail("unclosed '['") }
                if c[i] == "," {
                    i += 1
                } else if c[i] != "]" {
                    throw fail("expected ',' or ']' in a flow list")
                }
            }
        case "{":
            i += 1
            var pairs: [(key: String, keyLine: Int, value: YAMLNode)] = []
            while true {
                skipSpaces()
                guard i < c.count else { throw fail("unclosed '{'") }
                if c[i] == "}" {
                    i += 1
                    return .mapping(pairs, line: line)
                }
                let key: String
                if c[i] == "\"" || c[i] == "'" {
                    key = try quoted()
                } else {
                    key = plain(stops: [":", ",", "}"]).trimmed
                }
                skipSpaces()
                var v = YAMLNode.scalar("", quoted: false, line: line)
                if i < c.count, c[i] == ":" {
                    i += 1
                    v = try nested()
                }
                pairs.append((key, line, v))
                skipSpaces()
                guard i < c.count else { throw fail("unclosed '{'") }
                if c[i] == "," {
                    i += 1
                } else if c[i] != "}" {
                    throw fail("expected ',' or '}' in a flow mapping")
                }
            }
        case "\"", "'":
            return .scalar(try quoted(), quoted: true, line: line)
        case "&", "*", "!":
            throw fail("anchors, aliases and tags are not supported here")
        default:
            return .scalar(plain(stops: [",", "]", "}"]).trimmed, quoted: false, line: line)
        }
    }

    /// Plain text up to a stop character (a ':' stops only when followed by a space or a stop).
    mutating func plain(stops: Set<Character>) -> String {
        var out = ""
        while i < c.count {
            let ch = c[i]
            if ch == ":", stops.contains(":") {
                let next = i + 1 < c.count ? c[i + 1] : " "
                if next == " " || next == "," || next == "}" || next == "]" { break }
            } else if stops.contains(ch) {
                break
            }
            out.append(ch)
            i += 1
        }
        return out
    }

    mutating func quoted() throws(YAMLError) -> String {
        let q = c[i]
        i += 1
        var out = ""
        while i < c.count {
            let ch = c[i]
            if q == "'" {
                if ch == "'" {
                    if i + 1 < c.count, c[i + 1] == "'" {
                        out.append("'")
                        i += 2
                        continue
                    }
                    i += 1
                    return out
                }
                out.append(ch)
                i += 1
                continue
            }
            if ch == "\"" {
                i += 1
                return out
            }
            if ch == "\\" {
                i += 1
                guard i < c.count else { break }
                let e = c[i]
                i += 1
                switch e {
                case "n": out.append("\n")
                case "t": out.append("\t")
                case "r": out.append("\r")
                case "0": out.append("\0")
                case "\\": out.append("\\")
                case "\"": out.append("\"")
                case "/": out.append("/")
                case " ": out.append(" ")
                case "x", "u", "U":
                    let n = e == "x" ? 2 : e == "u" ? 4 : 8
                    guard i + n <= c.count, let v = UInt32(String(c[i..<(i + n)]), radix: 16), let u = Unicode.Scalar(v)
                    else {
                        throw fail("bad \\\(e) escape in a double-quoted string")
                    }
                    out.unicodeScalars.append(u)
                    i += n
                default:
                    throw fail("unknown escape \\\(e) in a double-quoted string; write \\\\ for a backslash")
                }
                continue
            }
            out.append(ch)
            i += 1
        }
        throw fail("unterminated \(q == "'" ? "single" : "double")-quoted string; close the quote")
    }
}

extension Substring {
    var trimmed: Substring {
        var s = self
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" { s.removeLast() }
        return s
    }
}

extension String {
    var trimmed: String { String(Substring(self).trimmed) }
}
