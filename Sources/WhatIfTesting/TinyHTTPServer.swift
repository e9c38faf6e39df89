import CLinuxShims
import Foundation
import WhatIfClient
import WhatIfCore

/// A request as the tiny server saw it.
package struct TinyRequest: Sendable {
    package var method: String
    package var target: String
    package var headers: [(name: String, value: String)]
    package var body: [UInt8]

    package func header(_ name: String) -> String? {
        let n = name.lowercased()
        return headers.first { $0.name.lowercased() == n }?.value
    }
}

package struct TinyResponse: Sendable {
    package var status: Int
    package var headers: [(name: String, value: String)] = []
    package var body: [UInt8] = []
    /// Sends the head at once, then the body in pieces (a slow or stalled link); nil sends it all at once.
    package var pace: Pace? = nil

    /// How a paced body is sent: pieces of `bytes`, the first `first` seconds after the head (`every`
    /// when nil), each of the others `every` seconds after the last.
    package struct Pace: Sendable {
        package var bytes: Int
        package var every: Double
        package var first: Double? = nil
        // memberwise-init: package
    }

    // memberwise-init: package

    package static func text(_ status: Int, _ s: String, contentType: String = "text/plain") -> TinyResponse {
        TinyResponse(status: status, headers: [("Content-Type", contentType)], body: Array(s.utf8))
    }
}

/// A small threaded HTTP/1.1 server on loopback, for fakes (instance metadata, webhooks) and the fault
/// proxy. Keep-alive; bodies by Content-Length only. Test code, not production code.
package final class TinyHTTPServer: @unchecked Sendable {
    package let port: Int
    private let listener: Int32
    private let handler: @Sendable (TinyRequest) -> TinyResponse
    private let stopped = Locked(false)
    /// Connections being served, so `stop()` can end them (a client of a stopped fake, say an agent
    /// still running after its test, then sees a closed connection instead of a handler that is gone).
    private let connections = Locked<Set<Int32>>([])
    package let requests = Locked<[TinyRequest]>([])

    package init(handler: @escaping @Sendable (TinyRequest) -> TinyResponse) throws {
        self.handler = handler
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        self.listener = listener
        var one: Int32 = 1
        setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard rc == 0, listen(listener, 128) == 0 else {
            close(listener)
            port = 0
            throw TestFailure("cannot listen: \(String(cString: strerror(errno)))")
        }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &len) }
        }
        port = Int(UInt16(bigEndian: addr.sin_port))
        let t = Thread { [self] in acceptLoop() }
        t.start()
    }

    package var url: String { "http://127.0.0.1:\(port)" }

    /// Stops accepting and ends every open connection. Idempotent: the listener is closed once, so a
    /// later call cannot close a descriptor number the process has since reused.
    package func stop() {
        let first = stopped.withLock { s -> Bool in
            defer { s = true }
            return !s
        }
        guard first else { return }
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
        connections.withLock { fds in for fd in fds { shutdown(fd, Int32(SHUT_RDWR)) } }
    }

    private func acceptLoop() {
        while !stopped.value {
            let fd = whatif_accept_cloexec(listener)
            if fd < 0 {
                if stopped.value { return }
                continue
            }
            let admitted = connections.withLock { fds -> Bool in
                // Under the same lock as stop()'s sweep: a connection accepted as the server stops is
                // either ended by the sweep or refused here.
                if stopped.value { return false }
                fds.insert(fd)
                return true
            }
            guard admitted else {
                close(fd)
                return
            }
            let t = Thread { [self] in serve(fd) }
            t.start()
        }
    }

    private func serve(_ fd: Int32) {
        defer {
            connections.withLock { fds in
                fds.remove(fd)
                close(fd)
            }
        }
        var buffer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            // Head.
            var headEnd: Int?
            while headEnd == nil {
                if let r = findHeadEnd(buffer) {
                    headEnd = r
                    break
                }
                let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if n <= 0 { return }
                buffer += chunk[0..<n]
            }
            let headText = String(decoding: buffer[0..<headEnd!], as: UTF8.self)
            buffer.removeFirst(headEnd! + 4)
            var lines = headText.components(separatedBy: "\r\n")
            let requestLine = lines.removeFirst().split(separator: " ")
            guard requestLine.count >= 2 else { return }
            var headers: [(String, String)] = []
            for l in lines {
                if let c = l.firstIndex(of: ":") {
                    headers.append((String(l[..<c]), l[l.index(after: c)...].trimmingCharacters(in: .whitespaces)))
                }
            }
            let length = Int(headers.first { $0.0.lowercased() == "content-length" }?.1 ?? "0") ?? 0
            while buffer.count < length {
                let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if n <= 0 { return }
                buffer += chunk[0..<n]
            }
            let body = Array(buffer[0..<length])
            buffer.removeFirst(length)
            let request = TinyRequest(
                method: String(requestLine[0]), target: String(requestLine[1]), headers: headers, body: body)
            requests.withLock { $0.append(request) }
            let response = handler(request)
            var out = "HTTP/1.1 \(response.status) X\r\n"
            var hasLength = false
            for (k, v) in response.headers {
                if k.lowercased() == "content-length" { hasLength = true }
                out += "\(k): \(v)\r\n"
            }
            if !hasLength { out += "Content-Length: \(response.body.count)\r\n" }
            out += "\r\n"
            let head = Array(out.utf8)
            let pieces: [ArraySlice<UInt8>]
            if let pace = response.pace {
                pieces =
                    [head[...]]
                    + stride(from: 0, to: response.body.count, by: pace.bytes).map {
                        response.body[$0..<min($0 + pace.bytes, response.body.count)]
                    }
            } else {
                pieces = [(head + response.body)[...]]
            }
            for (i, piece) in pieces.enumerated() {
                if i > 0, let pace = response.pace {
                    usleep(UInt32((i == 1 ? pace.first ?? pace.every : pace.every) * 1_000_000))
                }
                var off = piece.startIndex
                while off < piece.endIndex {
                    let n = piece.withUnsafeBytes {
                        send(fd, $0.baseAddress! + (off - piece.startIndex), piece.endIndex - off, Int32(MSG_NOSIGNAL))
                    }
                    if n <= 0 { return }
                    off += n
                }
            }
            if request.header("connection")?.lowercased() == "close"
                || response.headers.contains(where: { $0.name.lowercased() == "connection" && $0.value == "close" })
            {
                return
            }
        }
    }

    private func findHeadEnd(_ b: [UInt8]) -> Int? {
        guard b.count >= 4 else { return nil }
        for i in 0...(b.count - 4) where b[i] == 13 && b[i + 1] == 10 && b[i + 2] == 13 && b[i + 3] == 10 { return i }
        return nil
    }
}

