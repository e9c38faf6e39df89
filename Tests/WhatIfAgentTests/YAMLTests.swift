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
    func matchesPyYAML(_ doc: String) throws {
        let mine = Self.ours(try YAMLReader.parse(doc))
        let r = try Run.command(
            [
                "python3", "-c",
                "import sys, json, yaml; print(json.dumps(yaml.load(sys.stdin.read(), Loader=yaml.BaseLoader), sort_keys=True))",
            ],
            input: doc)
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
}
