import WhatIfCore
import WhatIfUnits

/// Collects problems while walking the YAML tree, so `--check-config` can report all of them at once.
final class ProblemSink {
    let file: String
    private(set) var problems: [ConfigProblem] = []
    /// The settings an environment variable gave, by dotted key (`postgres.host`: `RDS_POSTGRES_HOST`),
    /// noted where the loader takes them, for `config show`'s sources.
    private(set) var fromEnvironment: [String: String] = [:]

    init(file: String) { self.file = file }

    /// `value` as read from the variable `name` for `key`: passed through, and noted when there is one.
    func environment(_ value: String?, key: String, name: String) -> String? {
        if value != nil { fromEnvironment[key] = name }
        return value
    }

    func add(line: Int?, _ message: String, _ hint: String) {
        problems.append(ConfigProblem(location: file, line: line, message: message, hint: hint))
    }

    func addEnv(_ name: String, _ message: String, _ hint: String) {
        problems.append(ConfigProblem(location: "env:\(name)", line: nil, message: message, hint: hint))
    }
}

/// A mapping in the config file, read key by key with types checked. Keys not declared as known are
/// reported (with a suggestion when one is close), as are duplicates.
struct YAMLSection {
    let sink: ProblemSink
    /// Dotted path for messages: "postgres", "socket".
    let path: String
    let line: Int?
    private let entries: [String: (keyLine: Int, value: YAMLNode)]

    init?(_ node: YAMLNode?, path: String, line: Int?, known: [String], sink: ProblemSink) {
        self.sink = sink
        self.path = path
        guard let node, !node.isNull else {
            self.line = node?.line ?? line
            entries = [:]
            return
        }
        guard case .mapping(let pairs, let l) = node else {
            sink.add(
                line: node.line, "\(path.isEmpty ? "the file" : path) must be a mapping of keys",
                "write it as `key: value` lines")
            return nil
        }
        self.line = l
        var entries: [String: (keyLine: Int, value: YAMLNode)] = [:]
        for (name, keyLine, value) in pairs {
            if entries[name] != nil {
                sink.add(line: keyLine, "duplicate key '\(Self.join(path, name))'", "keep one of them")
                continue
            }
            if !known.contains(name) {
                let suggestion = Self.closest(name, in: known)
                sink.add(
                    line: keyLine, "unknown key '\(Self.join(path, name))'",
                    suggestion.map { "did you mean '\($0)'?" } ?? "known keys here: \(known.joined(separator: ", "))")
                continue
            }
            entries[name] = (keyLine, value)
        }
        self.entries = entries
    }

