/// IEEE 754-2008 decimal128 in BID encoding, as BSON stores it (little-endian). Only what the migration
/// needs: to a decimal number and back, exactly.
package enum Decimal128 {
    package enum Value: Sendable, Equatable {
        case finite(negative: Bool, coefficient: UInt128, exponent: Int)
        case infinity(negative: Bool)
        case nan
    }

    static let bias = 6176
    /// 10^34 - 1: 34 nines.
    static let maxCoefficient: UInt128 = UInt128(10_000_000_000_000_000) * 10_000_000_000_000_000 * 100 - 1

    package static func decode(low: UInt64, high: UInt64) -> Value {
        let negative = high >> 63 == 1
        if (high >> 61) & 3 == 3 {
            switch (high >> 58) & 0x1F {
            case 0x1E: return .infinity(negative: negative)
            case 0x1F: return .nan
            default:
                // A coefficient with the implicit 100 prefix is over 10^34: non-canonical, so zero.
                return .finite(negative: negative, coefficient: 0, exponent: Int((high >> 47) & 0x3FFF) - bias)
            }
        }
        let exponent = Int((high >> 49) & 0x3FFF) - bias
        var coefficient = UInt128(high & 0x1_FFFF_FFFF_FFFF) << 64 | UInt128(low)
        if coefficient > maxCoefficient { coefficient = 0 }
        return .finite(negative: negative, coefficient: coefficient, exponent: exponent)
    }

    package static func decode(_ bytes: UnsafeRawBufferPointer) -> Value {
        decode(
            low: UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self)),
            high: UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self)))
    }

    /// The number, or nil for NaN and infinities (DynamoDB has neither).
    package static func number(_ v: Value) throws(DynamoNumber.Problem) -> DynamoNumber? {
        guard case .finite(let negative, let coefficient, let exponent) = v else { return nil }
        return try DynamoNumber.make(
            digits: Array(String(coefficient).utf8), exponent: exponent, negative: negative)
    }

    /// Encodes a decimal string (`1.5`, `-0`, `1E+3`, `NaN`, `Infinity`) the way MongoDB's drivers parse
    /// `$numberDecimal`. Nil when it has more than 34 digits or an exponent out of range.
    package static func encode(_ text: String) -> (low: UInt64, high: UInt64)? {
        switch text {
        case "NaN": return (0, 0x7C00_0000_0000_0000)
        case "Infinity", "Inf": return (0, 0x7800_0000_0000_0000)
        case "-Infinity", "-Inf": return (0, 0xF800_0000_0000_0000)
        default: break
        }
        var s = Substring(text)
        var negative = false
        if s.first == "-" || s.first == "+" {
            negative = s.first == "-"
            s = s.dropFirst()
        }
        var mantissa = s
        var exp = 0
        if let e = s.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            guard let ev = Int(s[s.index(after: e)...]) else { return nil }
            exp = ev
            mantissa = s[..<e]
        }
        var digits: [UInt8] = []
        var seenPoint = false
        for c in mantissa.utf8 {
            if c == UInt8(ascii: ".") {
                if seenPoint { return nil }
                seenPoint = true
            } else if c >= 0x30 && c <= 0x39 {
                digits.append(c)
                if seenPoint { exp -= 1 }
            } else {
                return nil
            }
        }
        guard !digits.isEmpty else { return nil }
        while digits.count > 1 && digits.first == UInt8(ascii: "0") { digits.removeFirst() }
        guard digits.count <= 34 else { return nil }
        var coefficient: UInt128 = 0
        for d in digits { coefficient = coefficient * 10 + UInt128(d - 0x30) }
        let biased = exp + bias
        guard biased >= 0, biased <= 0x2FFF else { return nil }
        let high = (negative ? UInt64(1) << 63 : 0) | UInt64(biased) << 49 | UInt64(coefficient >> 64)
        return (UInt64(truncatingIfNeeded: coefficient), high)
    }
}
