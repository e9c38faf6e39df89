import CLinuxShims
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization
import WhatIfCore
import WhatIfProtocol
import WhatIfUnits

#if canImport(Glibc)
    import Glibc
#endif

/// The admin API server: HTTP/1.1 and JSON on a Unix socket, bound by whatifd or adopted from systemd.
package final class AdminServer: Sendable {
    let group: MultiThreadedEventLoopGroup
    let router: Router
    let core: AgentCore
    let logger: Logger
    let connections = Atomic<Int>(0)
    let shuttingDown = Atomic<Bool>(false)
    private let channel = Locked<(any Channel)?>(nil)

    init(core: AgentCore, router: Router, threads: Int = 1) {
        self.core = core
        self.router = router
        logger = core.logger
        group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
    }

    package var openConnections: Int { connections.load(ordering: .relaxed) }

    /// The listen backlog: connections the kernel queues before the agent accepts them.
    static let backlog: Int32 = 1024

    /// Connection places only an admin may take: readers (and strangers, who are refused anyway) can
    /// hold at most `max_connections` minus these, so that they never lock an admin out.
    static func adminReserve(_ maxConnections: Int) -> Int { maxConnections < 2 ? 0 : max(1, maxConnections / 8) }

    /// Binds the configured socket path, or adopts `adoptedFD` (socket activation).
    package func start(adoptedFD: Int32?) async throws {
        let settings = core.config.socket
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: Self.backlog)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            // A client may send its request and half-close (nc -N, some scripts): answer, then close.
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelInitializer { [self] channel in
                self.initialize(channel)
            }
        let ch: any Channel
        let fd: Int32
        if let adopted = adoptedFD {
            fd = adopted
            ch = try await bootstrap.withBoundSocket(fd).get()
            logger.info("serving the admin API on the socket systemd passed", metadata: ["fd": "\(fd)"])
        } else {
            try prepareSocketPath(settings.path)
            fd = try Self.bindSocket(settings)
            do { ch = try await bootstrap.withBoundSocket(fd).get() } catch {
                close(fd)
                throw error
            }
            logger.info("serving the admin API", metadata: ["socket": "\(settings.path)"])
            if let problem = settings.reachProblem { logger.warning("\(problem)") }
        }
        // NIO listens again, with its default backlog of 128, on a socket it is given: listen once more
        // with ours, so that a burst of connects queues instead of failing with EAGAIN.
        if listen(fd, Self.backlog) != 0 {
            logger.warning("cannot set the admin socket's backlog", metadata: ["error": "\(Files.errnoText())"])
        }
        channel.set(ch)
    }

    /// Creates, binds and listens on the socket file with the configured mode and group, without
    /// touching the process-wide umask: the mode set on the socket before bind() is the file's mode
    /// (masked by the umask), so the file is never wider than 0600 before it gets its final mode.
    static func bindSocket(_ settings: SocketSettings) throws -> Int32 {
        let fd = socket(
            AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { throw Failure("cannot create a socket: \(Files.errnoText())") }
        var ok = false
        defer { if !ok { close(fd) } }
        _ = fchmod(fd, 0o600)
        guard let addr = Sockets.unixAddress(settings.path) else {
            throw Failure("socket path too long: \(settings.path)")
        }
        let rc = Sockets.withAddress(addr) { bind(fd, $0, $1) }
        guard rc == 0 else {
            throw Failure(
                "cannot bind \(settings.path): \(Files.errnoText())",
                hint: "check that the agent's user may create files in \(Files.directory(of: settings.path))")
        }
        guard chmod(settings.path, mode_t(settings.mode)) == 0 else {
            throw Failure("cannot chmod \(settings.path): \(Files.errnoText())")
        }
        if let g = settings.group, let gid = ConfigLoader.groupID(g), chown(settings.path, uid_t.max, gid) != 0 {
            throw Failure(
                "cannot give \(settings.path) to group \(g): \(Files.errnoText())",
                hint: "run whatifd as root or as a member of \(g), or change socket.group")
        }
        guard listen(fd, backlog) == 0 else { throw Failure("cannot listen on \(settings.path): \(Files.errnoText())") }
        ok = true
        return fd
    }

    /// Refuses to steal the socket of a running agent; removes a stale one.
    func prepareSocketPath(_ path: String) throws {
        try Files.makeDirectories(Files.directory(of: path), mode: 0o755)
        guard Files.exists(path) else { return }
        var st = stat()
        if lstat(path, &st) == 0, (st.st_mode & S_IFMT) != S_IFSOCK {
            throw Failure("\(path) exists and is not a socket", hint: "remove it or choose another socket.path")
        }
        if let fd = try? Sockets.connectUnix(path: path, deadline: .after(seconds: 1)) {
            close(fd)
            throw Failure("another whatifd is already serving \(path)", hint: "stop it first (systemctl stop whatifd)")
        }
        unlink(path)
    }

    /// Stops accepting connections; answers in progress finish.
    package func stopAccepting() async {
        shuttingDown.store(true, ordering: .relaxed)
        if let ch = channel.withLock({ c -> (any Channel)? in
            defer { c = nil }
            return c
        }) {
            try? await ch.close()
        }
    }

    package func shutdown() async {
        await stopAccepting()
        try? await group.shutdownGracefully()
    }

    private func initialize(_ channel: any Channel) -> EventLoopFuture<Void> {
        let settings = core.config.socket
        let open = connections.add(1, ordering: .relaxed).newValue
        channel.closeFuture.whenComplete { [self] _ in _ = connections.subtract(1, ordering: .relaxed) }
        if open > settings.maxConnections {
            return refuse(channel, "too many connections (\(settings.maxConnections))")
        }
        guard let provider = channel as? any SocketOptionProvider else {
            return channel.close()
        }
        let future: EventLoopFuture<whatif_peer_cred> = provider.unsafeGetSocketOption(
            level: SocketOptionLevel(SOL_SOCKET), name: SocketOptionName(SO_PEERCRED))
        return future.flatMap { [self] cred in
            let peer = Peer(cred)
            let shared = settings.maxConnections - Self.adminReserve(settings.maxConnections)
            guard open > shared else { return serve(channel, peer, settings) }
            // Near the limit only admins get the reserved slots. The role comes from the cache, or from
            // a lookup on a thread of its own: never an NSS call on the event loop.
            let auth = core.authorizer
            let decided = channel.eventLoop.makePromise(of: Role.self)
            if let c = auth.cached(peer) {
                decided.succeed(c.role)
            } else {
                Task { decided.succeed(await auth.resolve(peer).role) }
            }
            return decided.futureResult.flatMap { [self] role in
                guard role >= .admin else {
                    return refuse(
                        channel,
                        "too many connections (\(open - 1) open; \(settings.maxConnections - shared) of \(settings.maxConnections) are kept for admins)"
                    )
                }
                return serve(channel, peer, settings)
            }
        }
    }

    /// Installs the HTTP pipeline and the handler on an accepted connection.
    private func serve(_ channel: any Channel, _ peer: Peer, _ settings: SocketSettings) -> EventLoopFuture<Void> {
        channel.eventLoop.makeCompletedFuture {
            let state = ConnectionState()
            let sync = channel.pipeline.syncOperations
            try sync.addHandler(FirstByteWatcher(state: state, settings: settings))
            var limits = NIOHTTPDecoderLimitConfiguration()
            limits.maxHeaderListSize = settings.maxHeaderBytes
            limits.maxHeaderFieldSize = settings.maxHeaderBytes
            limits.maxHeaderFieldCount = 100
            // Pipelined requests are queued and answered in order by the handler itself (NIO's
            // pipelining helper dropped the last answer when the client half-closed).
            try sync.configureHTTPServerPipeline(
                withPipeliningAssistance: false, withErrorHandling: false, withEncoderConfiguration: .init(),
                withDecoderLimitConfiguration: limits)
            try sync.addHandler(AdminHTTPHandler(server: self, peer: peer, state: state, settings: settings))
        }
    }

    /// Answered without reading, once the channel is active: the client learns why, and the agent
    /// keeps its descriptors.
    private func refuse(_ channel: any Channel, _ message: String) -> EventLoopFuture<Void> {
        let e = APIError(.tooManyConnections, message, hint: "try again shortly")
        return channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(Refuser(Self.rawError(e)))
        }
    }

    /// A complete HTTP response as bytes, for answers written before the HTTP pipeline exists.
    static func rawError(_ e: APIError) -> ByteBuffer {
        let body = ((try? APICoding.encode(APIErrorBody(e))) ?? []) + [10]
        let reason = HTTPResponseStatus(statusCode: e.code.httpStatus).reasonPhrase
        var b = ByteBuffer()
        b.writeString(
            "HTTP/1.1 \(e.code.httpStatus) \(reason)\r\nContent-Type: application/json\r\nContent-Length: \(body.count)\r\nConnection: close\r\n\r\n"
        )
        b.writeBytes(body)
        return b
    }
}