/// An HTTP proxy in front of an AWS endpoint that injects the failures real AWS produces and moto never
/// does: throttling, 5xx, DynamoDB's UnprocessedItems. Each rule applies to the next N matching calls.
package final class FaultProxy: @unchecked Sendable {
    package enum Fault: Sendable {
        /// 400 with a throttling error in the service's format (JSON for DynamoDB, XML for query APIs).
        case throttle(code: String)
        /// A 5xx with a body.
        case serverError(status: Int)
        /// BatchWriteItem: DynamoDB accepts the first `keep` puts of each request and returns the rest
        /// as UnprocessedItems (the call is still sent upstream with only the accepted items).
        case unprocessed(keep: Int)
        /// Forwards the request and answers with the upstream's head and only the first `keep` bytes of a
        /// 2xx body, then closes the connection (a transfer that breaks off).
        case cutBody(keep: Int)
        /// Forwards the request at once, then holds the answer this long (the call took effect, and the
        /// caller, timed out, may send it again).
        case slowAnswer(seconds: Double)
        /// Holds the request this long, then forwards it (a slow or hung service).
        case delay(seconds: Double)
        /// 400 ExpiredTokenException (JSON) or ExpiredToken (XML): the session credentials ran out.
        case expiredCredentials
        /// Answers the call itself, for what moto does not do (DynamoDB's export layout, incremental
        /// exports): a stand-in written to AWS's documentation, nothing more.
        case respond(@Sendable (TinyRequest) -> TinyResponse)
    }

    package struct Rule: Sendable {
        package var operation: String?
        package var fault: Fault
        package var count: Int
        /// Only requests whose target (path and query) contains this: an S3 call, whose operation is its
        /// method, by its query (`uploadId=` for CompleteMultipartUpload among POSTs).
        package var target: String?
        // memberwise-init: package
    }

    package let upstream: String
    private var server: TinyHTTPServer!
    private let rules = Locked<[Rule]>([])
    package let injected = Locked(0)
    package let forwarded = Locked(0)
    /// The requests a fault was applied to (method and target), in order: what a failing test prints.
    package let faulted = Locked<[String]>([])

    package init(upstream: String) throws {
        self.upstream = upstream
        // Weak: the server's threads outlive a proxy its test has dropped until `deinit` stops them,
        // and a request arriving in between gets a 503 instead of a dangling reference.
        server = try TinyHTTPServer { [weak self] req in
            self?.handle(req) ?? .text(503, "fault proxy stopped")
        }
    }

    deinit { server?.stop() }

    package var url: String { server.url }

    package func add(_ rule: Rule) { rules.withLock { $0.append(rule) } }
    package func clear() { rules.set([]) }

    static func operation(of req: TinyRequest) -> String {
        if let t = req.header("x-amz-target"), let dot = t.lastIndex(of: ".") {
            return String(t[t.index(after: dot)...])
        }
        // The query protocols (CloudWatch, RDS, STS, ...) name the action in a form body. No other body is
        // read: decoding megabytes of an S3 part as text took seconds a part in a debug build, longer than
        // the agent's timeout on a busy machine (the agent then retried and aborted what a test meant to
        // catch open).
        guard req.header("content-type")?.lowercased().hasPrefix("application/x-www-form-urlencoded") == true else {
            return req.method
        }
        for pair in req.body.split(separator: UInt8(ascii: "&")) where pair.starts(with: "Action=".utf8) {
            return String(decoding: pair.dropFirst(7), as: UTF8.self)
        }
        return req.method
    }

    private func handle(_ req: TinyRequest) -> TinyResponse {
        let op = Self.operation(of: req)
        let fault: Fault? = rules.withLock { rules in
            guard
                let i = rules.firstIndex(where: {
                    ($0.operation == nil || $0.operation == op) && $0.count > 0
                        && ($0.target.map { req.target.contains($0) } ?? true)
                })
            else { return nil }
            rules[i].count -= 1
            return rules[i].fault
        }
        if fault != nil {
            // Counted as it starts, so a test sees a held request while it is held.
            faulted.withLock { $0.append("\(req.method) \(req.target)") }
            injected.withLock { $0 += 1 }
        }
        let isJSON = req.header("x-amz-target") != nil
        switch fault {
        case .expiredCredentials?:
            let code = isJSON ? "ExpiredTokenException" : "ExpiredToken"
            return isJSON
                ? Self.jsonError(
                    400, type: "com.amazon.coral.service#\(code)",
                    message: "The security token included in the request is expired")
                : Self.xmlError(
                    400, contentType: "application/xml",
                    "<Error><Code>\(code)</Code><Message>The provided token has expired.</Message><RequestId>fault-proxy</RequestId></Error>"
                )
        case .throttle(let code)?:
            return isJSON
                ? Self.jsonError(
                    400, type: "com.amazonaws.dynamodb.v20120810#\(code)", message: "Rate exceeded (injected)")
                : Self.xmlError(
                    400,
                    "<ErrorResponse><Error><Type>Sender</Type><Code>\(code)</Code><Message>Rate exceeded (injected)</Message></Error><RequestId>fault-proxy</RequestId></ErrorResponse>"
                )
        case .serverError(let status)?:
            return isJSON
                ? Self.jsonError(
                    status, type: "com.amazonaws.dynamodb.v20120810#InternalServerError",
                    message: "Internal server error (injected)")
                : Self.xmlError(
                    status,
                    "<ErrorResponse><Error><Code>InternalFailure</Code><Message>injected</Message></Error></ErrorResponse>"
                )
        case .unprocessed(let keep)?:
            return unprocessed(req, keep: keep)
        case .respond(let answer)?:
            return answer(req)
        case .cutBody(let keep)?:
            var r = forward(req)
            guard (200..<300).contains(r.status) else { return r }
            r.headers += [("Content-Length", "\(r.body.count)"), ("Connection", "close")]
            r.body = Array(r.body.prefix(keep))
            return r
        case .slowAnswer(let seconds)?:
            let r = forward(req)
            usleep(UInt32(seconds * 1_000_000))
            return r
        case .delay(let seconds)?:
            usleep(UInt32(seconds * 1_000_000))
            return forward(req)
        case nil:
            return forward(req)
        }
    }

    /// An error as AWS's JSON protocols answer it (`__type`, `message`).
    static func jsonError(_ status: Int, type: String, message: String) -> TinyResponse {
        TinyResponse(
            status: status,
            headers: [("Content-Type", "application/x-amz-json-1.0"), ("x-amzn-RequestId", "fault-proxy")],
            body: Array(#"{"__type":"\#(type)","message":"\#(message)"}"#.utf8))
    }

    /// An error as AWS's XML protocols (Query, REST-XML) answer it.
    static func xmlError(_ status: Int, contentType: String = "text/xml", _ body: String) -> TinyResponse {
        TinyResponse(status: status, headers: [("Content-Type", contentType)], body: Array(body.utf8))
    }

    /// Forwards a request upstream unchanged (so its SigV4 signature, made for the proxy's Host, stays
    /// valid: moto checks it against the Host header it receives).
    func forward(_ req: TinyRequest) -> TinyResponse {
        forwarded.withLock { $0 += 1 }
        guard let r = upstream.range(of: "://") else { return TinyResponse(status: 502) }
        let hostPort = upstream[r.upperBound...].split(separator: ":")
        guard hostPort.count == 2, let port = Int(hostPort[1]),
            let fd = try? Sockets.connectTCP(host: String(hostPort[0]), port: port, deadline: .after(seconds: 5))
        else { return .text(502, "upstream unreachable") }
        defer { close(fd) }
        var head = "\(req.method) \(req.target) HTTP/1.1\r\n"
        for (k, v) in req.headers where !["content-length", "connection"].contains(k.lowercased()) {
            head += "\(k): \(v)\r\n"
        }
        head += "Content-Length: \(req.body.count)\r\nConnection: close\r\n\r\n"
        let out = Array(head.utf8) + req.body
        let deadline = Deadline.after(seconds: 60)
        do { try out.withUnsafeBytes { try Sockets.writeAll(fd, $0, deadline: deadline) } } catch {
            return .text(502, "\(error)")
        }
        // A HEAD answer has no body, and its Content-Length (the object's size) is passed on as it is.
        let isHead = req.method == "HEAD"
        var parser = HTTPResponseParser(isHeadRequest: isHead)
        var response = TinyResponse(status: 502)
        var buf = [UInt8](repeating: 0, count: 65536)
        func take(_ events: [HTTPResponseParser.Event]) {
            for e in events {
                switch e {
                case .head(let h):
                    response.status = h.status
                    response.headers = h.headers.filter {
                        !["transfer-encoding", "connection"].contains($0.name)
                            && (isHead || $0.name != "content-length")
                    }
                case .body(let b): response.body += b
                case .end: break
                }
            }
        }
        while !parser.isComplete {
            let n: Int
            do { n = try buf.withUnsafeMutableBytes { try Sockets.read(fd, into: $0, deadline: deadline) } } catch {
                return .text(502, "\(error)")
            }
            do {
                if n == 0 {
                    take(try parser.finish())
                    break
                }
                take(try parser.feed(buf[0..<n]))
            } catch { return .text(502, "bad upstream answer: \(error)") }
        }
        return response
    }

    /// Forwards the whole batch (puts are idempotent), then answers as if DynamoDB had processed only
    /// the first `keep` writes per table: the client must re-send exactly the rest.
    private func unprocessed(_ req: TinyRequest, keep: Int) -> TinyResponse {
        let upstream = forward(req)
        guard upstream.status == 200,
            let json = try? JSONSerialization.jsonObject(with: Data(req.body)) as? [String: Any],
            let items = json["RequestItems"] as? [String: [Any]]
        else { return upstream }
        var rest: [String: [Any]] = [:]
        for (table, writes) in items where writes.count > keep { rest[table] = Array(writes.dropFirst(keep)) }
        let body = (try? JSONSerialization.data(withJSONObject: ["UnprocessedItems": rest])) ?? Data()
        return TinyResponse(status: 200, headers: [("Content-Type", "application/x-amz-json-1.0")], body: Array(body))
    }
}
