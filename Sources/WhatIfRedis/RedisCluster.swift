import WhatIfCore

/// Redis Cluster's key space: 16384 slots, a key's slot the CRC16 (XMODEM) of its hash tag (the part
/// between the first `{` and the next `}`, when not empty) or of the whole key, modulo 16384.
package enum ClusterSlot {
    package static let count = 16384

    package static func of(_ key: [UInt8]) -> Int {
        var bytes = key[...]
        if let open = key.firstIndex(of: UInt8(ascii: "{")),
            let close = key[(open + 1)...].firstIndex(of: UInt8(ascii: "}")), close > open + 1
        {
            bytes = key[(open + 1)..<close]
        }
        return Int(crc16(bytes)) & (count - 1)
    }

    /// `lo...hi` when it is a range of slots (0 ≤ lo ≤ hi < 16384); nil for anything a reply could say
    /// otherwise.
    package static func range(_ lo: Int, _ hi: Int) -> ClosedRange<Int>? {
        lo >= 0 && lo <= hi && hi < count ? lo...hi : nil
    }

    /// CRC16-CCITT (XMODEM): polynomial 0x1021, initial 0, as Redis's crc16.c.
    static func crc16(_ bytes: ArraySlice<UInt8>) -> UInt16 {
        var crc: UInt16 = 0
        for b in bytes {
            crc ^= UInt16(b) << 8
            for _ in 0..<8 { crc = crc & 0x8000 != 0 ? (crc << 1) ^ 0x1021 : crc << 1 }
        }
        return crc
    }
}

/// A `-MOVED slot host:port` or `-ASK slot host:port` reply: the key's slot lives elsewhere, for good
/// (MOVED: the slot map changed) or for this command only (ASK: the slot is migrating; the command
/// must be sent again after ASKING).
public struct ClusterRedirect: Sendable, Equatable {
    public var ask: Bool
    public var slot: Int
    public var host: String
    public var port: Int

    public init?(_ reply: RESPValue) {
        guard case .error(let message) = reply else { return nil }
        let parts = message.split(separator: " ")
        guard parts.count == 3, parts[0] == "MOVED" || parts[0] == "ASK", let slot = Int(parts[1]),
            let colon = parts[2].lastIndex(of: ":"), let port = Int(parts[2][parts[2].index(after: colon)...])
        else { return nil }
        ask = parts[0] == "ASK"
        self.slot = slot
        var host = String(parts[2][..<colon])
        // An IPv6 address comes bracketed; nothing else is unwrapped.
        if host.hasPrefix("["), host.hasSuffix("]"), host.count >= 2, host.dropFirst().dropLast().contains(":") {
            host = String(host.dropFirst().dropLast())
        }
        self.host = host
        self.port = port
    }
}

/// A cluster as its nodes describe it: each shard's slot ranges, primary and replicas.
public struct ClusterTopology: Sendable, Equatable {
    public struct Node: Sendable, Equatable, Hashable {
        package var id: String
        package var host: String
        package var port: Int
        package var primary: Bool
        /// `online`, `failed` or `loading` (CLUSTER SHARDS); `online` from CLUSTER SLOTS.
        package var health: String

        package var address: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
    }

    public struct Shard: Sendable, Equatable {
        public var slots: [ClosedRange<Int>]
        package var primary: Node?
        package var replicas: [Node]

        /// `0-5460,6000`.
        package var slotText: String {
            slots.map { $0.count == 1 ? "\($0.lowerBound)" : "\($0.lowerBound)-\($0.upperBound)" }
                .joined(separator: ",")
        }
    }

    public var shards: [Shard]

    package var primaries: [Node] { shards.compactMap(\.primary) }
    package var slotsCovered: Int {
        shards.filter { $0.primary != nil }.reduce(0) { $0 + $1.slots.reduce(0) { $0 + $1.count } }
    }

    /// The shard serving `slot`.
    package func shard(slot: Int) -> Shard? { shards.first { $0.slots.contains { $0.contains(slot) } } }

    /// CLUSTER SHARDS (Redis 7), or CLUSTER SLOTS (Redis 6) when the server does not know it. A node
    /// with no address of its own is reached at `seedHost` (as `redis-cli` does).
    package static func discover(_ conn: RedisConnection, seedHost: String) throws -> ClusterTopology {
        let reply = try conn.command(["CLUSTER", "SHARDS"])
        if case .error(let e) = reply {
            guard e.uppercased().contains("UNKNOWN") || e.contains("unknown subcommand") else {
                throw Failure(
                    "CLUSTER SHARDS failed: \(e)", hint: "the agent's ACL user needs CLUSTER SHARDS and CLUSTER SLOTS")
            }
            let slots = try conn.command(["CLUSTER", "SLOTS"])
            if case .error(let e2) = slots { throw Failure("CLUSTER SLOTS failed: \(e2)") }
            return try fromSlots(slots, seedHost: seedHost)
        }
        return try fromShards(reply, seedHost: seedHost)
    }

    /// RESP2 maps are flat key/value arrays.
    static func map(_ v: RESPValue) -> [String: RESPValue] {
        guard let a = v.array else { return [:] }
        var out: [String: RESPValue] = [:]
        var i = 0
        while i + 1 < a.count {
            if let k = a[i].string { out[k] = a[i + 1] }
            i += 2
        }
        return out
    }

    /// `discover` through `conn`, its own host standing for nodes that give no address.
    package static func discover(_ conn: RedisConnection) throws -> ClusterTopology {
        try discover(conn, seedHost: conn.config.endpoint.host)
    }

