import WhatIfAWS
import WhatIfCore
import WhatIfCrypto
import WhatIfProtocol

#if canImport(Glibc)
    import Glibc
#endif
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// `backups.encryption`: where each backup's data key comes from and what wraps it.
package enum BackupKeySource: Sendable, Equatable {
    /// GenerateDataKey under this KMS key; Decrypt to read.
    case kms(keyId: String)
    /// A random data key wrapped by the 32-byte key in this file (development; mode 0600 or stricter).
    case keyFile(path: String)

    var setting: String {
        switch self {
        case .kms: "backups.encryption.kms_key_id"
        case .keyFile: "backups.encryption.key_file"
        }
    }
}

/// Envelope encryption of backup files: a data key per backup, its files sealed in chunks
/// (`ChunkedCipher`), the data key wrapped in the manifest. Blocking.
package struct BackupCipher: Sendable {
    package let source: BackupKeySource?
    let kms: KMS?

    // memberwise-init: package

    static let wrapAAD = Array("whatif-backup-data-key".utf8)

    /// A new data key for one backup and how the manifest records it.
    package func newDataKey() throws -> (key: [UInt8], record: ClientEncryption)? {
        guard let source else { return nil }
        switch source {
        case .kms(let keyId):
            let kms = try requireKMS()
            _ = try kms.requireEnabled(keyId, setting: source.setting)
            let dk = try kms.generateDataKey(keyId)
            return (
                dk.plaintext,
                ClientEncryption(
                    chunkBytes: ChunkedCipher.defaultChunk, kmsKeyId: dk.keyArn,
                    wrappedKey: Data(dk.wrapped).base64EncodedString())
            )
        case .keyFile(let path):
            let fileKey = try Self.readKeyFile(path)
            let key = AESGCM.randomBytes(AESGCM.keyBytes)
            let nonce = AESGCM.randomBytes(AESGCM.nonceBytes)
            let sealed = AESGCM.seal(key, key: fileKey, nonce: nonce, aad: Self.wrapAAD)
            return (
                key,
                ClientEncryption(
                    chunkBytes: ChunkedCipher.defaultChunk, keyFile: path, keyFingerprint: Self.fingerprint(fileKey),
                    wrappedKey: Data(nonce + sealed).base64EncodedString())
            )
        }
    }

    /// The data key of backup `id`, unwrapped: by KMS (the key recorded in the manifest, whatever the
    /// config names now), or by the configured key file when its fingerprint is the recorded one.
    package func dataKey(_ e: ClientEncryption, backup id: String) throws -> [UInt8] {
        guard e.algorithm == "AES-256-GCM", let wrapped = Data(base64Encoded: e.wrappedKey) else {
            throw Failure("backup \(id) is encrypted with \(e.algorithm), which this agent cannot read")
        }
        if let keyId = e.kmsKeyId {
            let kms = try requireKMS()
            _ = try kms.requireEnabled(keyId, setting: "the KMS key backup \(id) was encrypted with")
            do {
                let key = try kms.decrypt(Array(wrapped), keyId: keyId)
                guard key.count == AESGCM.keyBytes else {
                    throw Failure("KMS returned a data key of \(key.count) bytes")
                }
                return key
            } catch let err as AWSError {
                throw Failure(
                    "KMS key \(keyId) cannot unwrap the data key of backup \(id): \(err.code): \(err.message)",
                    hint: "the agent's role needs kms:Decrypt on \(keyId), and the key must be the one that wrapped it")
            }
        }
        guard case .keyFile(let path) = source else {
            throw Failure(
                "backup \(id) is encrypted with \(e.keyDescription), but backups.encryption.key_file is not set",
                hint: "set backups.encryption.key_file to that key file")
        }
        let fileKey = try Self.readKeyFile(path)
        let fp = Self.fingerprint(fileKey)
        guard fp == e.keyFingerprint else {
            throw Failure(
                "the key file \(path) (fingerprint \(fp)) is not the key backup \(id) was encrypted with: \(e.keyDescription)",
                hint: "set backups.encryption.key_file to the key with fingerprint \(e.keyFingerprint ?? "?")")
        }
        let w = Array(wrapped)
        guard w.count == AESGCM.nonceBytes + AESGCM.keyBytes + AESGCM.tagBytes,
            let key = try? AESGCM.open(
                Array(w[AESGCM.nonceBytes...]), key: fileKey, nonce: Array(w[0..<AESGCM.nonceBytes]), aad: Self.wrapAAD)
        else {
            throw Failure("the key file \(path) does not open the data key of backup \(id): the manifest is damaged")
        }
        return key
    }

    func requireKMS() throws -> KMS {
        guard let kms else {
            throw Failure(
                "backups are encrypted with KMS but AWS is not configured", hint: "configure aws: and region:")
        }
        return kms
    }

    /// The key in a key file: 32 bytes, as raw bytes, 64 hex digits or base64. The file must not be
    /// readable by group or others.
    package static func readKeyFile(_ path: String) throws -> [UInt8] {
        var st = stat()
        guard stat(path, &st) == 0 else {
            throw Failure(
                "cannot read the key file \(path) (backups.encryption.key_file): \(Files.errnoText())",
                hint: "create one: head -c 32 /dev/urandom > \(path); chmod 600 \(path)")
        }
        guard st.st_mode & 0o077 == 0 else {
            throw Failure(
                "the key file \(path) may be read by others (mode \(String(st.st_mode & 0o777, radix: 8)))",
                hint: "chmod 600 \(path)")
        }
        let bytes = try Files.read(path, limit: 4096)
        if bytes.count == AESGCM.keyBytes { return bytes }
        let text = String(decoding: bytes, as: UTF8.self).trimmingWhitespace()
        if text.count == 64, let hex = Hex.decode(text) { return hex }
        if let b = Data(base64Encoded: text), b.count == AESGCM.keyBytes { return Array(b) }
        throw Failure(
            "the key file \(path) does not hold a 32-byte key (raw, 64 hex digits or base64)",
            hint: "create one: head -c 32 /dev/urandom > \(path); chmod 600 \(path)")
    }

    static func fingerprint(_ key: [UInt8]) -> String { String(Digest.sha256Hex(key).prefix(16)) }

    /// Encrypts a finished file in place: written beside it (0600), synced, renamed over it.
    package static func encryptFile(_ path: String, key: [UInt8]) throws {
        let tmp = path + ".enc-tmp"
        let out = try HashedFile(path: tmp)
        do {
            var enc = try ChunkedCipher.Encryptor(key: key) { sealed in
                try sealed.withUnsafeBytes { try out.write($0) }
            }
            try LocalFiles.stream(path) { try enc.update($0) }
            try enc.finish()
            _ = try out.finish(relativeTo: Files.directory(of: path))
            guard rename(tmp, path) == 0 else { throw Failure("cannot rename \(tmp) to \(path): \(Files.errnoText())") }
        } catch {
            unlink(tmp)
            throw error
        }
    }
}

