import Foundation
import Testing
import WhatIfTesting

@testable import WhatIfAgent

/// Our YAML reader against PyYAML's BaseLoader (which, like ours, keeps every scalar as text).
@Suite struct YAMLTests {
    static let documents: [String] = [
        "environment: development\n",
        "a: 1\nb:\n  c: two words\n  d: 'single ''quoted'''\n  e: \"double \\\"q\\\" \\u00e9\\n\"\n",
        "# comment\n---\nkey: value # trailing comment\nurl: http://x:8000/a#frag\nempty:\nnull: ~\n",
        "list:\n  - a\n  - b\n  -   c\nsame_indent:\n- x\n- y\n",
        "items:\n  - name: one\n    value: 1\n  - name: two\n    nested:\n      deep: true\n  - plain\n",
        "flow: {a: 1, b: [x, y, 'z, w'], c: {d: e}}\nlist: [1, \"two\", three four]\nempty_list: []\nempty_map: {}\n",
        "multi: {host: localhost, port: 5432,\n        user: postgres}\n",
        "literal: |\n  line one\n  line two\n\n  after blank\nfolded: >\n  one\n  two\n\n  three\nstrip: |-\n  x\n  y\nnext: after\n",
        "colons: a:b:c\ntime: 12:30\nspaced key: v\n'quoted key': v2\n",
        "deep:\n  a:\n    b:\n      c:\n        - d\n        - e: f\n          g: h\n",
        "plain: this continues\n  on the next line\nother: x\n",
        "sock:\n  mode: \"0660\"\n  octal: 0660\n  hash: 'a # not a comment'\n",
        "- top\n- level\n- list\n",
        "alarms:\n  - AlarmName: cpu\n    Dimensions:\n      - Name: DBInstanceIdentifier\n        Value: db-1\n    Threshold: 80\n",
    ]

    static func ours(_ node: YAMLNode?) -> Any {
        guard let node else { return NSNull() }
        switch node {
        case .scalar(let s, _, _): return s
        case .sequence(let items, _): return items.map { ours($0) }
        case .mapping(let pairs, _):
            var d: [String: Any] = [:]
            for p in pairs { d[p.key] = ours(p.value) }
            return d
        }
    }

    @Test(arguments: documents)
    func matchesPyYAML(_ doc: String) async throws {
        let mine = Self.ours(try YAMLReader.parse(doc))
        let r = try await offPool {
            try Run.command(
                [
                    "python3", "-c",
                    "import sys, json, yaml; print(json.dumps(yaml.load(sys.stdin.read(), Loader=yaml.BaseLoader), sort_keys=True))",
                ],
                input: doc)
        }
        try #require(r.status == 0, "\(r.stderr)")
        let theirs = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8), options: [.fragmentsAllowed])
        let a = String(
            decoding: try JSONSerialization.data(withJSONObject: mine, options: [.sortedKeys, .fragmentsAllowed]),
            as: UTF8.self)
        let b = String(
            decoding: try JSONSerialization.data(withJSONObject: theirs, options: [.sortedKeys, .fragmentsAllowed]),
            as: UTF8.self)
        #expect(a == b)
    }

    @Test(arguments: [
        ("a: &x 1\nb: *x\n", 1, "anchors"), ("a: !!str 1\n", 1, "tags"), ("a: 1\n---\nb: 2\n", 2, "more than one"),
        ("a:\n\tb: 1\n", 2, "tab"), ("a: [1, 2\n", 1, "unclosed"), ("a: \"open\n", 1, "unterminated"),
        ("a: 1\n  b: 2\n", 2, "indentation"),
        ("? complex\n: key\n", 1, "complex keys"), ("a: \"bad \\q\"\n", 1, "unknown escape"),
        ("x: 1\nnot a pair\n", 2, "key: value"),
    ])
    func refusesWhatItDoesNotSupport(_ doc: String, _ line: Int, _ words: String) {
        #expect(throws: YAMLError.self) { try YAMLReader.parse(doc) }
        do { _ = try YAMLReader.parse(doc) } catch {
            #expect(error.line == line && error.message.contains(words), "\(error)")
        }
    }

    @Test func keepsLinesAndDuplicateKeys() throws {
        guard case .mapping(let pairs, _)? = try YAMLReader.parse("a: 1\n\n# c\nb:\n  c: 2\na: 3\n") else {
            Issue.record("not a mapping")
            return
        }
        #expect(pairs.map(\.key) == ["a", "b", "a"])
        #expect(pairs.map(\.keyLine) == [1, 4, 6])
        if case .mapping(let inner, _) = pairs[1].value { #expect(inner.first?.keyLine == 5) }
    }

    /// Nesting is bounded, in flow and block style alike: a million levels is a clear error on its line,
    /// never a stack overflow (a 6,000-deep flow list used to crash whatifd on reload).
    static func deepDocument(_ shape: String) -> String {
        switch shape {
        case "flow list":
            "a: " + String(repeating: "[", count: 1_000_000) + String(repeating: "]", count: 1_000_000) + "\n"
        case "flow map":
            "a: " + String(repeating: "{b: ", count: 200_000) + "1" + String(repeating: "}", count: 200_000) + "\n"
        case "unclosed": "x: 1\na: " + String(repeating: "[", count: 1_000_000) + "\n"
        case "block map": (0..<2_000).map { String(repeating: " ", count: $0) + "k\($0):\n" }.joined() + "end: 1\n"
        default: (0..<2_000).map { String(repeating: " ", count: $0 * 2) + "- k\($0):\n" }.joined()
        }
    }

    @Test(arguments: ["flow list", "flow map", "unclosed", "block map", "block list"])
    func refusesDeepNesting(_ shape: String) {
        do {
            _ = try YAMLReader.parse(Self.deepDocument(shape))
            Issue.record("a document nested past \(YAMLReader.maxDepth) levels was accepted")
        } catch {
            let words = shape == "unclosed" ? "unclosed '['" : "nested deeper than \(YAMLReader.maxDepth)"
            #expect(error.message.contains(words), "\(error)")
            #expect(error.line >= 1)
        }
    }

    @Test func acceptsNestingUpToTheLimit() throws {
        let n = YAMLReader.maxDepth - 1
        let doc = "a: " + String(repeating: "[", count: n) + "x" + String(repeating: "]", count: n) + "\n"
        var node = try YAMLReader.parse(doc)
        var depth = 0
        while case .mapping(let p, _)? = node { node = p.first?.value }
        while case .sequence(let items, _)? = node {
            depth += 1
            node = items.first
        }
        #expect(depth == n)
        #expect(node == .scalar("x", quoted: false, line: 1))
    }

    /// A long list of mappings reads in linear time (each item used to copy every line of the file).
    @Test func longListOfMappings() throws {
        let doc = "items:\n" + (0..<20_000).map { "  - name: n\($0)\n    value: \($0)\n" }.joined()
        guard case .mapping(let top, _)? = try YAMLReader.parse(doc), case .sequence(let items, _) = top[0].value
        else {
            Issue.record("not a list")
            return
        }
        #expect(items.count == 20_000)
    }
}
