import WhatIfCore
import WhatIfCrypto
import WhatIfProtocol

/// A manifest's own checksum, over the file's bytes: the file is written with `manifestSHA256` set to
/// 64 zeros, hashed, and the zeros replaced by the hash; a reader puts the zeros back and hashes again.
/// Byte for byte, so it does not depend on how JSON values re-encode.
package enum ManifestSeal {
    static let key = Array("\"manifestSHA256\"".utf8)
    static let zeros = String(repeating: "0", count: 64)

    /// The manifest file's bytes: pretty JSON, sealed.
    package static func encode(_ m: BackupManifest) throws -> [UInt8] {
        var s = m
        s.manifestSHA256 = zeros
        var bytes = try APICoding.encode(s, pretty: true)
        guard let at = valueRange(bytes) else { throw Failure("cannot seal the manifest of \(m.id)") }
        let hash = Array(Digest.sha256Hex(bytes).utf8)
        bytes.replaceSubrange(at, with: hash)
        return bytes
    }

    /// nil when the file matches the checksum it records (or records none: written before checksums);
    /// otherwise why not.
    package static func problem(_ bytes: [UInt8], _ m: BackupManifest) -> String? {
        guard let recorded = m.manifestSHA256 else { return nil }
        guard let at = valueRange(bytes) else { return "its manifestSHA256 cannot be found in the file" }
        var zeroed = bytes
        zeroed.replaceSubrange(at, with: Array(zeros.utf8))
        let actual = Digest.sha256Hex(zeroed)
        return recorded == actual
            ? nil
            : "it does not match its own checksum (recorded \(recorded.prefix(12))…, computed \(actual.prefix(12))…): it was edited or damaged"
    }

    /// Where the 64 characters of the `manifestSHA256` value are in the file.
    static func valueRange(_ bytes: [UInt8]) -> Range<Int>? {
        guard bytes.count > key.count else { return nil }
        var i = 0
        while i + key.count <= bytes.count {
            if bytes[i] == key[0], Array(bytes[i..<(i + key.count)]) == key {
                var j = i + key.count
                while j < bytes.count, bytes[j] == UInt8(ascii: " ") || bytes[j] == UInt8(ascii: ":") { j += 1 }
                guard j < bytes.count, bytes[j] == UInt8(ascii: "\""), j + 65 < bytes.count,
                    bytes[j + 65] == UInt8(ascii: "\"")
                else { return nil }
                return (j + 1)..<(j + 65)
            }
            i += 1
        }
        return nil
    }
}

/// A manifest that cannot be trusted: unreadable, not a complete backup of its id, or failing its checksum.
package struct ManifestDamage: OperatorError, Sendable {
    package var id: String
    package var location: BackupLocation
    package var manifestPath: String
    package var reason: String

    package var message: String { "the manifest of backup \(id) (\(manifestPath)) is damaged: \(reason)" }
    package var hint: String? {
        "the backup cannot be trusted: restore another one; the next prune moves it aside (quarantine), or delete it"
    }

    package var record: DamagedBackup {
        DamagedBackup(id: id, location: location, manifest: manifestPath, reason: reason, hint: hint ?? "")
    }
}
