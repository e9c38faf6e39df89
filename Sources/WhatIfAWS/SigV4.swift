import WhatIfCore
import WhatIfCrypto

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// AWS Signature Version 4, written from AWS's specification and checked against its test suite.
package enum SigV4 {
    package struct Request: Sendable {
        package var method: String
        /// The path as it goes on the wire (already percent-encoded where needed).
        package var path: String
        /// The query string as it goes on the wire, without `?`.
        package var query: String
        package var headers: [(name: String, value: String)]
        /// Hex SHA-256 of the payload, or `UNSIGNED-PAYLOAD`.
        package var payloadHash: String

        // memberwise-init: package
    }

    package struct Scope: Sendable, Equatable {
        package var date: String  // YYYYMMDD
        package var region: String
        package var service: String
        package var string: String { "\(date)/\(region)/\(service)/aws4_request" }
    }

    private static let iso8601 = Date.ISO8601FormatStyle()

    /// `20150830T123600Z`.
    package static func amzDate(_ date: Date) -> String {
        iso8601.format(date).filter { $0 != "-" && $0 != ":" }
    }

    private static let unreserved: Set<UInt8> = Set(
        Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~".utf8))
    private static let hexUpper = Array("0123456789ABCDEF".utf8)

    /// RFC 3986 percent-encoding of everything but unreserved characters (and `/` when `keepSlash`).
    package static func uriEncode(_ s: some Sequence<UInt8>, keepSlash: Bool = false) -> String {
        var out: [UInt8] = []
        for c in s {
            if unreserved.contains(c) || (keepSlash && c == UInt8(ascii: "/")) {
                out.append(c)
            } else {
                out += [UInt8(ascii: "%"), hexUpper[Int(c >> 4)], hexUpper[Int(c & 15)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    package static func uriEncode(_ s: String, keepSlash: Bool = false) -> String {
        uriEncode(s.utf8, keepSlash: keepSlash)
    }

    static func percentDecode(_ s: Substring) -> [UInt8] {
        var out: [UInt8] = []
        let u = Array(s.utf8)
        var k = 0
        while k < u.count {
            if u[k] == UInt8(ascii: "%"), k + 2 < u.count,
                let v = UInt8(String(decoding: u[(k + 1)...(k + 2)], as: UTF8.self), radix: 16)
            {
                out.append(v)
                k += 3
            } else {
                out.append(u[k])
                k += 1
            }
        }
        return out
    }

    /// Removes `.` and `..` segments and empty segments (`//`), as AWS does for every service but S3.
    static func normalize(_ path: String) -> String {
        var out: [Substring] = []
        for seg in path.split(separator: "/", omittingEmptySubsequences: true) {
            if seg == "." { continue }
            if seg == ".." {
                _ = out.popLast()
                continue
            }
            out.append(seg)
        }
        var s = "/" + out.joined(separator: "/")
        if path.hasSuffix("/"), s != "/" { s += "/" }
        return s
    }

    static func canonicalPath(_ path: String, s3: Bool) -> String {
        if s3 { return path.isEmpty ? "/" : path }
        // Every other service: normalize, then encode each segment (again, if it was already encoded).
        return uriEncode(normalize(path.isEmpty ? "/" : path), keepSlash: true)
    }

    static func canonicalQuery(_ query: String) -> String {
        guard !query.isEmpty else { return "" }
        var pairs: [(String, String)] = []
        for part in query.split(separator: "&", omittingEmptySubsequences: true) {
            if let eq = part.firstIndex(of: "=") {
                pairs.append(
                    (uriEncode(percentDecode(part[..<eq])), uriEncode(percentDecode(part[part.index(after: eq)...]))))
            } else {
                pairs.append((uriEncode(percentDecode(part)), ""))
            }
        }
        pairs.sort {
            $0.0 != $1.0
                ? Array($0.0.utf8).lexicographicallyPrecedes(Array($1.0.utf8))
                : Array($0.1.utf8).lexicographicallyPrecedes(Array($1.1.utf8))
        }
        return pairs.map { "\($0.0)=\($0.1)" }.joined(separator: "&")
    }

    /// Trims and folds runs of spaces, as the canonical header form requires.
    static func canonicalHeaderValue(_ v: String) -> String {
        var out = ""
        var lastSpace = false
        for c in v.trimmingWhitespace() {
            if c == " " || c == "\t" {
                if !lastSpace { out.append(" ") }
                lastSpace = true
            } else {
                out.append(c)
                lastSpace = false
            }
        }
        return out
    }

    /// The canonical headers block and the signed-headers list.
    static func canonicalHeaders(_ headers: [(name: String, value: String)]) -> (block: String, signed: String) {
        var grouped: [String: [String]] = [:]
        var order: [String] = []
        for (n, v) in headers {
            let name = n.lowercased()
            if grouped[name] == nil { order.append(name) }
            grouped[name, default: []].append(canonicalHeaderValue(v))
        }
        let names = order.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        let block = names.map { "\($0):\(grouped[$0]!.joined(separator: ","))\n" }.joined()
        return (block, names.joined(separator: ";"))
    }

    package static func canonicalRequest(_ r: Request, s3: Bool = false) -> (canonical: String, signedHeaders: String) {
        let (block, signed) = canonicalHeaders(r.headers)
        let c = [
            r.method.uppercased(), canonicalPath(r.path, s3: s3), canonicalQuery(r.query), block, signed, r.payloadHash,
        ].joined(separator: "\n")
        return (c, signed)
    }

    package static func stringToSign(canonicalRequest: String, amzDate: String, scope: Scope) -> String {
        "AWS4-HMAC-SHA256\n\(amzDate)\n\(scope.string)\n\(Digest.sha256Hex(canonicalRequest))"
    }

    package static func signingKey(secret: String, scope: Scope) -> [UInt8] {
        let kDate = HMAC.sha256(key: Array("AWS4\(secret)".utf8), message: scope.date)
        let kRegion = HMAC.sha256(key: kDate, message: scope.region)
        let kService = HMAC.sha256(key: kRegion, message: scope.service)
        return HMAC.sha256(key: kService, message: "aws4_request")
    }

    /// The value of the Authorization header for `request`, whose headers must already include
    /// host and x-amz-date (and x-amz-security-token and x-amz-content-sha256 where they apply).
    package static func authorization(
        _ request: Request, accessKeyId: String, secretAccessKey: String, amzDate: String, region: String,
        service: String, s3: Bool = false
    ) -> (authorization: String, canonicalRequest: String, stringToSign: String) {
        let scope = Scope(date: String(amzDate.prefix(8)), region: region, service: service)
        let (creq, signed) = canonicalRequest(request, s3: s3)
        let sts = stringToSign(canonicalRequest: creq, amzDate: amzDate, scope: scope)
        let sig = Hex.encode(HMAC.sha256(key: signingKey(secret: secretAccessKey, scope: scope), message: sts))
        return (
            "AWS4-HMAC-SHA256 Credential=\(accessKeyId)/\(scope.string), SignedHeaders=\(signed), Signature=\(sig)",
            creq,
            sts
        )
    }
}
