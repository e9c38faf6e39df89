import COpenSSL
import WhatIfCore

#if canImport(Glibc)
    import Glibc
#endif

package struct TLSError: OperatorError, Sendable {
    package var message: String
    package var hint: String?
    package init(_ message: String, hint: String? = nil) {
        self.message = message
        self.hint = hint
    }

    static func fromQueue(_ what: String, hint: String? = nil) -> TLSError {
        var reasons: [String] = []
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            var buf = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buf, buf.count)
            reasons.append(
                String(decoding: buf.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return TLSError(what + (reasons.isEmpty ? "" : ": " + reasons.joined(separator: "; ")), hint: hint)
    }
}

/// Client-side TLS settings: trust anchors and verification. Verification is always on.
package final class TLSClientContext: @unchecked Sendable {
    let ctx: OpaquePointer

    /// - Parameters:
    ///   - caFile: PEM bundle to trust; nil uses the system's trust store.
    ///   - certificateFile/keyFile: a client certificate, when the server asks for one.
    package init(caFile: String?, certificateFile: String? = nil, keyFile: String? = nil) throws(TLSError) {
        guard let c = SSL_CTX_new(TLS_client_method()) else { throw TLSError.fromQueue("SSL_CTX_new") }
        ctx = c
        _ = whatif_SSL_CTX_set_min_proto_version(c, whatif_TLS1_2_VERSION())
        SSL_CTX_set_verify(c, SSL_VERIFY_PEER, nil)
        if let caFile {
            guard SSL_CTX_load_verify_locations(c, caFile, nil) == 1 else {
                throw TLSError.fromQueue(
                    "cannot load CA file \(caFile)", hint: "point ca_file at a readable PEM bundle")
            }
        } else {
            guard SSL_CTX_set_default_verify_paths(c) == 1 else {
                throw TLSError.fromQueue("cannot load the system's trust store")
            }
        }
        if let certificateFile {
            guard SSL_CTX_use_certificate_chain_file(c, certificateFile) == 1 else {
                throw TLSError.fromQueue("cannot load client certificate \(certificateFile)")
            }
            guard SSL_CTX_use_PrivateKey_file(c, keyFile ?? certificateFile, SSL_FILETYPE_PEM) == 1 else {
                throw TLSError.fromQueue("cannot load client key \(keyFile ?? certificateFile)")
            }
        }
    }

    deinit { SSL_CTX_free(ctx) }
}

/// A TLS client session over a connected, non-blocking socket, with deadlines on every operation.
package final class TLSStream {
    private let ssl: OpaquePointer
    private let fd: Int32

    /// Performs the handshake, checking the certificate chain and that it names `serverName`.
    /// (Once `ssl` is set, a throw runs `deinit`, which frees it: error paths must not free it too.)
    package init(fd: Int32, context: TLSClientContext, serverName: String, deadline: Deadline) throws(TLSError) {
        guard let s = SSL_new(context.ctx) else { throw TLSError.fromQueue("SSL_new") }
        ssl = s
        self.fd = fd
        SSL_set_fd(s, fd)
        if !serverName.isEmpty {
            let isIP = serverName.contains(":") || serverName.allSatisfy { $0.isNumber || $0 == "." }
            if !isIP { _ = whatif_SSL_set_tlsext_host_name(s, serverName) }
            let param = SSL_get0_param(s)
            if isIP {
                guard X509_VERIFY_PARAM_set1_ip_asc(param, serverName) == 1 else {
                    throw TLSError("bad server address \(serverName)")
                }
            } else {
                X509_VERIFY_PARAM_set_hostflags(param, UInt32(X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS))
                guard SSL_set1_host(s, serverName) == 1 else {
                    throw TLSError("bad server name \(serverName)")
                }
            }
        }
        while true {
            ERR_clear_error()
            let rc = SSL_connect(s)
            if rc == 1 { break }
            let err = SSL_get_error(s, rc)
            if err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE {
                if !Self.wait(fd: fd, forRead: err == SSL_ERROR_WANT_READ, deadline: deadline) {
                    throw TLSError("TLS handshake with \(serverName) timed out")
                }
                continue
            }
            let verify = SSL_get_verify_result(s)
            if verify != X509_V_OK {
                let reason = String(cString: X509_verify_cert_error_string(verify))
                throw TLSError(
                    "the certificate of \(serverName) was not accepted: \(reason)",
                    hint:
                        "check ca_file (the CA that signed the server's certificate) and that the host name matches the certificate"
                )
            }
            throw TLSError.fromQueue("TLS handshake with \(serverName) failed")
        }
    }

    deinit { SSL_free(ssl) }

    package var protocolVersion: String { String(cString: SSL_get_version(ssl)) }

    static func wait(fd: Int32, forRead: Bool, deadline: Deadline) -> Bool {
        var p = pollfd(fd: fd, events: Int16(forRead ? POLLIN : POLLOUT), revents: 0)
        while true {
            let rc = poll(&p, 1, deadline.remainingMilliseconds)
            if rc > 0 { return true }
            if rc == 0 { return false }
            if errno != EINTR { return false }
        }
    }

    /// Reads up to `buffer.count` bytes; 0 means the peer closed.
    package func read(into buffer: UnsafeMutableRawBufferPointer, deadline: Deadline) throws(TLSError) -> Int {
        while true {
            ERR_clear_error()
            let n = SSL_read(ssl, buffer.baseAddress, Int32(buffer.count))
            if n > 0 { return Int(n) }
            let err = SSL_get_error(ssl, n)
            switch err {
            case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
                if !Self.wait(fd: fd, forRead: err == SSL_ERROR_WANT_READ, deadline: deadline) {
                    throw TLSError("timed out reading")
                }
            case SSL_ERROR_ZERO_RETURN:
                return 0
            case SSL_ERROR_SYSCALL where n == 0:
                return 0
            default:
                throw TLSError.fromQueue("TLS read failed")
            }
        }
    }

    package func write(_ bytes: UnsafeRawBufferPointer, deadline: Deadline) throws(TLSError) {
        var off = 0
        while off < bytes.count {
            ERR_clear_error()
            let n = SSL_write(ssl, bytes.baseAddress! + off, Int32(bytes.count - off))
            if n > 0 {
                off += Int(n)
                continue
            }
            let err = SSL_get_error(ssl, n)
            if err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE {
                if !Self.wait(fd: fd, forRead: err == SSL_ERROR_WANT_READ, deadline: deadline) {
                    throw TLSError("timed out writing")
                }
                continue
            }
            throw TLSError.fromQueue("TLS write failed")
        }
    }

    package func shutdown() {
        _ = SSL_shutdown(ssl)
    }
}
