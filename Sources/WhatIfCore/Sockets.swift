#if canImport(Glibc)
    import Glibc
#endif

/// Why a socket operation failed.
public enum SocketErrorKind: Sendable, Equatable { case refused, unreachable, timeout, resolve, closed, io, permission }
public typealias SocketError = TransportError<SocketErrorKind>

/// Blocking-style socket I/O on non-blocking descriptors, every wait bounded by a deadline.
public enum Sockets {
    /// A free TCP port on loopback (bound, read, released): for a helper server the agent starts.
    package static func freeLoopbackPort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        _ = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    package static func setNonBlocking(_ fd: Int32) {
        let flags = fcntl(fd, F_GETFL, 0)
        _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
    }

    /// Waits until `fd` is readable (or writable). False on timeout.
    package static func wait(_ fd: Int32, read: Bool, deadline: Deadline) -> Bool {
        var p = pollfd(fd: fd, events: Int16(read ? POLLIN : POLLOUT), revents: 0)
        while true {
            let ms = deadline.remainingMilliseconds
            if ms <= 0 { return false }
            let rc = poll(&p, 1, ms)
            if rc > 0 { return true }
            if rc == 0 { return false }
            if errno != EINTR { return true }  // let the following read/write report the error
        }
    }

    /// Connects to host:port (every address getaddrinfo returns, in order) before the deadline.
    package static func connectTCP(host: String, port: Int, deadline: Deadline) throws(SocketError) -> Int32 {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var res: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &res)
        guard rc == 0, let first = res else {
            throw SocketError(
                .resolve, "cannot resolve \(host): \(String(cString: gai_strerror(rc)))",
                hint: "check the host name")
        }
        defer { freeaddrinfo(res) }
        var lastError = SocketError(.unreachable, "cannot connect to \(host):\(port)")
        var ai: UnsafeMutablePointer<addrinfo>? = first
        while let a = ai {
            ai = a.pointee.ai_next
            let fd = socket(
                a.pointee.ai_family, a.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), a.pointee.ai_protocol)
            if fd < 0 { continue }
            setNonBlocking(fd)
            var one: Int32 = 1
            _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            if Glibc.connect(fd, a.pointee.ai_addr, a.pointee.ai_addrlen) == 0 { return fd }
            if errno != EINPROGRESS {
                lastError = classify(errno, "\(host):\(port)")
                close(fd)
                continue
            }
            if !wait(fd, read: false, deadline: deadline) {
                close(fd)
                throw SocketError(
                    .timeout, "connecting to \(host):\(port) timed out",
                    hint: "check that the host is reachable and the port open")
            }
            var err: Int32 = 0
            var len = socklen_t(MemoryLayout<Int32>.size)
            _ = getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len)
            if err == 0 { return fd }
            lastError = classify(err, "\(host):\(port)")
            close(fd)
        }
        throw lastError
    }

    /// The address of a Unix socket at `path`; nil when the path is too long (107 bytes at most).
    package static func unixAddress(_ path: String) -> sockaddr_un? {
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else { return nil }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        return addr
    }

    /// bind(2) or connect(2) on a Unix socket address.
    package static func withAddress<R>(_ addr: sockaddr_un, _ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        var a = addr
        return withUnsafePointer(to: &a) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
    }

    public static func connectUnix(path: String, deadline: Deadline) throws(SocketError) -> Int32 {
        guard let addr = unixAddress(path) else { throw SocketError(.io, "socket path too long: \(path)") }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SocketError(.io, "socket(): \(Files.errnoText())") }
        let rc = withAddress(addr) { Glibc.connect(fd, $0, $1) }
        if rc != 0 {
            let e = errno
            close(fd)
            throw classify(e, path)
        }
        setNonBlocking(fd)
        return fd
    }

    static func classify(_ e: Int32, _ target: String) -> SocketError {
        let text = String(cString: strerror(e))
        switch e {
        case ECONNREFUSED, ENOENT:
            return SocketError(
                .refused, "connection to \(target) refused (\(text))", hint: "is the server running there?")
        case EACCES, EPERM:
            return SocketError(.permission, "permission denied connecting to \(target)")
        case ETIMEDOUT:
            return SocketError(.timeout, "connecting to \(target) timed out")
        case ENETUNREACH, EHOSTUNREACH:
            return SocketError(
                .unreachable, "\(target) is unreachable (\(text))", hint: "check routes and security groups")
        default:
            return SocketError(.io, "cannot connect to \(target): \(text)")
        }
    }

    /// Reads what is available (at least one byte), or 0 at end of stream.
    public static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, deadline: Deadline)
        throws(SocketError)
        -> Int
    {
        while true {
            let n = Glibc.read(fd, buffer.baseAddress, buffer.count)
            if n >= 0 { return n }
            let e = errno
            if e == EINTR { continue }
            if e == EAGAIN || e == EWOULDBLOCK {
                if !wait(fd, read: true, deadline: deadline) {
                    throw SocketError(.timeout, "timed out waiting for an answer")
                }
                continue
            }
            if e == ECONNRESET { throw SocketError(.closed, "connection reset by the server") }
            throw SocketError(.io, "read failed: \(String(cString: strerror(e)))")
        }
    }

    public static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, deadline: Deadline) throws(SocketError) {
        var off = 0
        while off < bytes.count {
            let n = Glibc.send(fd, bytes.baseAddress! + off, bytes.count - off, Int32(MSG_NOSIGNAL))
            if n >= 0 {
                off += n
                continue
            }
            let e = errno
            if e == EINTR { continue }
            if e == EAGAIN || e == EWOULDBLOCK {
                if !wait(fd, read: false, deadline: deadline) { throw SocketError(.timeout, "timed out sending") }
                continue
            }
            if e == EPIPE || e == ECONNRESET { throw SocketError(.closed, "the server closed the connection") }
            throw SocketError(.io, "write failed: \(String(cString: strerror(e)))")
        }
    }
}
