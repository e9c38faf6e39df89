import WhatIfProtocol
import WhatIfUnits

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Why talking to the agent failed, in terms an operator can act on.
public enum ClientError: Error, Sendable, CustomStringConvertible {
    /// No socket file, or nobody listening on it.
    case agentNotRunning(socket: String, detail: String)
    /// The socket's permissions (or a directory on its path) refuse this user.
    case permissionDenied(socket: String)
    /// The agent answered with an error.
    case api(status: Int, error: APIError)
    /// The agent's answer could not be understood.
    case protocolError(String)
    case timeout(socket: String, seconds: Double)
    case io(String)

    /// The message an operator reads, with what to do.
    public var description: String {
        switch self {
        case .agentNotRunning(let socket, let detail):
            "whatifd is not running (no answer on \(socket): \(detail)); start it with `systemctl start whatifd` or pass --socket"
        case .permissionDenied(let socket):
            "permission denied on \(socket): its mode or a directory on its path refuses this user; the agent's default socket mode is 0666 (roles come from the reader and admin groups in its config), so check socket.mode there, or run as a user the mode admits"
        case .api(_, let error):
            error.message + (error.hint.map { "; \($0)" } ?? "")
        case .protocolError(let s):
            "the agent's answer could not be read: \(s)"
        case .timeout(let socket, let seconds):
            "whatifd did not answer on \(socket) within \(Units.duration(seconds)); it is running but busy or stuck: raise --timeout, or see its log (journalctl -u whatifd)"
        case .io(let s):
            s
        }
    }

    /// whatifctl's exit status for this error (the table in whatifctl(1)).
    public var exitStatus: ExitStatus {
        switch self {
        case .agentNotRunning: .unavailable
        case .timeout: .timeout
        case .permissionDenied: .noPermission
        case .api(_, let error) where error.code == .notConfigured: .config
        case .api(let status, _): ExitStatus.forHTTPStatus(status)
        case .protocolError, .io: .software
        }
    }
}

/// One keep-alive HTTP/1.1 connection to the agent's Unix socket. Blocking, with a deadline per request.
/// Not thread-safe: one connection per thread.
public final class UnixHTTPConnection {
    /// The socket this connection is to.
    public let socketPath: String
    private var fd: Int32
    private var leftover: [UInt8] = []
    /// False once the connection was closed (by either side, or after an error).
    public private(set) var isOpen: Bool

    /// Connects to the agent, waiting at most `timeout` seconds.
    public init(socketPath: String, timeout: Double) throws(ClientError) {
        self.socketPath = socketPath
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .io("socket(): \(String(cString: strerror(errno)))") }
        isOpen = true
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(socketPath.utf8)
        let capacity = MemoryLayout.size(ofValue: addr.sun_path)
        guard pathBytes.count < capacity else {
            close()
            throw .io("socket path is longer than \(capacity - 1) bytes: \(socketPath)")
        }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            raw.copyBytes(from: pathBytes)
            raw[pathBytes.count] = 0
        }
        setTimeouts(timeout)
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        if rc != 0 {
            let e = errno
            close()
            switch e {
            case ENOENT, ECONNREFUSED, ENOTDIR:
                throw .agentNotRunning(socket: socketPath, detail: String(cString: strerror(e)))
            case EACCES, EPERM:
                throw .permissionDenied(socket: socketPath)
            case EAGAIN, ETIMEDOUT:
                throw .timeout(socket: socketPath, seconds: timeout)
            default:
                throw .io("connect to \(socketPath): \(String(cString: strerror(e)))")
            }
        }
    }

    deinit { close() }

    /// Closes the connection (idempotent).
    public func close() {
        if isOpen {
            _ = Glibc.close(fd)
            isOpen = false
        }
    }

    private func setTimeouts(_ seconds: Double) {
        var tv = timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - Double(Int(seconds))) * 1_000_000))
        if seconds <= 0 { tv = timeval(tv_sec: 0, tv_usec: 0) }
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Sends a request and calls `onEvent` with the response's parts as they arrive.
    /// `timeout` bounds each wait for bytes; once the response's head is in, `bodyTimeout` does when
    /// given (0: wait forever, for following a job: the agent must still answer within `timeout`).
    public func send(
        method: String, path: String, body: [UInt8]? = nil, contentType: String = "application/json",
        timeout: Double, bodyTimeout: Double? = nil, onEvent: (HTTPResponseParser.Event) throws -> Void
    ) throws {
        var waiting = timeout
        guard isOpen else { throw ClientError.io("connection closed") }
        setTimeouts(timeout)
        var head = "\(method) \(path) HTTP/1.1\r\nHost: whatifd\r\nUser-Agent: whatifctl/\(WhatIfVersion.string)\r\n"
        if let body {
            head += "Content-Type: \(contentType)\r\nContent-Length: \(body.count)\r\n"
        }
        head += "\r\n"
        var out = Array(head.utf8)
        if let body { out += body }
        try writeAll(out, timeout: timeout)

        var parser = HTTPResponseParser(isHeadRequest: method == "HEAD")
        var buf = [UInt8](repeating: 0, count: 65536)
        var pending = leftover
        leftover = []
        var keepAlive = true
        while true {
            if !pending.isEmpty {
                let events: [HTTPResponseParser.Event]
                do { events = try parser.feed(pending) } catch { throw ClientError.protocolError(error.description) }
                pending = []
                for e in events {
                    if case .head(let h) = e {
                        if h.header("connection")?.lowercased() == "close" { keepAlive = false }
                        if let bodyTimeout {
                            setTimeouts(bodyTimeout)
                            waiting = bodyTimeout
                        }
                    }
                    try onEvent(e)
                }
                if parser.isComplete { break }
            }
            let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n > 0 {
                pending = Array(buf[0..<n])
            } else if n == 0 {
                close()
                let events: [HTTPResponseParser.Event]
                do { events = try parser.finish() } catch {
                    throw ClientError.protocolError("the agent closed the connection: \(error.description)")
                }
                for e in events { try onEvent(e) }
                return
            } else {
                let e = errno
                if e == EINTR { continue }
                close()
                if e == EAGAIN || e == EWOULDBLOCK { throw ClientError.timeout(socket: socketPath, seconds: waiting) }
                throw ClientError.io("reading from \(socketPath): \(String(cString: strerror(e)))")
            }
        }
        if !keepAlive { close() }
    }

    private func writeAll(_ bytes: [UInt8], timeout: Double) throws(ClientError) {
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + off, $0.count - off, Int32(MSG_NOSIGNAL)) }
            if n < 0 {
                let e = errno
                if e == EINTR { continue }
                close()
                if e == EAGAIN || e == EWOULDBLOCK { throw .timeout(socket: socketPath, seconds: timeout) }
                if e == EPIPE || e == ECONNRESET {
                    throw .agentNotRunning(socket: socketPath, detail: "the agent closed the connection")
                }
                throw .io("writing to \(socketPath): \(String(cString: strerror(e)))")
            }
            off += n
        }
    }
}
