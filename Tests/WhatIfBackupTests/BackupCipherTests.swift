import Foundation
import Testing
import WhatIfBackup
import WhatIfCore
import WhatIfCrypto
import WhatIfTesting

/// Chunked AES-256-GCM files and the key file, without a stack.
@Suite struct BackupCipherTests {
    let key = AESGCM.randomBytes(32)

    func encrypt(_ plain: [UInt8], chunk: Int, pieces: Int = 7) throws -> [UInt8] {
        var out: [UInt8] = []
        var enc = try ChunkedCipher.Encryptor(key: key, chunk: chunk) { out += $0 }
        var i = 0
        while i < plain.count {
            let n = min(pieces, plain.count - i)
            try plain[i..<(i + n)].withUnsafeBytes { try enc.update($0) }
            i += n
        }
        try enc.finish()
        return out
    }

    func decrypt(_ sealed: [UInt8], key: [UInt8]? = nil, pieces: Int = 5) throws -> [UInt8] {
        var out: [UInt8] = []
        var dec = ChunkedCipher.Decryptor(key: key ?? self.key) { out += $0 }
        var i = 0
        while i < sealed.count {
            let n = min(pieces, sealed.count - i)
            try sealed[i..<(i + n)].withUnsafeBytes { try dec.update($0) }
            i += n
        }
        try dec.finish()
        return out
    }

    @Test func roundTripsAtEveryBoundaryAndSizeIsPredicted() throws {
        for size in [0, 1, 15, 16, 17, 32, 33, 100] {
            let plain = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 7) }
            let sealed = try encrypt(plain, chunk: 16)
            #expect(Array(sealed[0..<8]) == Array("WHATIFE1".utf8))
            #expect(Int64(sealed.count) == ChunkedCipher.encryptedSize(Int64(size), chunk: 16), "\(size)")
            #expect(try decrypt(sealed) == plain, "\(size)")
        }
    }

    @Test func aChangedByteAMissingChunkOrAnotherKeyDoNotDecrypt() throws {
        let plain = [UInt8](repeating: 42, count: 64)
        let sealed = try encrypt(plain, chunk: 16)
        var flipped = sealed
        flipped[20 + 32 + 3] ^= 1  // in chunk 1
        #expect(throws: ChunkedCipher.Decryptor.Problem.chunk(index: 1)) { try decrypt(flipped) }
        // Cut after chunk 2 (of 4): chunk 2 was not the last one written, so it does not authenticate as last.
        let cut = Array(sealed[0..<(20 + 3 * 32)])
        #expect(throws: ChunkedCipher.Decryptor.Problem.chunk(index: 2)) { try decrypt(cut) }
        #expect(throws: ChunkedCipher.Decryptor.Problem.chunk(index: 0)) {
            try decrypt(sealed, key: AESGCM.randomBytes(32))
        }
        #expect(throws: ChunkedCipher.Decryptor.Problem.notEncrypted) {
            try decrypt(Array("PGDMP plain dump....".utf8))
        }
    }

    @Test func keyFilesInThreeFormsAndOnlyPrivateOnes() throws {
        let dir = TempDir()
        let raw = AESGCM.randomBytes(32)
        let rawPath = dir.file("raw.key")
        #expect(
            FileManager.default.createFile(atPath: rawPath, contents: Data(raw), attributes: [.posixPermissions: 0o600])
        )
        #expect(try BackupCipher.readKeyFile(rawPath) == raw)
        let hex = try dir.write("hex.key", Hex.encode(raw) + "\n", mode: 0o400)
        #expect(try BackupCipher.readKeyFile(hex) == raw)
        let b64 = try dir.write("b64.key", Data(raw).base64EncodedString(), mode: 0o600)
        #expect(try BackupCipher.readKeyFile(b64) == raw)
        let open = try dir.write("open.key", Hex.encode(raw), mode: 0o644)
        #expect { try BackupCipher.readKeyFile(open) } throws: { ($0 as? Failure)?.hint == "chmod 600 \(open)" }
        let short = try dir.write("short.key", "abc", mode: 0o600)
        #expect { try BackupCipher.readKeyFile(short) } throws: {
            ($0 as? Failure)?.message.contains("does not hold a 32-byte key") == true
        }
    }

    @Test func dataKeysWrappedByAKeyFileOpenOnlyWithThatFile() throws {
        let dir = TempDir()
        let a = try dir.write("a.key", Hex.encode(AESGCM.randomBytes(32)), mode: 0o600)
        let b = try dir.write("b.key", Hex.encode(AESGCM.randomBytes(32)), mode: 0o600)
        let (dataKey, record) = try #require(try BackupCipher(source: .keyFile(path: a), kms: nil).newDataKey())
        #expect(record.keyFile == a && record.keyFingerprint?.count == 16 && record.kmsKeyId == nil)
        #expect(try BackupCipher(source: .keyFile(path: a), kms: nil).dataKey(record, backup: "b1") == dataKey)
        #expect {
            try BackupCipher(source: .keyFile(path: b), kms: nil).dataKey(record, backup: "b1")
        } throws: { e in
            let f = e as? Failure
            return f?.message.contains("is not the key backup b1 was encrypted with") == true
                && f?.hint?.contains(record.keyFingerprint!) == true
        }
        #expect {
            try BackupCipher(source: nil, kms: nil).dataKey(record, backup: "b1")
        } throws: { ($0 as? Failure)?.message.contains("backups.encryption.key_file is not set") == true }
    }
}
