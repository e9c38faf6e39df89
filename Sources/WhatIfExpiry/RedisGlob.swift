/// Redis's MATCH glob (`stringmatchlen` in util.c), on bytes: `*`, `?`, `[abc]`, `[^a]`, `[a-z]`, and `\`
/// escapes. Keys are binary; so are patterns. Matching is iterative, backtracking only to the last `*`,
/// so it takes O(pattern x key) time whatever the pattern (a recursive matcher is exponential on
/// patterns like `*a*a*a*a*b`).
public enum RedisGlob {
    public static func matches(_ pattern: String, _ key: [UInt8]) -> Bool {
        matches(Array(pattern.utf8), key)
    }

    /// A character class at `i` (the `[`) tested against `c`, parsed exactly as Redis parses it: a range
    /// looks at the rest of the pattern, so `[a-]` is the range `a`..`]` and the class goes on; an
    /// unterminated class runs to the end of the pattern. Returns whether `c` matched and the class's length.
    static func matchClass(_ p: [UInt8], _ i: Int, _ c: UInt8) -> (matched: Bool, length: Int) {
        var j = i + 1
        let negated = j < p.count && p[j] == UInt8(ascii: "^")
        if negated { j += 1 }
        var matched = false
        while true {
            let left = p.count - j
            if left >= 2, p[j] == UInt8(ascii: "\\") {
                j += 1
                if p[j] == c { matched = true }
            } else if left >= 1, p[j] == UInt8(ascii: "]") {
                break
            } else if left <= 0 {
                j -= 1
                break
            } else if left >= 3, p[j + 1] == UInt8(ascii: "-") {
                let lo = min(p[j], p[j + 2])
                let hi = max(p[j], p[j + 2])
                if c >= lo && c <= hi { matched = true }
                j += 2
            } else if p[j] == c {
                matched = true
            }
            j += 1
        }
        return (matched != negated, j + 1 - i)
    }

    public static func matches(_ p: [UInt8], _ s: [UInt8]) -> Bool {
        // SCAN MATCH * does not filter at all; otherwise an empty key matches only an empty pattern
        // (stringmatchlen never enters its loop for it).
        if p == [UInt8(ascii: "*")] { return true }
        if s.isEmpty { return p.isEmpty }
        var pi = 0
        var si = 0
        var starP = -1
        var starS = 0
        while si < s.count {
            if pi < p.count {
                let c = p[pi]
                if c == UInt8(ascii: "*") {
                    while pi < p.count, p[pi] == UInt8(ascii: "*") { pi += 1 }
                    starP = pi
                    starS = si
                    continue
                }
                var step = 0
                if c == UInt8(ascii: "?") {
                    step = 1
                } else if c == UInt8(ascii: "[") {
                    let (ok, len) = matchClass(p, pi, s[si])
                    if ok { step = len }
                } else if c == UInt8(ascii: "\\"), pi + 1 < p.count {
                    if p[pi + 1] == s[si] { step = 2 }
                } else if c == s[si] {
                    step = 1
                }
                if step > 0 {
                    pi += step
                    si += 1
                    continue
                }
            }
            // Mismatch: let the last star take one more byte, or fail.
            guard starP >= 0 else { return false }
            starS += 1
            si = starS
            pi = starP
        }
        while pi < p.count, p[pi] == UInt8(ascii: "*") { pi += 1 }
        return pi == p.count
    }
}
