import COpenSSL

/// AES-256-GCM over OpenSSL's EVP interface: one message (a chunk) at a time, 12-byte nonce,
/// 16-byte tag.
package enum AESGCM {
    package static let keyBytes = 32
    package static let nonceBytes = 12
    package static let tagBytes = 16

    package struct AuthenticationFailure: Error, Sendable, Equatable {}

    /// Encrypts `plaintext`; answers ciphertext followed by the tag.
    package static func seal(_ plaintext: [UInt8], key: [UInt8], nonce: [UInt8], aad: [UInt8] = []) -> [UInt8] {
        precondition(key.count == keyBytes && nonce.count == nonceBytes)
        let ctx = EVP_CIPHER_CTX_new()!
        defer { EVP_CIPHER_CTX_free(ctx) }
        precondition(EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), nil, key, nonce) == 1, "EVP_EncryptInit_ex")
        var n: Int32 = 0
        if !aad.isEmpty { precondition(EVP_EncryptUpdate(ctx, nil, &n, aad, Int32(aad.count)) == 1) }
        var out = [UInt8](repeating: 0, count: plaintext.count + tagBytes)
        var written = 0
        if !plaintext.isEmpty {
            out.withUnsafeMutableBufferPointer { o in
                precondition(EVP_EncryptUpdate(ctx, o.baseAddress, &n, plaintext, Int32(plaintext.count)) == 1)
            }
            written = Int(n)
        }
        out.withUnsafeMutableBufferPointer { o in
            precondition(EVP_EncryptFinal_ex(ctx, o.baseAddress! + written, &n) == 1)
            written += Int(n)
            precondition(
                EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, Int32(tagBytes), o.baseAddress! + written) == 1)
        }
        return Array(out[0..<(written + tagBytes)])
    }

    /// Decrypts ciphertext followed by its tag; throws when the tag does not authenticate (a wrong key,
    /// a changed byte, a chunk moved or cut).
    package static func open(_ sealed: [UInt8], key: [UInt8], nonce: [UInt8], aad: [UInt8] = [])
        throws(AuthenticationFailure) -> [UInt8]
    {
        guard key.count == keyBytes, nonce.count == nonceBytes, sealed.count >= tagBytes else {
            throw AuthenticationFailure()
        }
        let ctx = EVP_CIPHER_CTX_new()!
        defer { EVP_CIPHER_CTX_free(ctx) }
        guard EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), nil, key, nonce) == 1 else { throw AuthenticationFailure() }
        var n: Int32 = 0
        if !aad.isEmpty, EVP_DecryptUpdate(ctx, nil, &n, aad, Int32(aad.count)) != 1 { throw AuthenticationFailure() }
        let body = sealed.count - tagBytes
        var out = [UInt8](repeating: 0, count: max(body, 1))
        var written = 0
        if body > 0 {
            let ok = out.withUnsafeMutableBufferPointer { o in
                sealed.withUnsafeBufferPointer { s in
                    EVP_DecryptUpdate(ctx, o.baseAddress, &n, s.baseAddress, Int32(body)) == 1
                }
            }
            guard ok else { throw AuthenticationFailure() }
            written = Int(n)
        }
        var tag = Array(sealed[body...])
        guard EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, Int32(tagBytes), &tag) == 1 else {
            throw AuthenticationFailure()
        }
        let final = out.withUnsafeMutableBufferPointer { o in EVP_DecryptFinal_ex(ctx, o.baseAddress! + written, &n) }
        guard final == 1 else { throw AuthenticationFailure() }
        return Array(out[0..<written])
    }

    /// `count` bytes from OpenSSL's CSPRNG.
    package static func randomBytes(_ count: Int) -> [UInt8] {
        var b = [UInt8](repeating: 0, count: count)
        precondition(RAND_bytes(&b, Int32(count)) == 1, "RAND_bytes")
        return b
    }
}

