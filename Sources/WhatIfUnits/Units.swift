/// How the agent and whatifctl write durations, sizes and counts for people: one format everywhere, so a
/// log line, an error and a table say `1h5m`, `79.0 GiB` and `1 table` alike.
///
/// Durations are compact and read back by `DurationText.parse` (`250ms`, `1.5s`, `42s`, `59m30s`, `1h5m`,
/// `2d4h`); sizes are IEC units with one decimal (`512 B`, `1.5 KiB`, `79.0 GiB`).
package enum Units {
    /// `250ms`, `1.5s`, `42s`, `2m`, `59m30s`, `1h5m`, `2d4h`: at most two units, the smaller one dropped
    /// when zero. Under a minute seconds keep one decimal below ten; from an hour on, seconds are rounded
    /// away, from two days on, minutes.
    package static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "∞" }
        if seconds < 0 { return "-" + duration(-seconds) }
        if seconds == 0 { return "0s" }
        if seconds < 0.9995 { return "\(max(1, Int((seconds * 1000).rounded())))ms" }
        if seconds < 9.95 {
            let tenths = Int((seconds * 10).rounded())
            return tenths % 10 == 0 ? "\(tenths / 10)s" : "\(tenths / 10).\(tenths % 10)s"
        }
        let s = Int(seconds.rounded())
        if s < 60 { return "\(s)s" }
        if s < 3600 { return pair(s / 60, "m", s % 60, "s") }
        let minutes = (s + 30) / 60
        if minutes < 24 * 60 { return pair(minutes / 60, "h", minutes % 60, "m") }
        let hours = (s + 1800) / 3600
        return pair(hours / 24, "d", hours % 24, "h")
    }

    /// How long ago `then` was, as an age column shows it (`5m`, `3h2m`, `12d`).
    package static func age(of seconds: Double) -> String {
        guard seconds >= 1 else { return "0s" }
        return duration(seconds.rounded(.down))
    }

    /// `512 B`, `1.5 KiB`, `79.0 GiB`: powers of 1024, one decimal.
    package static func bytes(_ n: Int64) -> String {
        if n < 0 { return "-" + bytes(n == Int64.min ? Int64.max : -n) }
        let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]
        var v = Double(n)
        var u = 0
        while v >= 1023.95, u < units.count - 1 {
            v /= 1024
            u += 1
        }
        return u == 0 ? "\(n) B" : "\(fixed(v, 1)) \(units[u])"
    }

    /// `1 table`, `2 tables`, `0 keys`; `plural` for the nouns that do not just add an s.
    package static func count(_ n: some BinaryInteger, _ noun: String, plural: String? = nil) -> String {
        "\(n) \(n == 1 ? noun : plural ?? noun + "s")"
    }

    /// `v` with exactly `digits` decimals (`1.50`, `3.0`).
    package static func fixed(_ v: Double, _ digits: Int) -> String {
        guard v.isFinite else { return "\(v)" }
        var p = 1.0
        for _ in 0..<digits { p *= 10 }
        let scaled = (abs(v) * p).rounded()
        let whole = Int64(scaled / p)
        let frac = Int64(scaled - Double(whole) * p)
        let sign = v < 0 && scaled != 0 ? "-" : ""
        guard digits > 0 else { return "\(sign)\(whole)" }
        let f = String(frac)
        return "\(sign)\(whole)." + String(repeating: "0", count: max(0, digits - f.count)) + f
    }

    private static func pair(_ a: Int, _ ua: String, _ b: Int, _ ub: String) -> String {
        b == 0 ? "\(a)\(ua)" : "\(a)\(ua)\(b)\(ub)"
    }
}

/// Reads the durations people write in config files and on the command line: `250ms`, `10s`, `5m`, `2h`,
/// `1d`, `2w`, a bare number of seconds, or several of them together as `Units.duration` writes them
/// (`1h5m`, `59m30s`, `2d4h`).
package enum DurationText {
    package static func parse(_ text: String) -> Double? {
        var t = Substring(text)
        while let f = t.first, f == " " || f == "\t" { t.removeFirst() }
        while let l = t.last, l == " " || l == "\t" || l == "\n" { t.removeLast() }
        guard !t.isEmpty, t.utf8.count <= 64 else { return nil }
        if let v = Double(t), v.isFinite, v >= 0 { return v }
        var total = 0.0
        var rest = t
        var lastScale = Double.infinity
        while !rest.isEmpty {
            let number = rest.prefix { ($0 >= "0" && $0 <= "9") || $0 == "." }
            guard !number.isEmpty, let v = Double(number), v.isFinite else { return nil }
            rest = rest.dropFirst(number.count)
            while rest.first == " " { rest.removeFirst() }
            let unit = rest.prefix { $0 >= "a" && $0 <= "z" }
            rest = rest.dropFirst(unit.count)
            let scale: Double
            switch unit {
            case "ms": scale = 0.001
            case "s": scale = 1
            case "m": scale = 60
            case "h": scale = 3600
            case "d": scale = 86400
            case "w": scale = 7 * 86400
            default: return nil
            }
            // Largest unit first, each once: `1h5m`, never `5m1h` or `1m1m`.
            guard scale < lastScale else { return nil }
            lastScale = scale
            total += v * scale
            while rest.first == " " { rest.removeFirst() }
        }
        return total.isFinite ? total : nil
    }

    /// The one duration format (see `Units.duration`).
    package static func format(_ seconds: Double) -> String { Units.duration(seconds) }
}

/// Escaping for markup: HTML and XML text and attribute values (`&`, `<`, `>`, and with `quotes` the
/// quotation marks), and Slack's mrkdwn, which escapes only the first three.
package enum Markup {
    package static func escape(_ s: String, quotes: Bool = true) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"" where quotes: out += "&quot;"
            case "'" where quotes: out += "&#39;"
            default: out.append(c)
            }
        }
        return out
    }
}
