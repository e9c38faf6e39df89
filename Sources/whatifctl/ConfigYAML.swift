import WhatIfProtocol

/// `config show`: the running configuration as YAML in agent.yaml's own shape, each setting followed by
/// where it came from (`# file`, `# env RDS_POSTGRES_HOST`, `# default`), like `git config --show-origin`
/// or PostgreSQL's pg_settings.source.
enum ConfigYAML {
    static func render(_ report: ConfigReport) -> String {
        var lines: [(text: String, source: String?)] = []
        emit(report.settings, path: "", indent: 0, sources: report.sources, into: &lines)
        let column = min(64, (lines.filter { $0.source != nil }.map(\.text.count).max() ?? 0) + 2)
        var out = "# \(report.path), as the agent runs it; after each setting, where it came from:\n"
        out += "# file, env NAME (an environment variable), default, or derived from KEY. Secrets: <redacted>.\n"
        for l in lines {
            if let s = l.source {
                out += l.text + String(repeating: " ", count: max(2, column - l.text.count)) + "# \(s)\n"
            } else {
                out += l.text + "\n"
            }
        }
        return out
    }

    static func emit(
        _ value: JSONValue, path: String, indent: Int, sources: [String: String],
        into lines: inout [(text: String, source: String?)]
    ) {
        guard case .object(let o) = value else { return }
        let pad = String(repeating: " ", count: indent)
        for key in o.keys.sorted(by: order) {
            let v = o[key]!
            let p = path.isEmpty ? key : "\(path).\(key)"
            switch v {
            case .object(let child) where !child.isEmpty:
                lines.append(("\(pad)\(string(key)):", nil))
                emit(v, path: p, indent: indent + 2, sources: sources, into: &lines)
            case .array(let items) where items.contains(where: { if case .object = $0 { true } else { false } }):
                lines.append(("\(pad)\(string(key)):", sources[p]))
                for item in items { block(item, indent: indent + 2, into: &lines) }
            default:
                lines.append(("\(pad)\(string(key)): \(scalar(v))", sources[p]))
            }
        }
    }

    /// A list item that is a mapping: `- first: x` then the other keys under it (no sources: the list
    /// as a whole has one).
    static func block(_ item: JSONValue, indent: Int, into lines: inout [(text: String, source: String?)]) {
        let pad = String(repeating: " ", count: indent)
        guard case .object(let o) = item, !o.isEmpty else {
            lines.append(("\(pad)- \(scalar(item))", nil))
            return
        }
        var first = true
        for key in o.keys.sorted(by: order) {
            let lead = first ? "\(pad)- " : "\(pad)  "
            first = false
            let v = o[key]!
            if case .object(let child) = v, !child.isEmpty {
                lines.append(("\(lead)\(string(key)):", nil))
                var nested: [(text: String, source: String?)] = []
                emit(v, path: "", indent: indent + 4, sources: [:], into: &nested)
                lines += nested
            } else {
                lines.append(("\(lead)\(string(key)): \(scalar(v))", nil))
            }
        }
    }

    /// `name` first (the key a list item is known by), then alphabetical.
    static func order(_ a: String, _ b: String) -> Bool {
        if a == "name" || b == "name" { return a == "name" && b != "name" }
        return a < b
    }

    static func scalar(_ v: JSONValue) -> String {
        switch v {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .number(let d):
            return d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : "\(d)"
        case .string(let s): return string(s)
        case .array(let items): return "[" + items.map(scalar).joined(separator: ", ") + "]"
        case .object(let o): return o.isEmpty ? "{}" : "{...}"
        }
    }

    /// Plain when YAML reads it back as the same string; otherwise double-quoted (JSON escapes are YAML's).
    static func string(_ s: String) -> String {
        let reserved: Set = ["~", "null", "true", "false", "yes", "no", "on", "off", "y", "n"]
        let safe = "/._+@-".unicodeScalars
        let plain =
            !s.isEmpty && !reserved.contains(s.lowercased()) && Double(s) == nil
            && s.unicodeScalars.allSatisfy { c in
                (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || (c >= "0" && c <= "9") || safe.contains(c)
            }
            && s.unicodeScalars.first.map { c in
                (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || (c >= "0" && c <= "9") || c == "/"
            } == true
        return plain ? s : JSONString.quote(s)
    }
}