/// Writes one raw answer as soon as the connection is active, then closes it.
final class Refuser: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    private let answer: ByteBuffer

    init(_ answer: ByteBuffer) { self.answer = answer }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { refuse(context) }
    }

    func channelActive(context: ChannelHandlerContext) { refuse(context) }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}

    private func refuse(_ context: ChannelHandlerContext) {
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(answer)).whenComplete { _ in channel.close(promise: nil) }
    }
}

/// Per-connection timer state, shared by the byte watcher and the HTTP handler (event loop only).
final class ConnectionState {
    /// No request in progress: the next byte starts one.
    var idle = true
    var requestTimer: Scheduled<Void>?
    var idleTimer: Scheduled<Void>?
    var responding = false

    func cancelTimers() {
        requestTimer?.cancel()
        idleTimer?.cancel()
        requestTimer = nil
        idleTimer = nil
    }
}

/// Sits before the HTTP decoder: the first byte of a request starts its deadline, so a client that
/// trickles a request (slowloris) is cut off after `request_timeout` whatever it sends.
final class FirstByteWatcher: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundOut = ByteBuffer
    let state: ConnectionState
    let settings: SocketSettings

    init(state: ConnectionState, settings: SocketSettings) {
        self.state = state
        self.settings = settings
    }

    func channelActive(context: ChannelHandlerContext) {
        armIdle(context)
        context.fireChannelActive()
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { armIdle(context) }
    }

    private func armIdle(_ context: ChannelHandlerContext) {
        let channel = context.channel
        state.idleTimer?.cancel()
        state.idleTimer = context.eventLoop.scheduleTask(in: .milliseconds(Int64(settings.idleTimeout * 1000))) {
            channel.close(promise: nil)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if state.idle, state.requestTimer == nil, !state.responding {
            state.idle = false
            state.idleTimer?.cancel()
            state.idleTimer = nil
            let limit = settings.requestTimeout
            // Written from this handler's position, below the HTTP encoder: raw bytes straight to the socket.
            let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
            state.requestTimer = context.eventLoop.scheduleTask(in: .milliseconds(Int64(limit * 1000))) {
                let ctx = bound.value
                let e = APIError(
                    .requestTimeout, "the request did not arrive in full within \(DurationText.format(limit))",
                    hint: "send the whole request at once")
                let channel = ctx.channel
                ctx.writeAndFlush(NIOAny(AdminServer.rawError(e))).whenComplete { _ in channel.close(promise: nil) }
            }
        }
        context.fireChannelRead(data)
    }
}

