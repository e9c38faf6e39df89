import Testing
import WhatIfRedis

/// Redis Cluster's slots, redirects and topology replies, as Redis documents them.
@Suite struct ClusterTests {
    @Test func slotsAsRedisComputesThem() {
        // The CRC16 check value of the XMODEM variant, and slots redis-cli's CLUSTER KEYSLOT gives.
        #expect(ClusterSlot.of(Array("123456789".utf8)) == 0x31C3 % 16384)
        #expect(ClusterSlot.of(Array("foo".utf8)) == 12182)
        #expect(ClusterSlot.of(Array("bar".utf8)) == 5061)
        // Hash tags: only the part between the first { and the next }, when not empty.
        #expect(ClusterSlot.of(Array("{user1000}.following".utf8)) == ClusterSlot.of(Array("user1000".utf8)))
        #expect(ClusterSlot.of(Array("foo{}{bar}".utf8)) == ClusterSlot.of(Array("foo{}{bar}".utf8)))
        #expect(ClusterSlot.of(Array("foo{}{bar}".utf8)) != ClusterSlot.of(Array("bar".utf8)))
        #expect(ClusterSlot.of(Array("foo{{bar}}zap".utf8)) == ClusterSlot.of(Array("{bar".utf8)))
        #expect(ClusterSlot.of(Array("foo{bar}{zap}".utf8)) == ClusterSlot.of(Array("bar".utf8)))
    }

    @Test func redirects() {
        #expect(ClusterRedirect(.error("MOVED 3999 127.0.0.1:6381")) == redirect(false, 3999, "127.0.0.1", 6381))
        #expect(ClusterRedirect(.error("ASK 3999 10.0.0.2:6380")) == redirect(true, 3999, "10.0.0.2", 6380))
        #expect(ClusterRedirect(.error("MOVED 1 [::1]:7000")) == redirect(false, 1, "::1", 7000))
        #expect(ClusterRedirect(.error("ERR wrong type")) == nil)
        #expect(ClusterRedirect(.status("MOVED 1 a:1")) == nil)
        #expect(ClusterConnections.isTransient(.error("CLUSTERDOWN The cluster is down")))
        #expect(ClusterConnections.isTransient(.error("TRYAGAIN Multiple keys request during rehashing of slot")))
        #expect(!ClusterConnections.isTransient(.error("ERR no")))
    }

    func redirect(_ ask: Bool, _ slot: Int, _ host: String, _ port: Int) -> ClusterRedirect? {
        let text = "\(ask ? "ASK" : "MOVED") \(slot) \(host.contains(":") ? "[\(host)]" : host):\(port)"
        return ClusterRedirect(.error(text))
    }

    static func bulk(_ s: String) -> RESPValue { .bulk(Array(s.utf8)) }

    @Test func clusterShardsAndSlotsReplies() throws {
        func node(_ id: String, _ port: Int64, _ role: String, _ health: String = "online") -> RESPValue {
            .array([
                Self.bulk("id"), Self.bulk(id), Self.bulk("port"), .integer(port), Self.bulk("ip"),
                Self.bulk("10.0.0.1"),
                Self.bulk("endpoint"), Self.bulk("10.0.0.1"), Self.bulk("role"), Self.bulk(role), Self.bulk("health"),
                Self.bulk(health),
            ])
        }
        let shards: RESPValue = .array([
            .array([
                Self.bulk("slots"), .array([.integer(0), .integer(5460)]), Self.bulk("nodes"),
                .array([node("a", 7000, "master"), node("d", 7003, "replica")]),
            ]),
            .array([
                Self.bulk("slots"), .array([.integer(5461), .integer(10922), .integer(16000), .integer(16383)]),
                Self.bulk("nodes"), .array([node("b", 7001, "master", "failed"), node("e", 7004, "master")]),
            ]),
            // A failed primary left without slots after its replica took over: not a shard.
            .array([Self.bulk("slots"), .array([]), Self.bulk("nodes"), .array([node("c", 7002, "master")])]),
        ])
        let t = try ClusterTopology.fromShards(shards, seedHost: "127.0.0.1")
        #expect(t.shards.count == 2 && t.primaries.map(\.id) == ["a", "e"])
        #expect(t.shards[1].slotText == "5461-10922,16000-16383")
        #expect(t.slotsCovered == 5461 + 5462 + 384)
        #expect(t.shard(slot: 16100)?.primary?.port == 7004)
        let slots: RESPValue = .array([
            .array([.integer(0), .integer(8191), .array([Self.bulk(""), .integer(7000), Self.bulk("a")])]),
            .array([
                .integer(8192), .integer(16383), .array([Self.bulk("10.0.0.2"), .integer(7001), Self.bulk("b")]),
                .array([Self.bulk("10.0.0.3"), .integer(7004), Self.bulk("e")]),
            ]),
        ])
        let s = try ClusterTopology.fromSlots(slots, seedHost: "127.0.0.1")
        #expect(s.slotsCovered == 16384 && s.primaries.map(\.host) == ["127.0.0.1", "10.0.0.2"])
        #expect(s.shards[1].replicas.map(\.port) == [7004])
    }
}
