#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The admin API's JSON conventions, shared by agent and client:
/// camelCase keys, RFC 3339 UTC timestamps with milliseconds, sorted keys (stable output).
public enum APICoding {
    /// A JSONEncoder with the API's conventions; `pretty` indents (for people).
    public static func encoder(pretty: Bool = false) -> JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting =
            pretty ? [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        e.dateEncodingStrategy = .custom { date, encoder in
            var c = encoder.singleValueContainer()
            try c.encode(Timestamp.format(date))
        }
        return e
    }

    /// A JSONDecoder with the API's conventions (timestamps with or without milliseconds).
    public static func decoder() -> JSONDecoder {
        let d = JSONDecoder()
        d.dateDecodingStrategy = .custom { decoder in
            let c = try decoder.singleValueContainer()
            let s = try c.decode(String.self)
            guard let date = Timestamp.parse(s) else {
                throw DecodingError.dataCorruptedError(in: c, debugDescription: "not an RFC 3339 timestamp: \(s)")
            }
            return date
        }
        return d
    }

    /// Encodes a value as the API writes it.
    public static func encode<T: Encodable>(_ value: T, pretty: Bool = false) throws -> [UInt8] {
        Array(try encoder(pretty: pretty).encode(value))
    }

    /// Decodes a value as the API writes it.
    public static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        try decoder().decode(type, from: Data(bytes))
    }
}

/// RFC 3339 timestamps in UTC with milliseconds: `2026-11-24T20:37:33.123Z`.
public enum Timestamp {
    private static let withFraction = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
    private static let withoutFraction = Date.ISO8601FormatStyle()

    /// `2026-11-24T20:37:33.123Z`.
    public static func format(_ date: Date) -> String {
        withFraction.format(date)
    }

    /// Accepts timestamps with or without fractional seconds.
    public static func parse(_ s: String) -> Date? {
        if let d = try? withFraction.parse(s) { return d }
        return try? withoutFraction.parse(s)
    }
}

extension JSONValue {
    /// Any Encodable value as JSON (job parameters and results as records keep them).
    public static func encoding(_ value: some Encodable) throws -> JSONValue {
        try APICoding.decode(JSONValue.self, from: try APICoding.encode(value))
    }
}
