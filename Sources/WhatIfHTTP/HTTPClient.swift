import CCurl
import WhatIfCore
import WhatIfUnits

package struct HTTPRequest: Sendable {
    package var method: String
    package var url: String
    package var headers: [(name: String, value: String)] = []
    package var body: [UInt8] = []
    /// How long the exchange may take.
    package var timeout: HTTPTimeout = .total(30)

    // memberwise-init: package
}

/// How long an exchange may take (the connection is also bounded by the client's connect timeout).
package enum HTTPTimeout: Sendable, Equatable {
    /// The whole exchange, however much it carries, within this many seconds: for small calls to a
    /// server that must answer promptly (a webhook, instance metadata).
    case total(Double)
    /// No limit on the whole while bytes move: the exchange fails once it has gone this many seconds
    /// without sending or receiving any (botocore's read_timeout). For transfers whose size is the data's
    /// (an S3 part, a backup file read back). Checked in libcurl's progress callback, which an idle
    /// transfer calls about once a second: the exchange ends within a second after the limit.
    case idle(Double)

    /// The seconds named, whichever kind.
    package var seconds: Double {
        switch self {
        case .total(let s), .idle(let s): s
        }
    }
}

public struct HTTPResponse: Sendable {
    package var status: Int
    /// Header names lower-cased.
    package var headers: [(name: String, value: String)]
    package var body: [UInt8]

    // memberwise-init: public

    package func header(_ name: String) -> String? {
        let n = name.lowercased()
        return headers.first(where: { $0.name == n })?.value
    }

    package var bodyText: String { String(decoding: body, as: UTF8.self) }
}

/// Why an HTTP call failed.
package enum HTTPErrorKind: Sendable, Equatable {
    case resolve, connect, timeout, tls, io, tooLarge, aborted
}
package typealias HTTPError = TransportError<HTTPErrorKind>

extension TransportError where Kind == HTTPErrorKind {
    /// Worth retrying: the request may not have reached the server, or the network hiccupped.
    package var isTransient: Bool {
        switch kind {
        case .connect, .timeout, .io: true
        case .resolve, .tls, .tooLarge, .aborted: false
        }
    }
}

