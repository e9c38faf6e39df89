import Foundation
import Testing
import WhatIfCore
import WhatIfCrypto
import WhatIfRedis
import WhatIfTesting

@Suite struct RedisURLTests {
    @Test func parsesTheForms() throws {
        #expect(
            try RedisEndpoint.parse("redis://localhost")
                == RedisEndpoint(transport: .tcp(host: "localhost", port: 6379)))
        #expect(
            try RedisEndpoint.parse("rediss://cache.example:6380/2")
                == RedisEndpoint(transport: .tls(host: "cache.example", port: 6380), database: 2))
        #expect(
            try RedisEndpoint.parse("redis://app:p%40ss@h:1/0")
                == RedisEndpoint(transport: .tcp(host: "h", port: 1), username: "app", password: "p@ss"))
        #expect(
            try RedisEndpoint.parse("redis://:onlypass@h")
                == RedisEndpoint(transport: .tcp(host: "h", port: 6379), password: "onlypass"))
        #expect(
            try RedisEndpoint.parse("redis://[::1]:7000") == RedisEndpoint(transport: .tcp(host: "::1", port: 7000)))
        #expect(
            try RedisEndpoint.parse("unix:///run/redis.sock?db=3")
                == RedisEndpoint(transport: .unix(path: "/run/redis.sock"), database: 3))
        #expect(try RedisEndpoint.parse("redis://app:secret@h:1").display == "redis://h:1")
    }

    @Test(arguments: [
        "localhost:6379", "http://x", "redis://", "redis://h:0", "redis://h:99999", "redis://h/x", "unix://",
        "redis://[::1",
    ])
    func refusesBadURLs(_ url: String) {
        #expect(throws: RedisEndpoint.ParseError.self) { try RedisEndpoint.parse(url) }
    }
}

@Suite struct RESPTests {
    /// A reply nested a million arrays deep is a protocol error (hiredis reads at most 7 levels), not a crash.
    @Test func deeplyNestedRepliesAreAnError() {
        let reader = RESPReader()
        let deep = Array(String(repeating: "*1\r\n", count: 1_000_000).utf8) + Array(":1\r\n".utf8)
        #expect(throws: RESPReader.ProtocolError.self) {
            try deep.withUnsafeBytes { try reader.feed($0) }
            _ = try reader.next()
        }
    }

    @Test func formatterIsBinarySafe() {
        #expect(RESPFormatter.format(["SET", "k", "v"]) == Array("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n".utf8))
        #expect(
            RESPFormatter.format([Array("SET".utf8), [0, 13, 10], []]) == Array("*3\r\n$3\r\nSET\r\n$3\r\n".utf8) + [
                0, 13, 10,
            ] + Array("\r\n$0\r\n\r\n".utf8))
    }

    @Test func readerHandlesPiecesAndNesting() throws {
        let r = RESPReader()
        let wire = Array("*3\r\n:1\r\n$-1\r\n*2\r\n+OK\r\n-ERR bad\r\n$6\r\nhel\r\nl\r\n".utf8)
        var replies: [RESPValue] = []
        for b in wire {
            try [b].withUnsafeBytes { try r.feed($0) }
            while let v = try r.next() { replies.append(v) }
        }
        #expect(
            replies == [
                .array([.integer(1), .null, .array([.status("OK"), .error("ERR bad")])]), .bulk(Array("hel\r\nl".utf8)),
            ])
    }

    /// hiredis allocates room for a declared array up front: a huge declaration is an error, not gigabytes.
    @Test func hugeArrayDeclarationsAreRefused() throws {
        let r = RESPReader()
        try Array("*666666666\r\n".utf8).withUnsafeBytes { try r.feed($0) }
        #expect(throws: RESPReader.ProtocolError.self) { _ = try r.next() }
        let ok = RESPReader()
        try Array("*2\r\n*0\r\n*-1\r\n".utf8).withUnsafeBytes { try ok.feed($0) }
        #expect(try ok.next() == .array([.array([]), .null]))
    }

    @Test func garbageIsAProtocolError() throws {
        let r = RESPReader()
        try Array("?what\r\n".utf8).withUnsafeBytes { try r.feed($0) }
        #expect(throws: RESPReader.ProtocolError.self) { _ = try r.next() }
    }
}

@Suite struct RedisConnectionTests {
    let stack: StackInfo
    init() throws { stack = try Stack.shared() }

    func connect(_ url: String? = nil, timeout: Double = 2) throws -> RedisConnection {
        try RedisConnection(
            RedisConfig(
                endpoint: try RedisEndpoint.parse(url ?? "redis://127.0.0.1:\(stack.redisPort)/0"), timeout: timeout))
    }