final class AdminHTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    /// What the connection has read and not yet answered, in order.
    enum Item {
        case request(HTTPRequestHead, [UInt8])
        /// A request that could not be read: answered, then the connection closes.
        case failure(APIError)
    }

    /// Requests read ahead of their answers; past this the handler stops reading until it catches up.
    static let maxQueued = 16

    private let server: AdminServer
    private let peer: Peer
    private let state: ConnectionState
    private let settings: SocketSettings
    private var head: HTTPRequestHead?
    private var body: [UInt8] = []
    /// Reading stopped: a request could not be read, and nothing after it is.
    private var discarding = false
    private var inputClosed = false
    private var queue: [Item] = []
    private var paused = false
    private var streamTask: Task<Void, Never>?

    init(server: AdminServer, peer: Peer, state: ConnectionState, settings: SocketSettings) {
        self.server = server
        self.peer = peer
        self.state = state
        self.settings = settings
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if discarding { return }
        switch unwrapInboundIn(data) {
        case .head(let h):
            state.idleTimer?.cancel()
            state.idleTimer = nil
            head = h
            body = []
            if let len = h.headers.first(name: "content-length").flatMap(Int.init), len > settings.maxBodyBytes {
                fail(
                    context,
                    APIError(
                        .payloadTooLarge, "the body is \(len) bytes; the limit is \(settings.maxBodyBytes)",
                        hint: "send a smaller request"))
                return
            }
        case .body(var chunk):
            if head == nil { return }
            if body.count + chunk.readableBytes > settings.maxBodyBytes {
                fail(
                    context,
                    APIError(
                        .payloadTooLarge, "the body is over \(settings.maxBodyBytes) bytes",
                        hint: "send a smaller request"))
                return
            }
            body += chunk.readBytes(length: chunk.readableBytes) ?? []
        case .end:
            guard let h = head else { return }
            head = nil
            state.requestTimer?.cancel()
            state.requestTimer = nil
            queue.append(.request(h, body))
            body = []
            if queue.count >= Self.maxQueued, !paused {
                paused = true
                context.channel.setOption(ChannelOptions.autoRead, value: false).whenComplete { _ in }
            }
            pump(context)
        }
    }

    /// Starts answering the next item when no answer is in progress; closes a drained, half-closed connection.
    private func pump(_ context: ChannelHandlerContext) {
        guard !state.responding else { return }
        guard !queue.isEmpty else {
            if inputClosed, head == nil { context.close(promise: nil) }
            return
        }
        let item = queue.removeFirst()
        if paused, queue.count < Self.maxQueued / 2 {
            paused = false
            context.channel.setOption(ChannelOptions.autoRead, value: true).whenComplete { _ in }
            context.read()
        }
        state.responding = true
        switch item {
        case .request(let h, let body): dispatch(context, h, body)
        case .failure(let e): writeFailure(context, e)
        }
    }

    private func dispatch(_ context: ChannelHandlerContext, _ h: HTTPRequestHead, _ body: [UInt8]) {
        let auth = server.core.authorizer
        // HEAD is GET without the body.
        let isHead = h.method == .HEAD
        // The role from the cache when it has it; otherwise the lookup (NSS) waits for the task below,
        // which does it on a thread of its own: the event loop never blocks on a directory server.
        let known = auth.cached(peer)
        var request = AdminRequest(
            method: isHead ? "GET" : h.method.rawValue, target: h.uri, body: body, peer: peer,
            role: known?.role ?? .none, userName: known?.name)
        let keepAlive = h.isKeepAlive && !server.shuttingDown.load(ordering: .relaxed)
        // Fast path: a fresh status report is served from memory on the event loop (it needs the role
        // only).
        if let role = known?.role, role >= .reader, request.method == "GET", request.path == Endpoint.status.path(),
            !request.flag("fresh"),
            request.query.keys.allSatisfy(Endpoint.status.query.contains),
            let json = server.core.status.cachedJSON(maxAge: server.core.config.status.maxAge)
        {
            respond(
                context, AdminResponse(status: 200, body: .bytes(json + [10])), version: h.version,
                keepAlive: keepAlive, headOnly: isHead)
            return
        }
        let loop = context.eventLoop
        let bound = NIOLoopBound((self, context), eventLoop: loop)
        let router = server.router
        Task {
            // Who asks (for the job records and the log): looked up off the loop when not cached yet.
            if known?.name == nil { (request.role, request.userName) = await auth.resolve(request.peer) }
            let response = await router.handle(request)
            loop.execute {
                let (handler, ctx) = bound.value
                handler.respond(ctx, response, version: h.version, keepAlive: keepAlive, headOnly: isHead)
            }
        }
    }

    private func headers(_ r: AdminResponse, keepAlive: Bool, length: Int?) -> HTTPHeaders {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: r.contentType)
        headers.add(name: "Server", value: "whatifd/\(WhatIfVersion.string)")
        for (k, v) in r.headers { headers.add(name: k, value: v) }
        if let length { headers.add(name: "Content-Length", value: String(length)) }
        headers.add(name: "Connection", value: keepAlive ? "keep-alive" : "close")
        return headers
    }

    func respond(
        _ context: ChannelHandlerContext, _ r: AdminResponse, version: HTTPVersion, keepAlive: Bool,
        headOnly: Bool = false
    ) {
        guard context.channel.isActive else { return }
        let status = HTTPResponseStatus(statusCode: r.status)
        switch r.body {
        case .bytes(let bytes):
            let head = HTTPResponseHead(
                version: version, status: status, headers: headers(r, keepAlive: keepAlive, length: bytes.count))
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            if !headOnly {
                context.write(
                    wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: bytes)))), promise: nil)
            }
            finishResponse(context, keepAlive: keepAlive)
        case .stream(let stream):
            // Chunked on HTTP/1.1; HTTP/1.0 gets the bytes and a close. A HEAD gets the head only, and
            // the connection closes (the length of a stream is not known in advance).
            let keep = keepAlive && version.minor >= 1 && !headOnly
            let head = HTTPResponseHead(
                version: version, status: status, headers: headers(r, keepAlive: keep, length: nil))
            context.writeAndFlush(wrapOutboundOut(.head(head)), promise: nil)
            if headOnly {
                finishResponse(context, keepAlive: false)
                return
            }
            let loop = context.eventLoop
            let bound = NIOLoopBound((self, context), eventLoop: loop)
            streamTask = Task {
                for await chunk in stream {
                    loop.execute {
                        let (handler, ctx) = bound.value
                        guard ctx.channel.isActive else { return }
                        ctx.writeAndFlush(
                            handler.wrapOutboundOut(.body(.byteBuffer(ctx.channel.allocator.buffer(bytes: chunk)))),
                            promise: nil)
                    }
                }
                loop.execute {
                    let (handler, ctx) = bound.value
                    handler.streamTask = nil
                    guard ctx.channel.isActive else { return }
                    handler.finishResponse(ctx, keepAlive: keep)
                }
            }
        }
    }

    private func finishResponse(_ context: ChannelHandlerContext, keepAlive: Bool) {
        let channel = context.channel
        let promise = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: promise)
        state.responding = false
        guard keepAlive else {
            // The client asked to close (or the agent is stopping): what it pipelined after is not answered.
            queue.removeAll()
            discarding = true
            promise.futureResult.whenComplete { _ in channel.close(promise: nil) }
            return
        }
        if !queue.isEmpty {
            pump(context)
        } else if inputClosed && head == nil {
            promise.futureResult.whenComplete { _ in channel.close(promise: nil) }
        } else if head == nil {
            state.idle = true
            let settings = self.settings
            let state = self.state
            state.idleTimer?.cancel()
            state.idleTimer = context.eventLoop.scheduleTask(in: .milliseconds(Int64(settings.idleTimeout * 1000))) {
                channel.close(promise: nil)
            }
        }
    }

    /// A request that cannot be read: nothing after it is read; it is answered with the error after
    /// the answers to the requests before it, and the connection closes.
    private func fail(_ context: ChannelHandlerContext, _ e: APIError) {
        guard !discarding else { return }
        discarding = true
        state.cancelTimers()
        head = nil
        body = []
        queue.append(.failure(e))
        pump(context)
    }

    private func writeFailure(_ context: ChannelHandlerContext, _ e: APIError) {
        let channel = context.channel
        context.write(
            wrapOutboundOut(
                .head(
                    HTTPResponseHead(
                        version: .http1_1, status: HTTPResponseStatus(statusCode: e.code.httpStatus),
                        headers: headers(AdminResponse.error(e), keepAlive: false, length: nil)))), promise: nil)
        let bytes = ((try? APICoding.encode(APIErrorBody(e))) ?? []) + [10]
        context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: bytes)))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
    }

    /// The client closed its sending side: answer what it sent, then close; close at once when there is
    /// nothing to answer.
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event {
            inputClosed = true
            if head != nil {
                // A request cut off in the middle is not answered.
                head = nil
                body = []
            }
            if !state.responding, queue.isEmpty { context.close(promise: nil) }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let e = error as? HTTPParserError {
            if e == .headerOverflow {
                fail(
                    context,
                    APIError(
                        .headersTooLarge, "the request's headers are over \(settings.maxHeaderBytes) bytes",
                        hint: "send fewer or shorter headers"))
            } else {
                fail(
                    context,
                    APIError(
                        .badRequest, "malformed HTTP request: \(e)",
                        hint: "send HTTP/1.1 (see whatifd(8) for the admin API)"))
            }
            return
        }
        server.logger.debug("admin connection error", metadata: ["error": "\(error)"])
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        state.cancelTimers()
        streamTask?.cancel()
        streamTask = nil
        context.fireChannelInactive()
    }
}
