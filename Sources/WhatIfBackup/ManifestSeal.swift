import WhatIfCore
import WhatIfCrypto
import WhatIfProtocol

/// A manifest's own checksum: SHA-256 of its canonical JSON (APICoding's sorted, compact form) without
/// the `checksum` key. Written with every manifest; checked wherever a manifest is read.
public enum ManifestSeal {
    /// The checksum of `m` as it will read back (dates round to the millisecond on the way to JSON, so
    /// the value is normalised through JSON once before it is hashed).
    public static func checksum(_ m: BackupManifest) throws -> String {
        var bare = m
        bare.checksum = nil
        let normalised = try APICoding.decode(BackupManifest.self, from: try APICoding.encode(bare))
        return Digest.sha256Hex(try APICoding.encode(normalised))
    }

    /// `m` with its checksum set.
    public static func sealed(_ m: BackupManifest) throws -> BackupManifest {
        var s = m
        s.checksum = try checksum(m)
        return s
    }

    /// The manifest file's bytes: pretty JSON, sealed.
    public static func encode(_ m: BackupManifest) throws -> [UInt8] {
        try APICoding.encode(try sealed(m), pretty: true)
    }

    /// nil when the manifest's checksum matches (or it has none: written before checksums); otherwise why not.
    public static func problem(_ m: BackupManifest) -> String? {
        guard let recorded = m.checksum else { return nil }
        guard let actual = try? checksum(m) else { return "its checksum cannot be computed" }
        return recorded == actual
            ? nil
            : "it does not match its own checksum (recorded \(recorded.prefix(12))…, computed \(actual.prefix(12))…): it was edited or damaged"
    }
}

/// A manifest that cannot be trusted: unreadable, not a complete backup of its id, or failing its checksum.
public struct ManifestDamage: OperatorError, Sendable {
    public var id: String
    public var location: BackupLocation
    public var manifestPath: String
    public var reason: String

    public var message: String { "the manifest of backup \(id) (\(manifestPath)) is damaged: \(reason)" }
    public var hint: String? {
        "the backup cannot be trusted: restore another one; the next prune moves it aside (quarantine), or delete it"
    }

    public var record: DamagedBackup {
        DamagedBackup(id: id, location: location, manifest: manifestPath, reason: reason, hint: hint ?? "")
    }
}
