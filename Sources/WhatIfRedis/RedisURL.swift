import WhatIfCore

/// Where and how to reach Redis: `redis://[user[:password]@]host[:port][/db]`,
/// `rediss://...` (TLS), or `unix:///path/to/redis.sock[?db=N]`.
public struct RedisEndpoint: Sendable, Equatable {
    package enum Transport: Sendable, Equatable {
        case tcp(host: String, port: Int)
        case tls(host: String, port: Int)
        case unix(path: String)
    }

    package var transport: Transport
    package var database: Int = 0
    public var username: String?
    public var password: String?

    // memberwise-init: package

    public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        public var description: String
    }

    public static func parse(_ url: String) throws(ParseError) -> RedisEndpoint {
        func fail(_ why: String) -> ParseError {
            ParseError(
                description:
                    "\(why) in Redis URL; use redis://host:6379/0, rediss://host:6379 or unix:///path/redis.sock")
        }
        guard let schemeEnd = url.find("://") else { throw fail("no scheme") }
        let scheme = url[..<schemeEnd.lowerBound].lowercased()
        var rest = String(url[schemeEnd.upperBound...])
        if scheme == "unix" {
            var db = 0
            if let q = rest.firstIndex(of: "?") {
                let query = rest[rest.index(after: q)...]
                rest = String(rest[..<q])
                for pair in query.split(separator: "&") {
                    let kv = pair.split(separator: "=", maxSplits: 1).map(String.init)
                    if kv.count == 2, kv[0] == "db" {
                        guard let d = Int(kv[1]), d >= 0 else { throw fail("bad db") }
                        db = d
                    }
                }
            }
            guard rest.hasPrefix("/"), rest.count > 1 else { throw fail("no socket path") }
            return RedisEndpoint(transport: .unix(path: percentDecode(rest)), database: db)
        }
        guard scheme == "redis" || scheme == "rediss" else { throw fail("unknown scheme '\(scheme)'") }
        var username: String?
        var password: String?
        if let at = rest.lastIndex(of: "@") {
            let userinfo = String(rest[..<at])
            rest = String(rest[rest.index(after: at)...])
            if let colon = userinfo.firstIndex(of: ":") {
                let u = String(userinfo[..<colon])
                username = u.isEmpty ? nil : percentDecode(u)
                password = percentDecode(String(userinfo[userinfo.index(after: colon)...]))
            } else if !userinfo.isEmpty {
                username = percentDecode(userinfo)
            }
        }
        var database = 0
        if let slash = rest.firstIndex(of: "/") {
            let dbText = rest[rest.index(after: slash)...]
            rest = String(rest[..<slash])
            if !dbText.isEmpty {
                guard let d = Int(dbText), d >= 0 else { throw fail("bad database number '\(dbText)'") }
                database = d
            }
        }
        var host = rest
        var port = 6379
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { throw fail("bad IPv6 address") }
            let after = host[host.index(after: close)...]
            if after.hasPrefix(":") {
                guard let p = Int(after.dropFirst()), (1...65535).contains(p) else { throw fail("bad port") }
                port = p
            } else if !after.isEmpty {
                throw fail("bad host")
            }
            host = String(host[host.index(after: host.startIndex)..<close])
        } else if let colon = host.lastIndex(of: ":") {
            guard let p = Int(host[host.index(after: colon)...]), (1...65535).contains(p) else {
                throw fail("bad port")
            }
            port = p
            host = String(host[..<colon])
        }
        guard !host.isEmpty else { throw fail("no host") }
        return RedisEndpoint(
            transport: scheme == "rediss" ? .tls(host: host, port: port) : .tcp(host: host, port: port),
            database: database, username: username, password: password)
    }

    /// The host it reaches (127.0.0.1 for a Unix socket): where a cluster's nodes without an address of
    /// their own are reached.
    package var host: String {
        switch transport {
        case .tcp(let h, _), .tls(let h, _): h
        case .unix: "127.0.0.1"
        }
    }

    /// For messages: never shows the password.
    public var display: String {
        let db = database == 0 ? "" : "/\(database)"
        switch transport {
        case .tcp(let h, let p): return "redis://\(h.contains(":") ? "[\(h)]" : h):\(p)\(db)"
        case .tls(let h, let p): return "rediss://\(h.contains(":") ? "[\(h)]" : h):\(p)\(db)"
        case .unix(let path): return "unix://\(path)" + (database == 0 ? "" : "?db=\(database)")
        }
    }

    static func percentDecode(_ s: String) -> String {
        var out: [UInt8] = []
        var it = Array(s.utf8)[...]
        while let c = it.popFirst() {
            if c == UInt8(ascii: "%"), it.count >= 2,
                let v = UInt8(String(decoding: it.prefix(2), as: UTF8.self), radix: 16)
            {
                out.append(v)
                it = it.dropFirst(2)
            } else {
                out.append(c)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
