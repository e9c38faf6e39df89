import COpenSSL
import WhatIfCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A streaming message digest (SHA-256, MD5) over OpenSSL's EVP interface.
package struct Digest: ~Copyable {
    package enum Algorithm: Sendable {
        case sha256, md5, sha1
        var md: OpaquePointer? {
            switch self {
            case .sha256: EVP_sha256()
            case .md5: EVP_md5()
            case .sha1: EVP_sha1()
            }
        }
    }

    private let ctx: OpaquePointer
    private let algorithm: Algorithm

    package init(_ algorithm: Algorithm) {
        ctx = EVP_MD_CTX_new()!
        self.algorithm = algorithm
        precondition(EVP_DigestInit_ex(ctx, algorithm.md, nil) == 1, "EVP_DigestInit_ex failed")
    }

    /// The digest of everything so far; the digest then starts over (for digests kept in a class).
    package mutating func finalize() -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var len: UInt32 = 0
        precondition(EVP_DigestFinal_ex(ctx, &out, &len) == 1)
        precondition(EVP_DigestInit_ex(ctx, algorithm.md, nil) == 1, "EVP_DigestInit_ex failed")
        return Array(out[0..<Int(len)])
    }

    deinit { EVP_MD_CTX_free(ctx) }

    package mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        precondition(EVP_DigestUpdate(ctx, base, bytes.count) == 1)
    }

    package mutating func update(_ bytes: some ContiguousBytes) {
        bytes.withUnsafeBytes { update($0) }
    }

    package mutating func update(_ string: String) {
        var s = string
        s.withUTF8 { update(UnsafeRawBufferPointer($0)) }
    }

    package consuming func finish() -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var len: UInt32 = 0
        precondition(EVP_DigestFinal_ex(ctx, &out, &len) == 1)
        return Array(out[0..<Int(len)])
    }

    package static func sha256(_ bytes: some ContiguousBytes) -> [UInt8] {
        var d = Digest(.sha256)
        d.update(bytes)
        return d.finish()
    }

    package static func sha256(_ string: String) -> [UInt8] {
        var d = Digest(.sha256)
        d.update(string)
        return d.finish()
    }

    package static func sha256Hex(_ bytes: some ContiguousBytes) -> String { Hex.encode(sha256(bytes)) }
    package static func sha256Hex(_ string: String) -> String { Hex.encode(sha256(string)) }

    package static func md5(_ bytes: some ContiguousBytes) -> [UInt8] {
        var d = Digest(.md5)
        d.update(bytes)
        return d.finish()
    }
}

package enum HMAC {
    /// HMAC-SHA256(key, message).
    package static func sha256(key: [UInt8], message: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        var len: UInt32 = 32
        key.withUnsafeBufferPointer { k in
            message.withUnsafeBufferPointer { m in
                _ = COpenSSL.HMAC(EVP_sha256(), k.baseAddress, Int32(k.count), m.baseAddress, m.count, &out, &len)
            }
        }
        return out
    }

    package static func sha256(key: [UInt8], message: String) -> [UInt8] {
        sha256(key: key, message: Array(message.utf8))
    }
}

/// Bytes from OpenSSL's CSPRNG.
package func secureRandomBytes(_ count: Int) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: count)
    precondition(RAND_bytes(&out, Int32(count)) == 1, "RAND_bytes failed")
    return out
}
