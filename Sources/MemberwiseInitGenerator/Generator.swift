// The build tool behind Plugins/MemberwiseInit. Swift synthesises a struct's memberwise initialiser as
// internal only; a struct that says `// memberwise-init: public` (or `package`) in its body gets a public
// (package) one from here, with the parameters Swift would give it: the stored properties in declaration
// order, a `var`'s initial value (or `nil` for an optional `var`) as the default, a `let` with a value
// left out, a function type `@escaping`. A struct that says `// coding-keys: PascalCase` gets the
// CodingKeys of AWS's JSON shapes: each property Codable codes, under its name with the first letter
// upper-cased. A struct that says `// decodable: defaults` gets an `init(from:)` in which a key that is
// absent takes the property's declared default (`var dryRun: Bool = false`), as an optional takes nil:
// Swift's synthesised one requires every non-optional key, defaults or not.
//
// The generated initialiser cannot be declared on the struct itself (it would redeclare the synthesised
// one), so it is declared on `MemberwiseInitializable` constrained to `Self ==` the struct, and it calls
// the synthesised one. That needs the synthesised one to exist and be visible from another file, so a
// marked struct may not declare an initialiser in its body nor have private stored properties, and its
// stored properties are written with their types: the tool refuses anything else, naming the line.
//
// Usage: MemberwiseInitGenerator <output.swift> <input.swift>... (a module's files). It reads the source as text with string
// contents and comments blanked (enough for code formatted by swift-format) and has no dependencies, so
// it builds in seconds as a host tool.
import Foundation

struct Failure: Error, CustomStringConvertible {
    var description: String
}

/// The source with the contents of string literals and comments replaced by spaces (newlines kept), so
/// that braces and keywords are read only where they are code. The same length as the input.
func blankStringsAndComments(_ s: [UInt8]) -> [UInt8] {
    enum Mode {
        case code(interpolationDepth: Int?)
        case string(multiline: Bool, hashes: Int)
        case blockComment(depth: Int)
    }
    let quote = UInt8(ascii: "\"")
    let hash = UInt8(ascii: "#")
    let slash = UInt8(ascii: "/")
    let star = UInt8(ascii: "*")
    let backslash = UInt8(ascii: "\\")
    let newline = UInt8(ascii: "\n")
    var out = s
    var stack: [Mode] = [.code(interpolationDepth: nil)]
    var i = 0
    func at(_ j: Int) -> UInt8 { j < s.count ? s[j] : 0 }
    func blank(_ from: Int, _ to: Int) {
        for j in from..<min(to, s.count) where out[j] != newline { out[j] = UInt8(ascii: " ") }
    }
    func isTripleQuote(_ j: Int) -> Bool { at(j) == quote && at(j + 1) == quote && at(j + 2) == quote }
    while i < s.count {
        switch stack[stack.count - 1] {
        case .code(let depth):
            let c = s[i]
            if c == slash && at(i + 1) == slash {
                var j = i
                while j < s.count && s[j] != newline { j += 1 }
                blank(i, j)
                i = j
            } else if c == slash && at(i + 1) == star {
                stack.append(.blockComment(depth: 1))
                blank(i, i + 2)
                i += 2
            } else if c == quote || c == hash {
                var j = i
                while at(j) == hash { j += 1 }
                guard at(j) == quote else {
                    i = j
                    continue
                }
                let multiline = isTripleQuote(j)
                stack.append(.string(multiline: multiline, hashes: j - i))
                i = j + (multiline ? 3 : 1)
            } else if c == UInt8(ascii: "("), let depth {
                stack[stack.count - 1] = .code(interpolationDepth: depth + 1)
                i += 1
            } else if c == UInt8(ascii: ")"), let depth {
                if depth == 0 {
                    stack.removeLast()
                    blank(i, i + 1)
                } else {
                    stack[stack.count - 1] = .code(interpolationDepth: depth - 1)
                }
                i += 1
            } else {
                i += 1
            }
        case .blockComment(let depth):
            if s[i] == slash && at(i + 1) == star {
                stack[stack.count - 1] = .blockComment(depth: depth + 1)
                blank(i, i + 2)
                i += 2
            } else if s[i] == star && at(i + 1) == slash {
                if depth == 1 { stack.removeLast() } else { stack[stack.count - 1] = .blockComment(depth: depth - 1) }
                blank(i, i + 2)
                i += 2
            } else {
                blank(i, i + 1)
                i += 1
            }
        case .string(let multiline, let hashes):
            let delimiter = multiline ? 3 : 1
            if s[i] == backslash && (0..<hashes).allSatisfy({ at(i + 1 + $0) == hash }) {
                let next = i + 1 + hashes
                blank(i, next + 1)
                if at(next) == UInt8(ascii: "(") { stack.append(.code(interpolationDepth: 0)) }
                i = next + 1
            } else if (multiline ? isTripleQuote(i) : s[i] == quote)
                && (0..<hashes).allSatisfy({ at(i + delimiter + $0) == hash })
            {
                stack.removeLast()
                i += delimiter + hashes
            } else if s[i] == newline && !multiline {
                stack.removeLast()
            } else {
                blank(i, i + 1)
                i += 1
            }
        }
    }
    return out
}

