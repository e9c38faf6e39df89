extension String {
    package func trimmingWhitespace() -> String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return String(s)
    }
}

extension StringProtocol {
    /// Where `needle` first occurs (a plain search, without the Regex machinery of `firstRange(of:)`).
    package func find(_ needle: String) -> Range<Index>? {
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
