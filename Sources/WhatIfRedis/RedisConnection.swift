import WhatIfCore
import WhatIfCrypto

#if canImport(Glibc)
    import Glibc
#endif

package struct RedisConfig: Sendable {
    package var endpoint: RedisEndpoint
    /// PEM bundle to trust for rediss://; nil uses the system's trust store.
    package var caFile: String?
    /// Name to check in the server's certificate; defaults to the URL's host.
    package var serverName: String?
    /// Seconds for each command (or pipeline) and for connecting.
    package var timeout: Double = 5

    // memberwise-init: package
}

/// Why a Redis call failed.
package enum RedisErrorKind: Sendable, Equatable {
    case connection, timeout, auth, tls, protocolViolation
    /// The server answered a command with an error reply (`-ERR ...`).
    case server
}
package typealias RedisError = TransportError<RedisErrorKind>

/// One connection to Redis: RESP via hiredis's formatter and reader, over TCP, a Unix socket, or TLS.
/// Pipelining: `pipeline` writes every command, then reads every reply. Use from one thread at a time.
package final class RedisConnection {
    package let config: RedisConfig
    private var fd: Int32 = -1
    private var tls: TLSStream?
    private let reader = RESPReader()
    private var readBuffer = [UInt8](repeating: 0, count: 64 * 1024)

    package var tlsInUse: Bool { tls != nil }
    package var tlsProtocol: String? { tls?.protocolVersion }

    package init(_ config: RedisConfig, tlsContext: TLSClientContext? = nil) throws(RedisError) {
        self.config = config
        let deadline = Deadline.after(seconds: config.timeout)
        let endpointText = config.endpoint.display
        do {
            switch config.endpoint.transport {
            case .tcp(let host, let port):
                fd = try Sockets.connectTCP(host: host, port: port, deadline: deadline)
            case .unix(let path):
                fd = try Sockets.connectUnix(path: path, deadline: deadline)
            case .tls(let host, let port):
                fd = try Sockets.connectTCP(host: host, port: port, deadline: deadline)
                let ctx: TLSClientContext
                if let tlsContext {
                    ctx = tlsContext
                } else {
                    do { ctx = try TLSClientContext(caFile: config.caFile) } catch {
                        throw RedisError(.tls, error.message, hint: error.hint)
                    }
                }
                do {
                    tls = try TLSStream(fd: fd, context: ctx, serverName: config.serverName ?? host, deadline: deadline)
                } catch {
                    throw RedisError(.tls, "TLS to \(endpointText) failed: \(error.message)", hint: error.hint)
                }
            }
        } catch let e as SocketError {
            close()
            throw RedisError(
                e.kind == .timeout ? .timeout : .connection, "cannot connect to Redis at \(endpointText): \(e.message)",
                hint: e.hint ?? "is redis-server running there?")
        } catch let e as RedisError {
            close()
            throw e
        } catch {
            close()
            throw RedisError(.connection, "cannot connect to Redis at \(endpointText): \(error)")
        }
        try handshake(deadline: deadline)
    }

    deinit { close() }

    package func close() {
        tls?.shutdown()
        tls = nil
        if fd >= 0 {
            Glibc.close(fd)
            fd = -1
        }
    }

    private func handshake(deadline: Deadline) throws(RedisError) {
        let ep = config.endpoint
        if let password = ep.password {
            var args = ["AUTH"]
            if let user = ep.username { args.append(user) }
            args.append(password)
            let r = try roundTrip([args.map { Array($0.utf8) }], deadline: deadline)[0]
            if case .error(let e) = r {
                close()
                throw RedisError(
                    .auth, "Redis at \(ep.display) refused AUTH\(ep.username.map { " for user \($0)" } ?? ""): \(e)",
                    hint:
                        "check redis.username and redis.password_file (ElastiCache: the RBAC user and its access string)"
                )
            }
        }
        if ep.database != 0 {
            let r = try roundTrip([["SELECT", String(ep.database)].map { Array($0.utf8) }], deadline: deadline)[0]
            if case .error(let e) = r {
                close()
                throw RedisError(
                    .server, "Redis at \(ep.display) refused SELECT \(ep.database): \(e)",
                    hint: "cluster-mode and ElastiCache serverless only have database 0")
            }
        }
    }

    /// Sends one command and returns its reply (an error reply is returned, not thrown).
    package func command(_ args: String..., deadline: Deadline? = nil) throws(RedisError) -> RESPValue {
        try roundTrip([args.map { Array($0.utf8) }], deadline: deadline ?? .after(seconds: config.timeout))[0]
    }

    package func command(_ args: [String], deadline: Deadline? = nil) throws(RedisError) -> RESPValue {
        try roundTrip([args.map { Array($0.utf8) }], deadline: deadline ?? .after(seconds: config.timeout))[0]
    }

    /// Sends every command in one write, then reads one reply per command.
    package func pipeline(_ commands: [[String]], deadline: Deadline? = nil) throws(RedisError) -> [RESPValue] {
        try roundTrip(commands.map { $0.map { Array($0.utf8) } }, deadline: deadline ?? .after(seconds: config.timeout))
    }

    package func pipeline(binary commands: [[[UInt8]]], deadline: Deadline? = nil) throws(RedisError) -> [RESPValue] {
        try roundTrip(commands, deadline: deadline ?? .after(seconds: config.timeout))
    }

    private func roundTrip(_ commands: [[[UInt8]]], deadline: Deadline) throws(RedisError) -> [RESPValue] {
        guard fd >= 0 else { throw RedisError(.connection, "connection to \(config.endpoint.display) is closed") }
        var out: [UInt8] = []
        for c in commands { out += RESPFormatter.format(c) }
        if let failure = out.withUnsafeBytes({ raw in write(raw, deadline: deadline) }) {
            close()
            throw failure
        }
        var replies: [RESPValue] = []
        replies.reserveCapacity(commands.count)
        while replies.count < commands.count {
            do {
                while let r = try reader.next() {
                    replies.append(r)
                    if replies.count == commands.count { break }
                }
            } catch {
                close()
                throw RedisError(.protocolViolation, "\(error.description) from \(config.endpoint.display)")
            }
            if replies.count == commands.count { break }
            let n: Int
            do { n = try readSome(deadline: deadline) } catch {
                close()
                throw error
            }
            if n == 0 {
                close()
                throw RedisError(
                    .connection, "Redis at \(config.endpoint.display) closed the connection",
                    hint: "the server may have restarted, or hit its client output limits")
            }
            let reader = self.reader
            let feedError = readBuffer.withUnsafeBytes { raw -> RESPReader.ProtocolError? in
                do throws(RESPReader.ProtocolError) {
                    try reader.feed(UnsafeRawBufferPointer(rebasing: raw[0..<n]))
                    return nil
                } catch { return error }
            }
            if let feedError {
                close()
                throw RedisError(.protocolViolation, "\(feedError.description) from \(config.endpoint.display)")
            }
        }
        return replies
    }

    /// Writes everything; returns the failure, if any.
    private func write(_ bytes: UnsafeRawBufferPointer, deadline: Deadline) -> RedisError? {
        if let tls {
            do { try tls.write(bytes, deadline: deadline) } catch {
                return RedisError(.connection, "writing to \(config.endpoint.display): \(error.message)")
            }
        } else {
            do { try Sockets.writeAll(fd, bytes, deadline: deadline) } catch {
                return RedisError(
                    error.kind == .timeout ? .timeout : .connection,
                    "writing to \(config.endpoint.display): \(error.message)")
            }
        }
        return nil
    }

    private func readSome(deadline: Deadline) throws(RedisError) -> Int {
        let tls = self.tls
        let fd = self.fd
        let display = config.endpoint.display
        let result = readBuffer.withUnsafeMutableBytes { raw -> Result<Int, RedisError> in
            if let tls {
                do throws(TLSError) { return .success(try tls.read(into: raw, deadline: deadline)) } catch {
                    let timedOut = error.message.contains("timed out")
                    return .failure(
                        RedisError(
                            timedOut ? .timeout : .connection,
                            timedOut
                                ? "Redis at \(display) did not answer in time"
                                : "reading from \(display): \(error.message)"))
                }
            }
            do throws(SocketError) { return .success(try Sockets.read(fd, into: raw, deadline: deadline)) } catch {
                if error.kind == .timeout {
                    return .failure(RedisError(.timeout, "Redis at \(display) did not answer in time"))
                }
                return .failure(RedisError(.connection, "reading from \(display): \(error.message)"))
            }
        }
        return try result.get()
    }
}

extension RedisConnection {
    /// `INFO` parsed into section -> key -> value.
    package func info(_ section: String? = nil) throws(RedisError) -> [String: String] {
        let r = try command(section.map { ["INFO", $0] } ?? ["INFO"])
        guard case .bulk(let bytes) = r else {
            if case .error(let e) = r { throw RedisError(.server, "INFO failed: \(e)") }
            throw RedisError(.protocolViolation, "unexpected answer to INFO")
        }
        return Self.parseInfo(String(decoding: bytes, as: UTF8.self))
    }

    package static func parseInfo(_ text: String) -> [String: String] {
        var out: [String: String] = [:]
        for line in text.split(whereSeparator: { $0 == "\r\n" || $0 == "\n" || $0 == "\r" }) {
            if line.hasPrefix("#") { continue }
            guard let colon = line.firstIndex(of: ":") else { continue }
            out[String(line[..<colon])] = String(line[line.index(after: colon)...])
        }
        return out
    }
}