/// HTTP/1.1 over libcurl. Easy handles are pooled, so connections are reused across calls and threads.
/// Blocking: call it from a thread that may block (the agent's blocking pool), never from an event loop.
package final class HTTPClient: Sendable {
    /// libcurl needs a valid pointer even for an empty body.
    nonisolated(unsafe) private static let emptyBody = UnsafeMutableRawPointer.allocate(byteCount: 1, alignment: 1)

    package let connectTimeout: Double
    package let maxResponseBytes: Int
    package let caFile: String?
    private let pool = Locked<[HandleBox]>([])

    final class HandleBox: @unchecked Sendable {
        let handle: UnsafeMutableRawPointer
        init(_ h: UnsafeMutableRawPointer) { handle = h }
        deinit { whatif_curl_easy_cleanup(handle) }
    }

    public init(connectTimeout: Double = 5, maxResponseBytes: Int = 256 << 20, caFile: String? = nil) {
        self.connectTimeout = connectTimeout
        self.maxResponseBytes = maxResponseBytes
        self.caFile = caFile
    }

    /// The body-sink context handed to libcurl's callbacks.
    final class Exchange {
        var status = 0
        var headers: [(name: String, value: String)] = []
        var body: [UInt8] = []
        var limit: Int
        var sink: ((UnsafeRawBufferPointer) throws -> Void)?
        var onHead: ((HTTPResponse) throws -> Void)?
        var failure: (any Error)?
        var tooLarge = false
        /// The final answer's head has ended (a blank line after trailers is not a second one).
        var headDone = false
        /// With an idle limit: body bytes moved so far, both ways, and when a byte last moved (a head line
        /// counts too).
        let idleLimit: Duration?
        var moved = 0
        var movedAt = ContinuousClock.now
        var idled = false

        init(
            limit: Int, sink: ((UnsafeRawBufferPointer) throws -> Void)?, onHead: ((HTTPResponse) throws -> Void)?,
            idleLimit: Duration?
        ) {
            self.limit = limit
            self.idleLimit = idleLimit
            self.sink = sink
            self.onHead = onHead
        }
    }

    /// Sends `request`. With `onBody`, body bytes of a 2xx answer go there as they arrive instead of into
    /// `HTTPResponse.body` (error answers are always collected, so they can be decoded). `onHead` sees the
    /// final answer's status and headers (an empty body) before its first body byte; what it throws ends
    /// the exchange with that error.
    package func send(
        _ request: HTTPRequest, onHead: ((HTTPResponse) throws -> Void)? = nil,
        onBody: ((UnsafeRawBufferPointer) throws -> Void)? = nil
    ) throws -> HTTPResponse {
        // libcurl (and the forty libraries it needs) is loaded on first use, not at start.
        guard whatif_curl_load() == 0 else {
            throw HTTPError(.io, String(cString: whatif_curl_load_error()), hint: "install libcurl4")
        }
        guard let box = pool.withLock({ $0.popLast() }) ?? whatif_curl_easy_init().map(HandleBox.init) else {
            throw HTTPError(.io, "libcurl could not create a handle (out of memory?)")
        }
        let h = box.handle
        whatif_curl_easy_reset(h)
        let idleLimit: Duration? =
            if case .idle(let seconds) = request.timeout { .milliseconds(Int64(max(1, seconds * 1000))) } else { nil }
        let exchange = Exchange(limit: maxResponseBytes, sink: onBody, onHead: onHead, idleLimit: idleLimit)
        let ctx = Unmanaged.passRetained(exchange)
        defer { ctx.release() }
        var errbuf = [CChar](repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        var slist: UnsafeMutablePointer<curl_slist>?
        defer { whatif_curl_slist_free_all(slist) }
        for (name, value) in request.headers {
            slist = whatif_curl_slist_append(slist, "\(name): \(value)")
        }
        // No "Expect: 100-continue" round trip; no default Accept; and no default Content-Type (curl
        // would call a body form data, and a server may then parse it as a form: moto lost S3 part bodies).
        slist = whatif_curl_slist_append(slist, "Expect:")
        slist = whatif_curl_slist_append(slist, "Accept:")
        if !request.headers.contains(where: { $0.0.lowercased() == "content-type" }) {
            slist = whatif_curl_slist_append(slist, "Content-Type:")
        }

        let code: CURLcode = errbuf.withUnsafeMutableBufferPointer { eb in
            request.body.withUnsafeBytes { body in
                _ = whatif_curl_setopt_str(h, CURLOPT_URL, request.url)
                _ = whatif_curl_setopt_long(h, CURLOPT_NOSIGNAL, 1)
                _ = whatif_curl_setopt_str(h, CURLOPT_PROTOCOLS_STR, "http,https")
                _ = whatif_curl_setopt_long(h, CURLOPT_FOLLOWLOCATION, 0)
                switch request.timeout {
                case .total(let seconds):
                    _ = whatif_curl_setopt_long(h, CURLOPT_TIMEOUT_MS, Int(max(1, seconds * 1000)))
                case .idle:
                    // Not libcurl's low-speed limit: it averages the rate over the last five seconds, so a
                    // burst keeps a stalled transfer alive for seconds past the limit, and it updates that
                    // rate once a second, so a short limit can fail a transfer that is moving.
                    _ = whatif_curl_setopt_long(h, CURLOPT_NOPROGRESS, 0)
                    _ = whatif_curl_setopt_ptr(h, CURLOPT_XFERINFODATA, ctx.toOpaque())
                    _ = whatif_curl_setopt_xferinfo(h) { user, _, dlnow, _, ulnow in
                        let ex = Unmanaged<Exchange>.fromOpaque(user!).takeUnretainedValue()
                        let now = ContinuousClock.now
                        if dlnow + ulnow != ex.moved {
                            ex.moved = dlnow + ulnow
                            ex.movedAt = now
                        } else if let limit = ex.idleLimit, now - ex.movedAt >= limit {
                            ex.idled = true
                            return 1
                        }
                        return 0
                    }
                }
                _ = whatif_curl_setopt_long(
                    h, CURLOPT_CONNECTTIMEOUT_MS, Int(max(1, min(connectTimeout, request.timeout.seconds) * 1000)))
                _ = whatif_curl_setopt_ptr(h, CURLOPT_ERRORBUFFER, UnsafeMutableRawPointer(eb.baseAddress))
                _ = whatif_curl_setopt_slist(h, CURLOPT_HTTPHEADER, slist)
                _ = whatif_curl_setopt_long(h, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1)
                if let caFile { _ = whatif_curl_setopt_str(h, CURLOPT_CAINFO, caFile) }
                switch request.method {
                case "GET":
                    _ = whatif_curl_setopt_long(h, CURLOPT_HTTPGET, 1)
                case "HEAD":
                    _ = whatif_curl_setopt_long(h, CURLOPT_NOBODY, 1)
                default:
                    _ = whatif_curl_setopt_str(h, CURLOPT_CUSTOMREQUEST, request.method)
                    _ = whatif_curl_setopt_off(h, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.count))
                    _ = whatif_curl_setopt_ptr(
                        h, CURLOPT_POSTFIELDS,
                        body.count > 0 ? UnsafeMutableRawPointer(mutating: body.baseAddress) : Self.emptyBody)
                }
                _ = whatif_curl_setopt_ptr(h, CURLOPT_WRITEDATA, ctx.toOpaque())
                _ = whatif_curl_setopt_cb(h, CURLOPT_WRITEFUNCTION) { ptr, size, nmemb, user in
                    let ex = Unmanaged<Exchange>.fromOpaque(user!).takeUnretainedValue()
                    let n = size * nmemb
                    guard let ptr else { return n }
                    let chunk = UnsafeRawBufferPointer(start: ptr, count: n)
                    if let sink = ex.sink, (200..<300).contains(ex.status) {
                        do { try sink(chunk) } catch {
                            ex.failure = error
                            return 0
                        }
                        return n
                    }
                    if ex.body.count + n > ex.limit {
                        ex.tooLarge = true
                        return 0
                    }
                    ex.body.append(contentsOf: chunk)
                    return n
                }
                _ = whatif_curl_setopt_ptr(h, CURLOPT_HEADERDATA, ctx.toOpaque())
                _ = whatif_curl_setopt_cb(h, CURLOPT_HEADERFUNCTION) { ptr, size, nmemb, user in
                    let ex = Unmanaged<Exchange>.fromOpaque(user!).takeUnretainedValue()
                    let n = size * nmemb
                    ex.movedAt = .now
                    guard let ptr else { return n }
                    var line = String(decoding: UnsafeRawBufferPointer(start: ptr, count: n), as: UTF8.self)
                    // "\r\n" is one Character in Swift.
                    while let last = line.last, last == "\r\n" || last == "\n" || last == "\r" { line.removeLast() }
                    if line.isEmpty, ex.status >= 200, !ex.headDone {
                        ex.headDone = true
                        // The end of a final answer's head.
                        if let onHead = ex.onHead {
                            do { try onHead(HTTPResponse(status: ex.status, headers: ex.headers, body: [])) } catch {
                                ex.failure = error
                                return 0
                            }
                        }
                    } else if line.hasPrefix("HTTP/") {
                        // A new response head (after 100 Continue, for example): start over.
                        let parts = line.split(separator: " ", maxSplits: 2)
                        ex.status = parts.count > 1 ? Int(parts[1]) ?? 0 : 0
                        ex.headers = []
                        ex.headDone = false
                    } else if let colon = line.firstIndex(of: ":") {
                        ex.headers.append(
                            (
                                String(line[..<colon]).lowercased(),
                                String(line[line.index(after: colon)...]).trimmingWhitespace()
                            ))
                    }
                    return n
                }
                return whatif_curl_easy_perform(h)
            }
        }
        pool.withLock { $0.append(box) }
        if let failure = exchange.failure { throw failure }
        if code != CURLE_OK {
            let detail = String(
                decoding: errbuf.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            let text = detail.isEmpty ? String(cString: whatif_curl_easy_strerror(code)) : detail
            let target = Self.redactedURL(request.url)
            if exchange.idled {
                throw HTTPError(
                    .timeout,
                    "\(request.method) \(target): timed out (no byte sent or received for \(Units.duration(request.timeout.seconds)))",
                    hint: "the server or the network stopped moving data; check the endpoint, or allow a longer timeout"
                )
            }
            if exchange.tooLarge {
                throw HTTPError(.tooLarge, "\(request.method) \(target): the answer is over \(maxResponseBytes) bytes")
            }
            switch code {
            case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY:
                throw HTTPError(
                    .resolve, "\(request.method) \(target): \(text)", hint: "check the endpoint's host name and DNS")
            case CURLE_COULDNT_CONNECT:
                throw HTTPError(
                    .connect, "\(request.method) \(target): \(text)", hint: "is the endpoint up and reachable?")
            case CURLE_OPERATION_TIMEDOUT:
                throw HTTPError(.timeout, "\(request.method) \(target): timed out (\(text))")
            case CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CACERT_BADFILE,
                CURLE_SSL_CERTPROBLEM:
                throw HTTPError(
                    .tls, "\(request.method) \(target): TLS failed: \(text)",
                    hint: "check the CA bundle and the endpoint's certificate")
            case CURLE_ABORTED_BY_CALLBACK, CURLE_WRITE_ERROR:
                throw HTTPError(.aborted, "\(request.method) \(target): \(text)")
            default:
                throw HTTPError(.io, "\(request.method) \(target): \(text)")
            }
        }
        var status = 0
        _ = whatif_curl_getinfo_long(h, CURLINFO_RESPONSE_CODE, &status)
        return HTTPResponse(
            status: status != 0 ? status : exchange.status, headers: exchange.headers, body: exchange.body)
    }

    /// The URL without its query (which may carry signatures or tokens).
    /// The URL without its query and without user:password (both may hold credentials).
    package static func redactedURL(_ url: String) -> String {
        var u = url
        if let q = u.firstIndex(of: "?") { u = String(u[..<q]) }
        let parts = u.split(separator: "://", maxSplits: 1, omittingEmptySubsequences: false)
        if parts.count == 2 {
            let rest = parts[1]
            let authorityEnd = rest.firstIndex(of: "/") ?? rest.endIndex
            if let at = rest[..<authorityEnd].lastIndex(of: "@") {
                u = "\(parts[0])://***@\(rest[rest.index(after: at)...])"
            }
        }
        return u
    }
}
