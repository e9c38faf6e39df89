/// DynamoDB's number type: up to 38 significant digits, magnitude 1E-130 to 9.99...E+125, carried as a
/// string so no digit is lost. `parse` reads any decimal text (`-0.70`, `1e-05`, `12345678901234567890`)
/// and `text` renders the one canonical form the agent writes, so equal numbers compare equal as text.
package struct DynamoNumber: Sendable, Equatable, Hashable, CustomStringConvertible {
    /// Significant digits without leading or trailing zeros ("0" for zero), as ASCII.
    package var digits: [UInt8]
    /// The value is `digits × 10^exponent`.
    package var exponent: Int
    package var negative: Bool

    package static let maxDigits = 38

    package enum Problem: Error, Sendable, Equatable, CustomStringConvertible {
        case notANumber(String)
        case tooPrecise(Int)
        case outOfRange

        package var description: String {
            switch self {
            case .notANumber(let s): "'\(s.prefix(40))' is not a decimal number"
            case .tooPrecise(let n):
                "\(n) significant digits; DynamoDB keeps at most 38"
            case .outOfRange: "out of DynamoDB's number range (1E-130 to 9.9E+125 in magnitude)"
            }
        }
    }

    package static let zero = DynamoNumber(digits: [UInt8(ascii: "0")], exponent: 0, negative: false)

    /// Builds from a digit string (no sign, no point, leading zeros allowed) and an exponent, checking
    /// DynamoDB's limits.
    package static func make(digits raw: some Collection<UInt8>, exponent: Int, negative: Bool) throws(Problem)
        -> DynamoNumber
    {
        var start = raw.startIndex
        while start != raw.endIndex, raw[start] == UInt8(ascii: "0") { start = raw.index(after: start) }
        if start == raw.endIndex { return .zero }
        var d = Array(raw[start...])
        var e = exponent
        while let last = d.last, last == UInt8(ascii: "0") {
            d.removeLast()
            e += 1
        }
        guard d.count <= maxDigits else { throw .tooPrecise(d.count) }
        // The adjusted exponent: the power of ten of the first digit.
        let adjusted = e + d.count - 1
        guard adjusted >= -130, adjusted <= 125 else { throw .outOfRange }
        return DynamoNumber(digits: d, exponent: e, negative: negative)
    }

    /// Reads `[-+]digits[.digits][e[-+]digits]`.
    package static func parse(_ text: some StringProtocol) throws(Problem) -> DynamoNumber {
        try parse(bytes: Array(text.utf8))
    }

    package static func parse(bytes s: [UInt8]) throws(Problem) -> DynamoNumber {
        func bad() -> Problem { .notANumber(String(decoding: s, as: UTF8.self)) }
        var i = 0
        var negative = false
        if i < s.count, s[i] == UInt8(ascii: "-") || s[i] == UInt8(ascii: "+") {
            negative = s[i] == UInt8(ascii: "-")
            i += 1
        }
        var digits: [UInt8] = []
        var exponent = 0
        var sawDigit = false
        while i < s.count, s[i] >= 0x30, s[i] <= 0x39 {
            digits.append(s[i])
            sawDigit = true
            i += 1
        }
        if i < s.count, s[i] == UInt8(ascii: ".") {
            i += 1
            while i < s.count, s[i] >= 0x30, s[i] <= 0x39 {
                digits.append(s[i])
                exponent -= 1
                sawDigit = true
                i += 1
            }
        }
        guard sawDigit else { throw bad() }
        if i < s.count, s[i] == UInt8(ascii: "e") || s[i] == UInt8(ascii: "E") {
            i += 1
            var eneg = false
            if i < s.count, s[i] == UInt8(ascii: "-") || s[i] == UInt8(ascii: "+") {
                eneg = s[i] == UInt8(ascii: "-")
                i += 1
            }
            var ev = 0
            var any = false
            while i < s.count, s[i] >= 0x30, s[i] <= 0x39 {
                if ev < 1_000_000 { ev = ev * 10 + Int(s[i] - 0x30) }
                any = true
                i += 1
            }
            guard any else { throw bad() }
            exponent += eneg ? -ev : ev
        }
        guard i == s.count else { throw bad() }
        let n = try make(digits: digits, exponent: exponent, negative: negative)
        return n.isZero ? .zero : n
    }

    package var isZero: Bool { digits == [UInt8(ascii: "0")] }

    /// Plain decimal notation while it stays short, else `d.dddE+x`.
    package var text: String {
        var out: [UInt8] = []
        append(to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    package var description: String { text }

    package func append(to out: inout [UInt8]) {
        if isZero {
            out.append(UInt8(ascii: "0"))
            return
        }
        if negative { out.append(UInt8(ascii: "-")) }
        let n = digits.count
        if exponent >= 0 && n + exponent <= 40 {
            out += digits
            for _ in 0..<exponent { out.append(UInt8(ascii: "0")) }
        } else if exponent < 0 && -exponent < n {
            out += digits[0..<(n + exponent)]
            out.append(UInt8(ascii: "."))
            out += digits[(n + exponent)...]
        } else if exponent < 0 && n - exponent <= 40 {
            out += Array("0.".utf8)
            for _ in 0..<(-exponent - n) { out.append(UInt8(ascii: "0")) }
            out += digits
        } else {
            out.append(digits[0])
            if n > 1 {
                out.append(UInt8(ascii: "."))
                out += digits[1...]
            }
            out.append(UInt8(ascii: "E"))
            let adjusted = exponent + n - 1
            out.append(adjusted < 0 ? UInt8(ascii: "-") : UInt8(ascii: "+"))
            out += Array(String(abs(adjusted)).utf8)
        }
    }

    /// DynamoDB's size accounting for a number: about one byte per two significant digits, plus one.
    package var storageSize: Int { (digits.count + 1) / 2 + 1 }
}
