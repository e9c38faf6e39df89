/// A JSON string's text, read from its opening quote: escapes resolved, surrogate pairs joined, control
/// characters, lone surrogates and bad UTF-8 refused. Shared by the agent's JSON readers.
public enum JSONString {
    /// Why a string could not be read.
    public struct Failure: Error, Sendable {
        /// The problem, in words.
        public var reason: String
    }

    /// `s` as a JSON string literal, quotes included: `"`, `\` and control characters escaped (which also
    /// makes it a YAML double-quoted scalar). The one writer of JSON strings by hand.
    public static func quote(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where u.value < 0x20:
                let h = String(u.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - h.count) + h
            default: out.unicodeScalars.append(u)
            }
        }
        return out + "\""
    }

    /// Reads the string whose opening quote is at `i`; on return `i` is past the closing quote, or at the
    /// fault on failure.
    public static func scan(_ p: UnsafeRawBufferPointer, at i: inout Int) throws(Failure) -> String {
        func fail(_ r: String) -> Failure { Failure(reason: r) }
        i += 1
        var out: [UInt8] = []
        while true {
            guard i < p.count else { throw fail("the text ends inside a string (cut short?)") }
            let c = p[i]
            if c == UInt8(ascii: "\"") {
                i += 1
                break
            }
            if c < 0x20 { throw fail("a control character inside a string") }
            if c != UInt8(ascii: "\\") {
                out.append(c)
                i += 1
                continue
            }
            i += 1
            guard i < p.count else { throw fail("the text ends inside an escape") }
            let e = p[i]
            i += 1
            switch e {
            case UInt8(ascii: "\""): out.append(0x22)
            case UInt8(ascii: "\\"): out.append(0x5C)
            case UInt8(ascii: "/"): out.append(0x2F)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try hex4(p, &i)
                if (0xD800..<0xDC00).contains(scalar) {
                    guard p.count - i >= 6, p[i] == 0x5C, p[i + 1] == UInt8(ascii: "u") else {
                        throw fail("a lone UTF-16 surrogate")
                    }
                    i += 2
                    let low = try hex4(p, &i)
                    guard (0xDC00..<0xE000).contains(low) else { throw fail("a lone UTF-16 surrogate") }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                } else if (0xDC00..<0xE000).contains(scalar) {
                    throw fail("a lone UTF-16 surrogate")
                }
                guard let u = Unicode.Scalar(scalar) else { throw fail("an invalid \\u escape") }
                out += Array(String(Character(u)).utf8)
            default: throw fail("an unknown escape")
            }
        }
        guard let s = String(validating: out, as: UTF8.self) else { throw fail("a string is not valid UTF-8") }
        return s
    }

    static func hex4(_ p: UnsafeRawBufferPointer, _ i: inout Int) throws(Failure) -> UInt32 {
        guard p.count - i >= 4 else { throw Failure(reason: "a short \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = p[i]
            let d: UInt32
            switch c {
            case 0x30...0x39: d = UInt32(c - 0x30)
            case 0x61...0x66: d = UInt32(c - 0x61 + 10)
            case 0x41...0x46: d = UInt32(c - 0x41 + 10)
            default: throw Failure(reason: "a bad \\u escape")
            }
            v = v * 16 + d
            i += 1
        }
        return v
    }
}