/// A file encrypted in chunks, so it can be written and read as a stream: a 20-byte header (`WHATIFE1`,
/// the chunk size as a big-endian UInt32, an 8-byte random nonce prefix), then each chunk of up to
/// `chunkSize` plaintext bytes sealed with AES-256-GCM under the nonce prefix + the chunk's big-endian
/// UInt32 index, the last chunk marked in its additional data (so a file cut at a chunk boundary does
/// not authenticate). An empty file is one empty final chunk.
package enum ChunkedCipher {
    package static let magic = Array("WHATIFE1".utf8)
    package static let headerBytes = 20
    package static let defaultChunk = 1 << 20

    /// The encrypted size of `plaintext` bytes.
    package static func encryptedSize(_ plaintext: Int64, chunk: Int = defaultChunk) -> Int64 {
        let chunks = max(1, (plaintext + Int64(chunk) - 1) / Int64(chunk))
        return Int64(headerBytes) + plaintext + chunks * Int64(AESGCM.tagBytes)
    }

    static func nonce(_ prefix: [UInt8], _ index: UInt32) -> [UInt8] {
        prefix + [UInt8(index >> 24), UInt8(index >> 16 & 0xFF), UInt8(index >> 8 & 0xFF), UInt8(index & 0xFF)]
    }

    /// Encrypts a stream: `write` receives the header and each sealed chunk in order.
    package struct Encryptor: ~Copyable {
        let key: [UInt8]
        let chunk: Int
        let prefix: [UInt8]
        var index: UInt32 = 0
        var pending: [UInt8] = []
        let write: ([UInt8]) throws -> Void

        package init(key: [UInt8], chunk: Int = ChunkedCipher.defaultChunk, write: @escaping ([UInt8]) throws -> Void)
            throws
        {
            self.key = key
            self.chunk = chunk
            self.write = write
            prefix = AESGCM.randomBytes(8)
            let c = UInt32(chunk)
            try write(
                ChunkedCipher.magic + [UInt8(c >> 24), UInt8(c >> 16 & 0xFF), UInt8(c >> 8 & 0xFF), UInt8(c & 0xFF)]
                    + prefix)
        }

        /// Full chunks go out once a byte beyond them has arrived (the last one is sealed by `finish`).
        package mutating func update(_ bytes: UnsafeRawBufferPointer) throws {
            pending.append(contentsOf: bytes)
            while pending.count > chunk {
                try seal(Array(pending[0..<chunk]), final: false)
                pending.removeFirst(chunk)
            }
        }

        package consuming func finish() throws {
            try seal(pending, final: true)
        }

        mutating func seal(_ plain: [UInt8], final: Bool) throws {
            try write(AESGCM.seal(plain, key: key, nonce: ChunkedCipher.nonce(prefix, index), aad: [final ? 1 : 0]))
            index &+= 1
        }
    }

    /// Decrypts a stream: `write` receives the plaintext of each chunk once it authenticates.
    package struct Decryptor: ~Copyable {
        package enum Problem: Error, Sendable, Equatable {
            case notEncrypted
            case badHeader
            /// Chunk `index` does not authenticate: a wrong key, or a changed, moved or cut file.
            case chunk(index: UInt32)
        }

        let key: [UInt8]
        var chunk = 0
        var prefix: [UInt8] = []
        var index: UInt32 = 0
        var pending: [UInt8] = []
        let write: ([UInt8]) throws -> Void

        package init(key: [UInt8], write: @escaping ([UInt8]) throws -> Void) {
            self.key = key
            self.write = write
        }

        package mutating func update(_ bytes: UnsafeRawBufferPointer) throws {
            pending.append(contentsOf: bytes)
            if chunk == 0 {
                guard pending.count >= ChunkedCipher.headerBytes else { return }
                guard Array(pending[0..<8]) == ChunkedCipher.magic else { throw Problem.notEncrypted }
                let c = pending[8..<12].reduce(0) { $0 << 8 | Int($1) }
                guard (1...(16 << 20)).contains(c) else { throw Problem.badHeader }
                chunk = c
                prefix = Array(pending[12..<20])
                pending.removeFirst(ChunkedCipher.headerBytes)
            }
            let sealed = chunk + AESGCM.tagBytes
            while pending.count > sealed {
                try open(Array(pending[0..<sealed]), final: false)
                pending.removeFirst(sealed)
            }
        }

        package consuming func finish() throws {
            guard chunk > 0 else { throw pending.isEmpty ? Problem.notEncrypted : Problem.badHeader }
            try open(pending, final: true)
        }

        mutating func open(_ sealed: [UInt8], final: Bool) throws {
            let plain: [UInt8]
            do {
                plain = try AESGCM.open(
                    sealed, key: key, nonce: ChunkedCipher.nonce(prefix, index), aad: [final ? 1 : 0])
            } catch {
                throw Problem.chunk(index: index)
            }
            try write(plain)
            index &+= 1
        }
    }
}