struct Property {
    var name: String
    var type: String
    var defaultValue: String?
}

/// A type declaration's body: its name, and the names declared directly in it (nested types, type
/// aliases, static members), which the generated code, outside the type, must qualify.
struct Scope {
    var qualifiedName: String?
    var isStruct: Bool
    var members: Set<String> = []
    /// A struct's stored properties, in order, and what the generator cannot read among them.
    var properties: [Property] = []
    var problems: [String] = []
    /// Where the body declares an initialiser (then Swift synthesises no memberwise one).
    var initializerLine: Int?
    /// Every stored property that Codable codes (all but a `let` with a value), for `// coding-keys`.
    var codedNames: [String] = []
}

/// A struct's marker: `// memberwise-init: public|package`, `// coding-keys: PascalCase` or
/// `// decodable: defaults`.
struct Mark {
    enum Kind: Equatable {
        case memberwiseInit(access: String)
        case codingKeys
        case decodableWithDefaults

        /// The marker's name: a struct carries each at most once.
        var marker: String {
            switch self {
            case .memberwiseInit: "memberwise-init"
            case .codingKeys: "coding-keys"
            case .decodableWithDefaults: "decodable"
            }
        }
    }
    var kind: Kind
    /// The scopes from the file's outermost type to the struct's body.
    var scopes: [Int]
    var line: Int
}

/// The first top-level (outside brackets) ` = ` in a declaration's tail, or nil.
func topLevelAssignment(_ text: [Character]) -> Int? {
    var depth = 0
    for (i, c) in text.enumerated() {
        switch c {
        case "(", "[", "<", "{": depth += 1
        case ")", "]", "}": depth -= 1
        case ">" where i == 0 || text[i - 1] != "-": depth -= 1
        case "=" where depth == 0 && i > 0 && text[i - 1] == " " && i + 1 < text.count && text[i + 1] == " ":
            return i
        default: break
        }
    }
    return nil
}

/// Whether a parameter of this type must be `@escaping`: a function type that is not optional.
func isFunctionType(_ type: String) -> Bool {
    var t = Substring(type)
    while t.hasPrefix("@") {
        guard let space = t.firstIndex(of: " ") else { return false }
        t = t[t.index(after: space)...]
    }
    guard t.hasPrefix("(") else { return false }
    var depth = 0
    for (i, c) in zip(t.indices, t) {
        if c == "(" { depth += 1 }
        if c == ")" {
            depth -= 1
            if depth == 0 { return t[t.index(after: i)...].contains("->") }
        }
    }
    return false
}