    static func join(_ path: String, _ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    func name(_ key: String) -> String { Self.join(path, key) }

    func has(_ key: String) -> Bool {
        guard let v = entries[key]?.value else { return false }
        return !v.isNull
    }

    /// The line of a key, or of this section when the key is absent.
    func line(_ key: String) -> Int? { entries[key]?.keyLine ?? line }

    func section(_ key: String, known: [String]) -> YAMLSection? {
        YAMLSection(entries[key]?.value, path: name(key), line: line(key), known: known, sink: sink)
    }

    /// The items of a list (nil when absent; reported when not a list).
    func sequence(_ key: String) -> [YAMLNode]? {
        guard let v = entries[key]?.value, !v.isNull else { return nil }
        guard case .sequence(let items, _) = v else {
            sink.add(line: line(key), "\(name(key)) must be a list", "write one `- item` per line")
            return nil
        }
        return items
    }

    /// A mapping of free-form names to single values (HTTP headers, say), in file order.
    func stringPairs(_ key: String) -> [(name: String, value: String, line: Int)]? {
        guard let v = entries[key]?.value, !v.isNull else { return nil }
        guard case .mapping(let pairs, _) = v else {
            sink.add(line: line(key), "\(name(key)) must be a mapping of names to values", "write `Name: value` lines")
            return nil
        }
        var out: [(name: String, value: String, line: Int)] = []
        for (k, l, node) in pairs {
            guard case .scalar(let text, _, _) = node, !node.isNull else {
                sink.add(line: l, "\(name(key)).\(k) must be a single value", "give a string")
                continue
            }
            out.append((k, text, l))
        }
        return out
    }

    /// A number (integer or decimal, optionally signed).
    func number(_ key: String) -> Double? {
        guard let s = scalar(key, expected: "a number") else { return nil }
        guard let v = Double(s), v.isFinite, s.allSatisfy({ $0.isNumber || "+-.eE".contains($0) }) else {
            sink.add(line: line(key), "\(name(key)) must be a number, not '\(s)'", "write a number such as 80 or 0.5")
            return nil
        }
        return v
    }

    /// The raw scalar text, without the empty check (for keys whose value may be "off").
    func text(_ key: String) -> String? { scalar(key, expected: "a value") }

    private func scalar(_ key: String, expected: String) -> String? {
        guard let v = entries[key]?.value else { return nil }
        switch v {
        case .scalar(let s, _, _):
            if v.isNull { return nil }
            return s
        default:
            sink.add(line: line(key), "\(name(key)) must be \(expected), not a list or mapping", "give a single value")
            return nil
        }
    }

    func string(_ key: String) -> String? {
        guard let s = scalar(key, expected: "a string") else { return nil }
        if s.isEmpty {
            sink.add(line: line(key), "\(name(key)) is empty", "give a value or remove the key")
            return nil
        }
        return s
    }

    func int(_ key: String, in range: ClosedRange<Int>) -> Int? {
        guard let s = scalar(key, expected: "a whole number") else { return nil }
        guard let v = Int(s), range.contains(v) else {
            sink.add(
                line: line(key),
                "\(name(key)) must be a whole number from \(range.lowerBound) to \(range.upperBound), not '\(s)'",
                "fix the number")
            return nil
        }
        return v
    }

    func bool(_ key: String) -> Bool? {
        guard let s = scalar(key, expected: "true or false") else { return nil }
        switch s {
        case "true", "True", "TRUE": return true
        case "false", "False", "FALSE": return false
        default:
            sink.add(line: line(key), "\(name(key)) must be true or false, not '\(s)'", "write true or false")
            return nil
        }
    }

    func duration(_ key: String, max: Double) -> Double? {
        guard let s = scalar(key, expected: "a duration") else { return nil }
        guard let v = DurationText.parse(s), v > 0, v <= max else {
            sink.add(
                line: line(key),
                "\(name(key)) must be a duration such as 500ms, 10s or 2m (at most \(Units.duration(max))), not '\(s)'",
                "fix the duration")
            return nil
        }
        return v
    }

    func choice(_ key: String, _ allowed: [String]) -> String? {
        guard let s = scalar(key, expected: "one of \(allowed.joined(separator: ", "))") else { return nil }
        guard allowed.contains(s) else {
            sink.add(
                line: line(key), "\(name(key)) must be one of \(allowed.joined(separator: ", ")), not '\(s)'",
                "pick one of those")
            return nil
        }
        return s
    }

    /// A size: a number of bytes, or with a unit (KiB, MiB, GiB; KB, MB, GB are read as powers of 1000).
    func byteSize(_ key: String, in range: ClosedRange<Int>) -> Int? {
        guard let s = scalar(key, expected: "a size") else { return nil }
        let digits = s.prefix { $0.isNumber }
        let unit = String(s.dropFirst(digits.count)).trimmingWhitespace()
        let multipliers: [String: Int] = [
            "": 1, "B": 1, "K": 1024, "KiB": 1024, "KB": 1000, "M": 1 << 20, "MiB": 1 << 20, "MB": 1_000_000,
            "G": 1 << 30, "GiB": 1 << 30, "GB": 1_000_000_000,
        ]
        guard let n = Int(digits), let m = multipliers[unit], n <= Int.max / m, range.contains(n * m) else {
            sink.add(
                line: line(key),
                "\(name(key)) must be a size such as 16MiB, from \(range.lowerBound) to \(range.upperBound) bytes, not '\(s)'",
                "fix the size")
            return nil
        }
        return n * m
    }

    func octalMode(_ key: String) -> UInt32? {
        guard let s = scalar(key, expected: "an octal file mode") else { return nil }
        guard s.count <= 4, let v = UInt32(s, radix: 8), v <= 0o777 else {
            sink.add(
                line: line(key), "\(name(key)) must be an octal mode such as \"0660\", not '\(s)'", "quote it: \"0660\""
            )
            return nil
        }
        return v
    }

    /// Edit distance suggestion for a misspelt key.
    static func closest(_ word: String, in candidates: [String]) -> String? {
        func distance(_ a: [Character], _ b: [Character]) -> Int {
            var prev = Array(0...b.count)
            for i in 1...max(a.count, 1) where !a.isEmpty {
                var cur = [i] + Array(repeating: 0, count: b.count)
                for j in 1...max(b.count, 1) where !b.isEmpty {
                    cur[j] = Swift.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
                }
                prev = cur
            }
            return prev[b.count]
        }
        let w = Array(word.lowercased())
        let scored = candidates.map { ($0, distance(w, Array($0.lowercased()))) }.min { $0.1 < $1.1 }
        guard let (best, d) = scored, d <= Swift.max(2, word.count / 3) else { return nil }
        return best
    }
}
