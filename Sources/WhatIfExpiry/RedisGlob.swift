/// Redis's MATCH glob (`stringmatchlen` in util.c), on bytes: `*`, `?`, `[abc]`, `[^a]`, `[a-z]`, and `\`
/// escapes. Keys are binary; so are patterns.
public enum RedisGlob {
    public static func matches(_ pattern: [UInt8], _ key: [UInt8]) -> Bool {
        match(pattern[...], key[...])
    }

    public static func matches(_ pattern: String, _ key: [UInt8]) -> Bool {
        match(Array(pattern.utf8)[...], key[...])
    }

    private static func match(_ p: ArraySlice<UInt8>, _ s: ArraySlice<UInt8>) -> Bool {
        var p = p
        var s = s
        while let c = p.first {
            switch c {
            case UInt8(ascii: "*"):
                while p.count > 1, p[p.startIndex + 1] == UInt8(ascii: "*") { p = p.dropFirst() }
                if p.count == 1 { return true }
                while true {
                    if match(p.dropFirst(), s) { return true }
                    if s.isEmpty { return false }
                    s = s.dropFirst()
                }
            case UInt8(ascii: "?"):
                guard !s.isEmpty else { return false }
                s = s.dropFirst()
            case UInt8(ascii: "["):
                guard let ch = s.first else { return false }
                var q = p.dropFirst()
                let not = q.first == UInt8(ascii: "^")
                if not { q = q.dropFirst() }
                var matched = false
                while let x = q.first, x != UInt8(ascii: "]") {
                    if x == UInt8(ascii: "\\"), q.count >= 2 {
                        q = q.dropFirst()
                        if q.first == ch { matched = true }
                    } else if q.count >= 3, q[q.startIndex + 1] == UInt8(ascii: "-") {
                        var lo = x
                        var hi = q[q.startIndex + 2]
                        if lo > hi { swap(&lo, &hi) }
                        if ch >= lo && ch <= hi { matched = true }
                        q = q.dropFirst(2)
                    } else if x == ch {
                        matched = true
                    }
                    q = q.dropFirst()
                }
                // An unterminated class matches as Redis does: up to the end of the pattern.
                if not { matched.toggle() }
                guard matched else { return false }
                s = s.dropFirst()
                p = q
                if p.isEmpty { return s.isEmpty }
            case UInt8(ascii: "\\") where p.count >= 2:
                p = p.dropFirst()
                guard let ch = s.first, ch == p.first else { return false }
                s = s.dropFirst()
            default:
                guard let ch = s.first, ch == c else { return false }
                s = s.dropFirst()
            }
            p = p.dropFirst()
        }
        return s.isEmpty
    }
}
