import WhatIfCore

/// Fast writers for the DynamoDB JSON the transform emits.
enum JSONOut {
    static let hex: [UInt8] = Array("0123456789abcdef".utf8)
    static let b64: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// Appends `"…"` with JSON escapes. Returns false when the bytes are not valid UTF-8 (DynamoDB takes
    /// only UTF-8), leaving `out` partly written.
    @inline(__always)
    static func string(_ p: UnsafeRawBufferPointer, into out: inout [UInt8]) -> Bool {
        out.append(UInt8(ascii: "\""))
        var i = 0
        let n = p.count
        var run = 0
        while i < n {
            // Eight plain ASCII bytes at a time (no control character, quote, backslash or high bit).
            while n - i >= 8 {
                let x = UInt64(littleEndian: p.loadUnaligned(fromByteOffset: i, as: UInt64.self))
                let ones: UInt64 = 0x0101_0101_0101_0101
                let high: UInt64 = 0x8080_8080_8080_8080
                let q = x ^ (0x22 &* ones)
                let b = x ^ (0x5C &* ones)
                let special =
                    (x | ((x &- 0x20 &* ones) & ~x) | ((q &- ones) & ~q) | ((b &- ones) & ~b)) & high
                if special != 0 { break }
                i += 8
            }
            guard i < n else { break }
            let c = p[i]
            if c >= 0x20 && c != 0x22 && c != 0x5C && c < 0x80 {
                i += 1
                continue
            }
            if run < i {
                out.append(contentsOf: UnsafeRawBufferPointer(rebasing: p[run..<i]))
                run = i
            }
            if c < 0x80 {
                switch c {
                case 0x22: out += [0x5C, 0x22]
                case 0x5C: out += [0x5C, 0x5C]
                case 0x0A: out += [0x5C, UInt8(ascii: "n")]
                case 0x0D: out += [0x5C, UInt8(ascii: "r")]
                case 0x09: out += [0x5C, UInt8(ascii: "t")]
                default:
                    out += [0x5C, UInt8(ascii: "u"), 0x30, 0x30, hex[Int(c >> 4)], hex[Int(c & 15)]]
                }
                i += 1
                run = i
                continue
            }
            let len = utf8Length(p, i)
            guard len > 0 else { return false }
            i += len
        }
        if run < n { out.append(contentsOf: UnsafeRawBufferPointer(rebasing: p[run..<n])) }
        out.append(UInt8(ascii: "\""))
        return true
    }

    /// The length of the well-formed UTF-8 sequence at `i`, or 0.
    static func utf8Length(_ p: UnsafeRawBufferPointer, _ i: Int) -> Int {
        let c = p[i]
        let n = p.count
        func cont(_ k: Int) -> Bool { i + k < n && p[i + k] & 0xC0 == 0x80 }
        switch c {
        case 0xC2...0xDF: return cont(1) ? 2 : 0
        case 0xE0:
            return cont(1) && p[i + 1] >= 0xA0 && cont(2) ? 3 : 0
        case 0xED:
            return cont(1) && p[i + 1] < 0xA0 && cont(2) ? 3 : 0
        case 0xE1...0xEF: return cont(1) && cont(2) ? 3 : 0
        case 0xF0:
            return cont(1) && p[i + 1] >= 0x90 && cont(2) && cont(3) ? 4 : 0
        case 0xF4:
            return cont(1) && p[i + 1] < 0x90 && cont(2) && cont(3) ? 4 : 0
        case 0xF1...0xF3: return cont(1) && cont(2) && cont(3) ? 4 : 0
        default: return 0
        }
    }

    static func literal(_ s: StaticString, into out: inout [UInt8]) {
        s.withUTF8Buffer { out.append(contentsOf: $0) }
    }

