/// Parses the config's durations: `250ms`, `10s`, `5m`, `2h`, `1d`, or a bare number of seconds.
public enum DurationText {
    public static func parse(_ text: String) -> Double? {
        let t = text.trimmingWhitespace()
        guard !t.isEmpty else { return nil }
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86400)]
        for (suffix, scale) in units where t.hasSuffix(suffix) {
            let number = String(t.dropLast(suffix.count)).trimmingWhitespace()
            // "ms" also ends in "s": only accept a number before the suffix.
            guard let v = Double(number), v.isFinite, v >= 0 else { continue }
            return v * scale
        }
        if let v = Double(t), v.isFinite, v >= 0 { return v }
        return nil
    }

    /// `1.5s`, `250ms`, `2m`, for messages.
    public static func format(_ seconds: Double) -> String {
        if seconds < 1 { return "\(Int((seconds * 1000).rounded()))ms" }
        if seconds < 120 {
            let r = (seconds * 10).rounded() / 10
            return r == r.rounded() ? "\(Int(r))s" : "\(r)s"
        }
        if seconds < 7200 { return "\(Int((seconds / 60).rounded()))m" }
        return "\(Int((seconds / 3600).rounded()))h"
    }
}

extension String {
    public func trimmingWhitespace() -> String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return String(s)
    }
}

extension StringProtocol {
    /// Where `needle` first occurs (a plain search, without the Regex machinery of `firstRange(of:)`).
    public func find(_ needle: String) -> Range<Index>? {
        let n = Array(needle.utf8)
        guard let first = n.first else { return nil }
        var i = utf8.startIndex
        while i != utf8.endIndex {
            if utf8[i] == first {
                var j = i
                var k = 0
                while k < n.count, j != utf8.endIndex, utf8[j] == n[k] {
                    j = utf8.index(after: j)
                    k += 1
                }
                if k == n.count { return i..<j }
            }
            i = utf8.index(after: i)
        }
        return nil
    }
}