/// `text` with each identifier that names a member of an enclosing scope (innermost first) qualified
/// by that scope's name; identifiers after a `.` are left alone.
func qualify(_ text: String, in scopes: [Scope]) -> String {
    var out = ""
    var word = ""
    var previous: Character = " "
    func flush() {
        if !word.isEmpty, previous != ".", let scope = scopes.last(where: { $0.members.contains(word) }),
            let name = scope.qualifiedName
        {
            out += name + "." + word
        } else {
            out += word
        }
        if let last = word.last { previous = last }
        word = ""
    }
    for c in text {
        if c.isLetter || c == "_" || (c.isNumber && !word.isEmpty) {
            word.append(c)
        } else {
            flush()
            out.append(c)
            previous = c
        }
    }
    flush()
    return out
}

struct Parsed {
    var imports: [String] = []
    var scopes: [Scope] = []
    var marks: [Mark] = []
}

/// The file's imports as it writes them, from its top to its first other declaration: each `import`
/// line, and each `#if ... #endif` block of imports whole (`#if canImport(FoundationEssentials)` must
/// stay conditional: importing Foundation itself links its internationalization and ICU's data).
func importChunks(lines: [String], code: [String]) -> [String] {
    let isImport = { (c: String) in
        c.range(
            of: #"^\s*(?:@\w+\s+)*(?:public\s+|package\s+|internal\s+)?import\s+\w"#, options: .regularExpression)
            != nil
    }
    let directive = { (c: String) -> String? in
        c.range(of: #"^\s*#(if|elseif|else|endif)\b"#, options: .regularExpression).map {
            String(c[$0]).trimmingCharacters(in: .whitespaces)
        }
    }
    var chunks: [String] = []
    var block: [String] = []
    var depth = 0
    for (line, c) in zip(lines, code) {
        let trimmed = c.trimmingCharacters(in: .whitespaces)
        if let d = directive(c) {
            if d.hasPrefix("#if") { depth += 1 }
            block.append(line.trimmingCharacters(in: .whitespaces))
            if d.hasPrefix("#endif") {
                depth -= 1
                if depth == 0 {
                    chunks.append(block.joined(separator: "\n"))
                    block = []
                }
            }
        } else if isImport(c) {
            let text = line.trimmingCharacters(in: .whitespaces)
            if depth > 0 { block.append("    " + text) } else { chunks.append(text) }
        } else if !trimmed.isEmpty {
            break
        }
    }
    return chunks
}

/// One stored property of a struct's body: the name Codable codes it under, and for the memberwise
/// initialiser its parameter, or why the generator cannot make one (kept, and raised only if the struct is
/// marked `// memberwise-init`).
func readProperty(
    keyword: String, name: String, attributes: String, modifiers: String, typed: Bool,
    tail: (text: String, start: Int)?, line: String, place: String, into scope: inout Scope
) {
    let tailText = tail?.text ?? ""
    guard !(keyword == "let" && tailText.contains(" = ")) else { return }  // a `let` with a value: neither
    scope.codedNames.append(name)
    func problem(_ text: String) { scope.problems.append("\(place): \(name): \(text)") }
    guard typed, let tail else { return problem("write its type (`\(keyword) \(name): Type`)") }
    // Type and default are read from the original line at the blanked one's positions.
    let utf16 = Array(line.utf16)
    let text = Array(String(decoding: utf16[tail.start..<(tail.start + tail.text.utf16.count)], as: UTF16.self))
    var type = String(text)
    var defaultValue: String?
    if let eq = topLevelAssignment(Array(tail.text)) {
        type = String(text[..<eq]).trimmingCharacters(in: .whitespaces)
        defaultValue = String(text[(eq + 1)...]).trimmingCharacters(in: .whitespaces)
    }
    if !attributes.isEmpty {
        problem("a property with an attribute is not supported; write the initialiser by hand")
    } else if modifiers.contains("private") {
        problem("private to its file, and the generated initialiser is in another; make it internal or wider")
    } else if let last = (defaultValue ?? type).last, "([{,=.+-*&|".contains(last) {
        problem("declared over several lines; write it on one")
    } else {
        if keyword == "var" && defaultValue == nil && type.hasSuffix("?") { defaultValue = "nil" }
        scope.properties.append(Property(name: name, type: type, defaultValue: defaultValue))
    }
}

func parse(input: String) throws -> Parsed {
    let original = try String(contentsOfFile: input, encoding: .utf8)
    let blanked = String(decoding: blankStringsAndComments(Array(original.utf8)), as: UTF8.self)
    let lines = original.components(separatedBy: "\n")
    let code = blanked.components(separatedBy: "\n")
    guard lines.count == code.count else { throw Failure(description: "\(input): could not read its lines") }

    let declaration = try NSRegularExpression(
        pattern: #"(?:^|\s)(struct|class|enum|actor|extension|protocol)\s+([A-Za-z_][A-Za-z0-9_.]*)(<)?"#)
    let member = try NSRegularExpression(
        pattern: #"(?:^|\s)(?:typealias\s+(\w+)|static\s+(?:let|var|func)\s+(\w+))"#)
    let property = try NSRegularExpression(
        pattern:
            #"^\s*((?:@\w+(?:\([^)]*\))?\s+)*)((?:(?:public|package|internal|private|fileprivate)(?:\(set\))?\s+|nonisolated\s+|weak\s+|unowned\s+)*)(var|let)\s+(\w+)(\s*:\s*)?(.*?)\s*$"#
    )
    let initializer = try NSRegularExpression(pattern: #"^\s*(?:[a-z]+\s+)*init[?!]?[(<]"#)
    let marker = try NSRegularExpression(pattern: #"^\s*// (memberwise-init|coding-keys|decodable): (\w+)\s*$"#)
    /// Each group's text and its start (a UTF-16 offset), or nil without a match.
    func groups(_ re: NSRegularExpression, _ s: String) -> [(text: String, start: Int)?]? {
        let ns = s as NSString
        guard let m = re.firstMatch(in: s, range: NSRange(location: 0, length: ns.length)) else { return nil }
        return (1..<m.numberOfRanges).map {
            let r = m.range(at: $0)
            return r.location == NSNotFound ? nil : (ns.substring(with: r), r.location)
        }
    }

    var result = Parsed()
    result.imports = importChunks(lines: lines, code: code)
    var stack: [Int?] = []  // open braces: the scope of a type body, or nil
    var pending: (name: String, isStruct: Bool, generic: Bool)?
    for (n, (line, c)) in zip(lines, code).enumerated() {
        let place = "\(input):\(n + 1)"
        if let m = groups(marker, line), let name = m[0]?.text, let value = m[1]?.text {
            let kind: Mark.Kind
            switch (name, value) {
            case ("memberwise-init", "public"), ("memberwise-init", "package"): kind = .memberwiseInit(access: value)
            case ("coding-keys", "PascalCase"): kind = .codingKeys
            case ("decodable", "defaults"): kind = .decodableWithDefaults
            case ("memberwise-init", _):
                throw Failure(description: "\(place): `// memberwise-init: \(value)`: write public or package")
            case ("decodable", _):
                throw Failure(description: "\(place): `// decodable: \(value)`: the one form is defaults")
            default:
                throw Failure(description: "\(place): `// coding-keys: \(value)`: the one style is PascalCase")
            }
            guard let scope = stack.last ?? nil, result.scopes[scope].isStruct else {
                throw Failure(description: "\(place): `// \(name)` belongs directly in a struct's body")
            }
            guard !result.marks.contains(where: { $0.scopes.last == scope && $0.kind.marker == name }) else {
                throw Failure(description: "\(place): a second `// \(name)` in the same struct")
            }
            guard stack.allSatisfy({ $0 != nil }) else {
                throw Failure(description: "\(place): a type inside a function cannot be extended")
            }
            result.marks.append(Mark(kind: kind, scopes: stack.compactMap { $0 }, line: n + 1))
        }
        if let scope = stack.last ?? nil, result.scopes[scope].isStruct {
            if groups(initializer, c) != nil { result.scopes[scope].initializerLine = n + 1 }
            if let p = groups(property, c), let keyword = p[2]?.text, let name = p[3]?.text, !c.contains("{"),
                !c.contains("static "), !c.contains("lazy ")
            {
                readProperty(
                    keyword: keyword, name: name, attributes: p[0]?.text ?? "", modifiers: p[1]?.text ?? "",
                    typed: p[4] != nil, tail: p[5], line: line, place: place, into: &result.scopes[scope])
            }
        }
        if let scope = stack.last ?? nil, let m = groups(member, c) {
            for name in m.compactMap({ $0?.text }) { result.scopes[scope].members.insert(name) }
        }
        if let d = groups(declaration, c), let kind = d[0]?.text, let name = d[1]?.text {
            pending = (name, kind == "struct", d[2] != nil)
            if kind != "extension", let scope = stack.last ?? nil { result.scopes[scope].members.insert(name) }
        }
        for ch in c {
            if ch == "{" {
                if let p = pending {
                    let outer = (stack.last ?? nil).flatMap { result.scopes[$0].qualifiedName }
                    let inFunction = stack.last.map { $0 == nil } ?? false
                    result.scopes.append(
                        Scope(
                            qualifiedName: inFunction || p.generic ? nil : (outer.map { $0 + "." } ?? "") + p.name,
                            isStruct: p.isStruct))
                    stack.append(result.scopes.count - 1)
                } else {
                    stack.append(nil)
                }
                pending = nil
            } else if ch == "}" {
                guard stack.popLast() != nil else { throw Failure(description: "\(place): unbalanced `}`") }
            }
        }
    }
    guard stack.isEmpty else { throw Failure(description: "\(input): unbalanced `{`") }
    for mark in result.marks {
        if mark.scopes.contains(where: { result.scopes[$0].qualifiedName == nil }) {
            throw Failure(description: "\(input):\(mark.line): a generic struct, or one inside one, is not supported")
        }
        let body = result.scopes[mark.scopes[mark.scopes.count - 1]]
        guard mark.kind != .codingKeys else { continue }
        if let problem = body.problems.first { throw Failure(description: problem) }
        // The generated decoder assigns each property itself, so an initialiser in the body is no obstacle.
        if case .memberwiseInit = mark.kind, let line = body.initializerLine {
            throw Failure(
                description:
                    "\(input):\(line): a struct with `// memberwise-init` declares no initialiser in its body (Swift would then synthesise no memberwise one for the generated one to call); declare it in an extension"
            )
        }
    }
    return result
}

/// The generated file: the inputs' imports, then one constrained extension per marked struct.
func render(_ files: [(path: String, parsed: Parsed)]) -> String {
    var out = "\(generatedHeader) (Plugins/MemberwiseInit). Do not edit.\n"
    var imports = ["import WhatIfMemberwise"]
    for (_, parsed) in files where !parsed.marks.isEmpty {
        for i in parsed.imports where !imports.contains(i) { imports.append(i) }
    }
    out += imports.joined(separator: "\n") + "\n"
    for (path, parsed) in files {
        let file = path.split(separator: "/").last.map(String.init) ?? path
        for mark in parsed.marks {
            let scopes = mark.scopes.map { parsed.scopes[$0] }
            let body = scopes[scopes.count - 1]
            let name = body.qualifiedName ?? ""
            switch mark.kind {
            case .memberwiseInit(let access):
                let parameters = body.properties.map { p in
                    "\(p.name): \(isFunctionType(p.type) ? "@escaping " : "")\(qualify(p.type, in: scopes))"
                        + (p.defaultValue.map { " = \(qualify($0, in: scopes))" } ?? "")
                }
                let arguments = body.properties.map { "\($0.name): \($0.name)" }
                out += "\nextension \(name): MemberwiseInitializable {}\n"
                out += "\nextension MemberwiseInitializable where Self == \(name) {\n"
                out +=
                    "    /// Creates a value from each stored property (`// memberwise-init` at \(file):\(mark.line)).\n"
                out += "    \(access) init(\(parameters.joined(separator: ", "))) {\n"
                out += "        self = \(name)(\(arguments.joined(separator: ", ")))\n"
                out += "    }\n}\n"
            case .codingKeys:
                out += "\nextension \(name) {\n"
                out += "    /// Each stored property under its name in PascalCase (`// coding-keys` at \(mark.line)).\n"
                out += "    enum CodingKeys: String, CodingKey {\n"
                for p in body.codedNames {
                    out += "        case \(p) = \"\(p.prefix(1).uppercased() + p.dropFirst())\"\n"
                }
                out += "    }\n}\n"
            case .decodableWithDefaults:
                out += decoder(body, mark: mark, in: scopes, marks: parsed.marks, file: file)
            }
        }
    }
    return out
}

/// `init(from:)` of a struct marked `// decodable: defaults`: each stored property is read under its
/// key (the struct's CodingKeys when it has them, its own names otherwise); where the key is absent, a
/// property with a declared default takes it and an optional takes nil.
func decoder(_ body: Scope, mark: Mark, in scopes: [Scope], marks: [Mark], file: String) -> String {
    let ownKeys =
        body.members.contains("CodingKeys") || marks.contains { $0.scopes == mark.scopes && $0.kind == .codingKeys }
    let keys = ownKeys ? "CodingKeys" : "DecodingKeys"
    var out = "\nextension \(body.qualifiedName ?? "") {\n"
    out += "    /// Reads each stored property; an absent key takes the property's declared default, or nil\n"
    out += "    /// (`// decodable: defaults` at \(file):\(mark.line)).\n"
    out += "    public init(from decoder: any Decoder) throws {\n"
    out += "        let c = try decoder.container(keyedBy: \(keys).self)\n"
    for p in body.properties {
        let optional = p.type.hasSuffix("?")
        let type = qualify(optional ? String(p.type.dropLast()) : p.type, in: scopes)
        let read: String
        if let value = p.defaultValue, value != "nil" || !optional {
            read = "try c.decodeIfPresent(\(type).self, forKey: .\(p.name)) ?? \(qualify(value, in: scopes))"
        } else if optional {
            read = "try c.decodeIfPresent(\(type).self, forKey: .\(p.name))"
        } else {
            read = "try c.decode(\(type).self, forKey: .\(p.name))"
        }
        out += "        self.\(p.name) = \(read)\n"
    }
    out += "    }\n"
    if !ownKeys {
        out += "\n    private enum DecodingKeys: String, CodingKey {\n"
        out += "        case " + body.properties.map { "`\($0.name)`" }.joined(separator: ", ") + "\n"
        out += "    }\n"
    }
    return out + "}\n"
}

/// The first words of every file this tool writes.
let generatedHeader = "// Generated by MemberwiseInitGenerator"

/// Writes the memberwise initialisers of `inputs` to `output`, unless unchanged (so the module is not
/// recompiled for nothing). Never writes over a source: the output is not an input, and a file already
/// there is one this tool wrote.
func generate(output: String, inputs: [String]) throws {
    let existing = try? String(contentsOfFile: output, encoding: .utf8)
    guard !inputs.contains(output), existing.map({ $0.hasPrefix(generatedHeader) }) ?? true else {
        throw Failure(description: "\(output): not a file this tool writes; nothing written")
    }
    let text = render(try inputs.map { (path: $0, parsed: try parse(input: $0)) })
    if existing != text { try Data(text.utf8).write(to: URL(fileURLWithPath: output), options: .atomic) }
}