    static func int(_ v: Int64, into out: inout [UInt8]) {
        if v == 0 {
            out.append(0x30)
            return
        }
        var m = v.magnitude
        if v < 0 { out.append(UInt8(ascii: "-")) }
        var tmp: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes of scratch for 20 digits
        let count = withUnsafeMutableBytes(of: &tmp) { buf -> Int in
            var k = 0
            while m > 0 {
                buf[23 - k] = UInt8(m % 10) + 0x30
                m /= 10
                k += 1
            }
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: buf[(24 - k)...]))
            return k
        }
        _ = count
    }

    static func base64(_ p: UnsafeRawBufferPointer, into out: inout [UInt8]) {
        var i = 0
        let n = p.count
        while i + 3 <= n {
            let v = UInt32(p[i]) << 16 | UInt32(p[i + 1]) << 8 | UInt32(p[i + 2])
            out += [b64[Int(v >> 18)], b64[Int(v >> 12 & 63)], b64[Int(v >> 6 & 63)], b64[Int(v & 63)]]
            i += 3
        }
        if n - i == 1 {
            let v = UInt32(p[i]) << 16
            out += [b64[Int(v >> 18)], b64[Int(v >> 12 & 63)], UInt8(ascii: "="), UInt8(ascii: "=")]
        } else if n - i == 2 {
            let v = UInt32(p[i]) << 16 | UInt32(p[i + 1]) << 8
            out += [b64[Int(v >> 18)], b64[Int(v >> 12 & 63)], b64[Int(v >> 6 & 63)], UInt8(ascii: "=")]
        }
    }

    static func twoDigits(_ v: Int, into out: inout [UInt8]) {
        out.append(UInt8(v / 10) + 0x30)
        out.append(UInt8(v % 10) + 0x30)
    }

    /// `YYYY-MM-DDTHH:MM:SS.mmmZ`; nil outside years 0000-9999.
    static func isoDate(millis: Int64, into out: inout [UInt8]) -> Bool {
        let dayMs: Int64 = 86_400_000
        var days = millis / dayMs
        var rem = millis % dayMs
        if rem < 0 {
            rem += dayMs
            days -= 1
        }
        guard days > -800_000, days < 3_000_000 else { return false }
        let d = UTCDate(days: Int(days))
        guard d.year >= 0, d.year <= 9999 else { return false }
        out.append(UInt8(d.year / 1000) + 0x30)
        out.append(UInt8(d.year / 100 % 10) + 0x30)
        twoDigits(d.year % 100, into: &out)
        out.append(UInt8(ascii: "-"))
        twoDigits(d.month, into: &out)
        out.append(UInt8(ascii: "-"))
        twoDigits(d.day, into: &out)
        out.append(UInt8(ascii: "T"))
        let ms = Int(rem)
        twoDigits(ms / 3_600_000, into: &out)
        out.append(UInt8(ascii: ":"))
        twoDigits(ms / 60_000 % 60, into: &out)
        out.append(UInt8(ascii: ":"))
        twoDigits(ms / 1000 % 60, into: &out)
        out.append(UInt8(ascii: "."))
        out.append(UInt8(ms % 1000 / 100) + 0x30)
        twoDigits(ms % 100, into: &out)
        out.append(UInt8(ascii: "Z"))
        return true
    }

    /// `{"N":"…"}` for a double whose shortest text is plain decimal (no exponent), in the same canonical
    /// form as `DynamoNumber.text` (no trailing `.0`, `0` for zeros). Returns the stored size, or nil when
    /// the slow path must do it.
    static func plainDouble(_ v: Double, into out: inout [UInt8]) -> Int? {
        if v == 0 {
            literal(#"{"N":"0"}"#, into: &out)
            return 2
        }
        var text = v.description
        return text.withUTF8 { u -> Int? in
            var n = u.count
            var digits = 0
            for c in u {
                if c == UInt8(ascii: "e") || c == UInt8(ascii: "E") || c == UInt8(ascii: "n") || c == UInt8(ascii: "i")
                {
                    return nil
                }
                if c >= 0x30 && c <= 0x39 { digits += 1 }
            }
            if n >= 2 && u[n - 2] == UInt8(ascii: ".") && u[n - 1] == UInt8(ascii: "0") { n -= 2 }
            literal(#"{"N":""#, into: &out)
            out.append(contentsOf: UnsafeBufferPointer(rebasing: u[0..<n]))
            literal(#""}"#, into: &out)
            return (digits + 1) / 2 + 1
        }
    }
}