    /// Reads a CLUSTER SHARDS reply.
    public static func fromShards(_ reply: RESPValue, seedHost: String) throws -> ClusterTopology {
        guard let list = reply.array else { throw Failure("CLUSTER SHARDS answered \(reply)") }
        var shards: [Shard] = []
        for entry in list {
            let m = map(entry)
            let bounds = (m["slots"]?.array ?? []).compactMap(\.int).map(Int.init)
            var slots: [ClosedRange<Int>] = []
            var i = 0
            while i + 1 < bounds.count {
                if let r = ClusterSlot.range(bounds[i], bounds[i + 1]) { slots.append(r) }
                i += 2
            }
            var shard = Shard(slots: slots, primary: nil, replicas: [])
            for n in m["nodes"]?.array ?? [] {
                let nm = map(n)
                guard let id = nm["id"]?.string, let port = (nm["port"] ?? nm["tls-port"])?.int else { continue }
                let endpoint = nm["endpoint"]?.string
                let host =
                    [endpoint, nm["ip"]?.string].compactMap { $0 }.first { !$0.isEmpty && $0 != "?" } ?? seedHost
                let node = Node(
                    id: id, host: host, port: Int(port), primary: nm["role"]?.string == "master",
                    health: nm["health"]?.string ?? "online")
                if node.primary && node.health != "failed" {
                    shard.primary = node
                } else {
                    shard.replicas.append(node)
                }
            }
            // A node that serves no slot (a failed primary whose slots a replica took) is no shard.
            if !shard.slots.isEmpty { shards.append(shard) }
        }
        return ClusterTopology(
            shards: shards.sorted { ($0.slots.first?.lowerBound ?? 0) < ($1.slots.first?.lowerBound ?? 0) })
    }

    /// Reads a CLUSTER SLOTS reply.
    public static func fromSlots(_ reply: RESPValue, seedHost: String) throws -> ClusterTopology {
        guard let list = reply.array else { throw Failure("CLUSTER SLOTS answered \(reply)") }
        var byPrimary: [String: Shard] = [:]
        for entry in list {
            guard let e = entry.array, e.count >= 3, let lo = e[0].int, let hi = e[1].int,
                let range = ClusterSlot.range(Int(lo), Int(hi))
            else { continue }
            func node(_ v: RESPValue, primary: Bool) -> Node? {
                guard let a = v.array, a.count >= 2, let port = a[1].int else { return nil }
                let ip = a[0].string ?? ""
                return Node(
                    id: a.count > 2 ? a[2].string ?? "" : "", host: ip.isEmpty || ip == "?" ? seedHost : ip,
                    port: Int(port), primary: primary, health: "online")
            }
            guard let p = node(e[2], primary: true) else { continue }
            var shard =
                byPrimary[p.id]
                ?? Shard(slots: [], primary: p, replicas: e.dropFirst(3).compactMap { node($0, primary: false) })
            shard.slots.append(range)
            byPrimary[p.id] = shard
        }
        return ClusterTopology(
            shards: byPrimary.values.sorted { ($0.slots.first?.lowerBound ?? 0) < ($1.slots.first?.lowerBound ?? 0) })
    }
}

/// Connections to a cluster's nodes, one per node, opened on first use; commands sent to a node whose
/// replies redirect (MOVED, ASK) are sent again where the reply says. Use from one thread at a time.
package final class ClusterConnections {
    let connect: (_ host: String, _ port: Int) throws -> RedisConnection
    private var open: [String: RedisConnection] = [:]
    /// Redirects followed, for the report.
    package private(set) var moved = 0
    package private(set) var asked = 0

    package init(connect: @escaping (_ host: String, _ port: Int) throws -> RedisConnection) {
        self.connect = connect
    }

    deinit { closeAll() }

    package func connection(_ host: String, _ port: Int) throws -> RedisConnection {
        let key = "\(host):\(port)"
        if let c = open[key] { return c }
        let c = try connect(host, port)
        open[key] = c
        return c
    }

    package func closeAll() {
        for c in open.values { c.close() }
        open = [:]
    }

    /// How long commands refused while the cluster is down (a failover under way) are tried again.
    package var downWindow: Double = 30

    /// A reply saying the cluster cannot serve the command now (`CLUSTERDOWN`, `TRYAGAIN`).
    package static func isTransient(_ reply: RESPValue) -> Bool {
        guard case .error(let e) = reply else { return false }
        return e.hasPrefix("CLUSTERDOWN") || e.hasPrefix("TRYAGAIN")
    }

    /// Sends `commands` as one pipeline on `first`, then each reply that redirects again where it says
    /// (after ASKING for ASK), up to 5 hops; a reply still redirecting then is left as the error it is.
    /// Commands the cluster refuses while it is down are sent again for up to `downWindow` seconds.
    package func pipeline(on first: RedisConnection, _ commands: [[[UInt8]]]) throws -> [RESPValue] {
        var replies = try first.pipeline(binary: commands)
        let deadline = Deadline.after(seconds: downWindow)
        while replies.contains(where: Self.isTransient), !deadline.hasPassed {
            sleepThread(seconds: 0.25)
            let again = replies.indices.filter { Self.isTransient(replies[$0]) }
            let answers = try first.pipeline(binary: again.map { commands[$0] })
            for (k, i) in again.enumerated() { replies[i] = answers[k] }
        }
        for _ in 0..<5 {
            let pending = replies.indices.compactMap { i in ClusterRedirect(replies[i]).map { (i, $0) } }
            if pending.isEmpty { break }
            for (i, r) in pending {
                let conn = try connection(r.host, r.port)
                if r.ask {
                    asked += 1
                    let out = try conn.pipeline(binary: [[Array("ASKING".utf8)], commands[i]])
                    replies[i] = out[1]
                } else {
                    moved += 1
                    replies[i] = try conn.pipeline(binary: [commands[i]])[0]
                }
            }
        }
        return replies
    }
}
