import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import WhatIfCore

/// `metrics.listen`: a read-only HTTP listener for Prometheus, off by default. It serves `GET /metrics`
/// (and HEAD) as the text exposition format 0.0.4 and nothing else: 404 for another path, 405 for
/// another method. It runs on the admin server's event loops, takes at most `maxConnections` at a time,
/// and closes a connection idle for a minute.
final class MetricsListener: Sendable {
    static let maxConnections = 32
    let address: MonitoringConfig.ListenAddress
    let group: any EventLoopGroup
    let logger: Logger
    let render: @Sendable () -> String?
    private let channel = Locked<(any Channel)?>(nil)
    private let open = Locked(0)

    init(
        address: MonitoringConfig.ListenAddress, group: any EventLoopGroup, logger: Logger,
        render: @escaping @Sendable () -> String?
    ) {
        self.address = address
        self.group = group
        self.logger = logger
        self.render = render
    }

    /// The port it listens on (the configured one, or the kernel's choice for port 0 in tests).
    var port: Int? { channel.value?.localAddress?.port }

    func start() async throws {
        let render = self.render
        let open = self.open
        let ch = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                let n = open.withLock { o -> Int in
                    o += 1
                    return o
                }
                channel.closeFuture.whenComplete { _ in open.withLock { $0 -= 1 } }
                guard n <= Self.maxConnections else { return channel.close() }
                return channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    try sync.addHandler(IdleStateHandler(allTimeout: .seconds(60)))
                    try sync.configureHTTPServerPipeline(withErrorHandling: true)
                    try sync.addHandler(MetricsHTTPHandler(render: render))
                }
            }
            .bind(host: address.host, port: address.port).get()
        channel.set(ch)
        logger.info("serving Prometheus metrics", metadata: ["listen": "\(address)", "path": "/metrics"])
    }

    func stop() async {
        if let ch = channel.withLock({ c -> (any Channel)? in
            defer { c = nil }
            return c
        }) {
            try? await ch.close()
        }
    }
}

final class MetricsHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart
    let render: @Sendable () -> String?
    private var head: HTTPRequestHead?

    init(render: @escaping @Sendable () -> String?) { self.render = render }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h): head = h
        case .body: break
        case .end:
            guard let h = head else { return }
            head = nil
            respond(context, h)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent { context.close(promise: nil) }
    }

    private func respond(_ context: ChannelHandlerContext, _ h: HTTPRequestHead) {
        let path = h.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? h.uri
        var status = HTTPResponseStatus.ok
        var body: String
        var headers = HTTPHeaders()
        var contentType = "text/plain; version=0.0.4; charset=utf-8"
        if path != "/metrics" {
            status = .notFound
            body = "only /metrics is served here\n"
            contentType = "text/plain; charset=utf-8"
        } else if h.method != .GET && h.method != .HEAD {
            status = .methodNotAllowed
            body = "use GET\n"
            contentType = "text/plain; charset=utf-8"
            headers.add(name: "Allow", value: "GET, HEAD")
        } else if let text = render() {
            body = text
        } else {
            status = .serviceUnavailable
            body = "metrics are disabled (metrics.enabled: false)\n"
            contentType = "text/plain; charset=utf-8"
        }
        headers.add(name: "Content-Type", value: contentType)
        headers.add(name: "Content-Length", value: String(body.utf8.count))
        let keepAlive = h.isKeepAlive
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        context.write(
            wrapOutboundOut(.head(HTTPResponseHead(version: h.version, status: status, headers: headers))), promise: nil
        )
        if h.method != .HEAD {
            var buffer = context.channel.allocator.buffer(capacity: body.utf8.count)
            buffer.writeString(body)
            context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        }
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        let channel = context.channel
        if !keepAlive { done.whenComplete { _ in channel.close(promise: nil) } }
    }
}