    @Test func commandsAndPipelines() throws {
        let c = try connect()
        let key = "whatif:test:\(UUID().uuidString)"
        defer { _ = try? c.command("DEL", key, key + ":n") }
        #expect(try c.command("SET", key, "välue") == .status("OK"))
        #expect(try c.command("GET", key).string == "välue")
        let replies = try c.pipeline((0..<1000).map { _ in ["INCR", key + ":n"] })
        #expect(replies.count == 1000 && replies.last == .integer(1000))
        #expect(try c.command("NOSUCHCOMMAND").isError)
        let info = try c.info("server")
        #expect(info["redis_version"]?.hasPrefix("7.") == true)
    }

    @Test func aclUserAuthAndRefusal() throws {
        let redis = try RedisServer()
        _ = try redis.cli("ACL", "SETUSER", "whatif", "on", ">s3cret", "~*", "+@all")
        var ep = try RedisEndpoint.parse("redis://127.0.0.1:\(redis.port)")
        ep.username = "whatif"
        ep.password = "s3cret"
        let c = try RedisConnection(RedisConfig(endpoint: ep))
        #expect(try c.command("ACL", "WHOAMI").string == "whatif")
        ep.password = "wrong"
        #expect { try RedisConnection(RedisConfig(endpoint: ep)) } throws: { e in
            guard let e = e as? RedisError else { return false }
            return e.kind == .auth && e.message.contains("whatif") && (e.hint ?? "").contains("password_file")
        }
    }

    @Test func tlsWithTheServerNameChecked() throws {
        let ca = try TestCA()
        let (cert, key) = try ca.issue("redis", names: ["cache.whatif.test", "127.0.0.1"])
        let redis = try RedisServer(tls: (cert, key, ca.caCert))
        let port = try #require(redis.tlsPort)
        // By IP, which the certificate names.
        let c = try RedisConnection(
            RedisConfig(endpoint: try RedisEndpoint.parse("rediss://127.0.0.1:\(port)"), caFile: ca.caCert))
        #expect(c.tlsInUse && c.tlsProtocol?.hasPrefix("TLSv1.") == true)
        #expect(try c.command("PING") == .status("PONG"))
        // By the DNS name in the certificate, over the same address.
        let named = try RedisConnection(
            RedisConfig(
                endpoint: try RedisEndpoint.parse("rediss://127.0.0.1:\(port)"), caFile: ca.caCert,
                serverName: "cache.whatif.test"))
        #expect(try named.command("PING") == .status("PONG"))
        // A name the certificate does not carry: refused.
        #expect {
            try RedisConnection(
                RedisConfig(
                    endpoint: try RedisEndpoint.parse("rediss://127.0.0.1:\(port)"), caFile: ca.caCert,
                    serverName: "evil.example"))
        } throws: { e in
            (e as? RedisError)?.kind == .tls
        }
        // Another CA: refused, with a hint about ca_file.
        let other = try TestCA(name: "other")
        #expect {
            try RedisConnection(
                RedisConfig(endpoint: try RedisEndpoint.parse("rediss://127.0.0.1:\(port)"), caFile: other.caCert))
        } throws: { e in
            guard let e = e as? RedisError else { return false }
            return e.kind == .tls && (e.hint ?? "").contains("ca_file")
        }
        // Plain TCP to the TLS port does not hang past the timeout.
        let watch = Stopwatch()
        #expect(throws: RedisError.self) {
            try RedisConnection(
                RedisConfig(endpoint: try RedisEndpoint.parse("redis://127.0.0.1:\(port)"), timeout: 0.5)
            ).command("PING")
        }
        #expect(watch.elapsedSeconds < 10, "a 0.5 s timeout")
    }

    @Test func unixSocketTransport() throws {
        let redis = try RedisServer()
        let c = try connect("unix://\(redis.unixSocket)?db=1")
        #expect(try c.command("SET", "k", "v") == .status("OK"))
        #expect(try redis.cli("-n", "1", "GET", "k").stdout.contains("v"))
    }

    @Test func timeoutsAndServerGoingAway() throws {
        let redis = try RedisServer()
        let c = try connect("redis://127.0.0.1:\(redis.port)", timeout: 0.3)
        let watch = Stopwatch()
        #expect { try c.command("BLPOP", "nothing-here", "30") } throws: { ($0 as? RedisError)?.kind == .timeout }
        #expect(watch.elapsedSeconds < 10, "a 0.3 s timeout, not BLPOP's 30 s")
        let c2 = try connect("redis://127.0.0.1:\(redis.port)")
        redis.stop()
        #expect { try c2.command("PING") } throws: { ($0 as? RedisError)?.kind == .connection }
        #expect { try connect("redis://127.0.0.1:\(redis.port)") } throws: { ($0 as? RedisError)?.kind == .connection }
    }
}