/// A store whose files are read decrypted: what verify, restore and the drill read of an encrypted
/// backup. Listing answers plaintext sizes (a stored size that no plaintext size encrypts to is
/// answered as -1, which no manifest matches).
package struct DecryptingStore: BackupStore {
    let inner: any BackupStore
    let key: [UInt8]
    let chunk: Int

    package init(_ inner: any BackupStore, key: [UInt8], chunk: Int) {
        self.inner = inner
        self.key = key
        self.chunk = chunk
    }

    package var location: BackupLocation { inner.location }
    package var description: String { inner.description }
    package func ids(kind: BackupKind) throws -> [String] { try inner.ids(kind: kind) }
    package func readSide(_ id: String, _ name: String) throws -> [UInt8]? { try inner.readSide(id, name) }
    package func writeSide(_ id: String, _ name: String, _ bytes: [UInt8]) throws {
        try inner.writeSide(id, name, bytes)
    }
    package func deleteSide(_ id: String, _ name: String) throws { try inner.deleteSide(id, name) }
    package func delete(_ id: String) throws { try inner.delete(id) }

    package func files(_ id: String) throws -> [String: Int64] {
        try inner.files(id).mapValues { Self.plaintextSize($0, chunk: chunk) }
    }

    static func plaintextSize(_ stored: Int64, chunk: Int) -> Int64 {
        let body = stored - Int64(ChunkedCipher.headerBytes)
        let sealed = Int64(chunk + AESGCM.tagBytes)
        guard body >= Int64(AESGCM.tagBytes) else { return -1 }
        let chunks = (body + sealed - 1) / sealed
        let plain = body - chunks * Int64(AESGCM.tagBytes)
        return ChunkedCipher.encryptedSize(plain, chunk: chunk) == stored ? plain : -1
    }

    @discardableResult
    package func read(_ id: String, _ path: String, _ sink: (UnsafeRawBufferPointer) throws -> Void) throws
        -> S3Encryption.Reported?
    {
        try withoutActuallyEscaping(sink) { sink in
            var dec = ChunkedCipher.Decryptor(key: key) { plain in try plain.withUnsafeBytes { try sink($0) } }
            let reported: S3Encryption.Reported?
            do {
                reported = try inner.read(id, path) { try dec.update($0) }
                try dec.finish()
            } catch let p as ChunkedCipher.Decryptor.Problem {
                switch p {
                case .notEncrypted: throw Failure("\(path) is not encrypted, but the manifest says it is")
                case .badHeader: throw Failure("\(path) has a damaged encryption header")
                case .chunk(let i):
                    throw Failure(
                        "\(path) does not decrypt at chunk \(i): the file is damaged, or it was not encrypted with this backup's data key"
                    )
                }
            }
            return reported
        }
    }
}

/// The encrypted-file reader, for the fuzz package: any bytes as an encrypted backup file, under a
/// fixed key (a header, chunks, a cut, a wrong key all end in `Decryptor.Problem`).
public enum EncryptedFileInput {
    static let fuzzKey = [UInt8](repeating: 7, count: AESGCM.keyBytes)

    /// Decrypts `bytes` in pieces of `piece` bytes; answers the plaintext bytes that authenticated.
    @discardableResult
    public static func decrypt(_ bytes: [UInt8], piece: Int) -> Int {
        var n = 0
        var dec = ChunkedCipher.Decryptor(key: fuzzKey) { n += $0.count }
        var i = 0
        let step = max(1, piece)
        do {
            while i < bytes.count {
                let end = min(bytes.count, i + step)
                try bytes[i..<end].withUnsafeBytes { try dec.update($0) }
                i = end
            }
            try dec.finish()
        } catch {}
        return n
    }
}
