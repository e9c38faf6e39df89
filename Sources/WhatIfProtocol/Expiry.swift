#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A key that breaks its rule, as the sweep saw it.
public struct ExpiryKeySample: Codable, Sendable, Equatable {
    /// The key as UTF-8 (invalid bytes replaced); `keyBase64` holds the exact bytes.
    public var key: String
    /// The key's exact bytes, base64.
    public var keyBase64: String
    /// "no-ttl" or "over-max".
    public var problem: String
    /// Seconds left, nil for a key without a TTL.
    public var ttl: Int64?
    /// MEMORY USAGE (sampled), nil when the key was gone by then.
    public var memoryBytes: Int64?

    // memberwise-init: package
}

/// What one rule of the policy decided.
public struct ExpiryRuleReport: Codable, Sendable, Equatable {
    /// The rule's Redis glob (`session:*`).
    public var pattern: String
    /// `report` (count and sample only) or `enforce` (give TTLs, lower those over the maximum).
    public var action: String
    /// The TYPE the rule is limited to, when it is.
    public var type: String?
    /// The longest TTL allowed, in seconds.
    public var maxTTL: Int?
    /// The TTL given to keys without one, in seconds (enforce).
    public var defaultTTL: Int?
    /// Keys this rule decided (first matching rule, type filter passed).
    public var matched: Int64 = 0
    /// Of `matched`, keys without a TTL.
    public var withoutTTL: Int64 = 0
    /// Of `matched`, keys whose TTL is over `maxTTL`.
    public var overMax: Int64 = 0
    /// Keys given a TTL or a lower one (enforce only).
    public var fixed: Int64 = 0
    /// Keys that were gone, or had changed, by the time they were looked at or fixed.
    public var changedMeanwhile: Int64 = 0
    /// Some of the keys that broke the rule.
    public var samples: [ExpiryKeySample] = []

    // memberwise-init: package
}

/// The outcome of an expiry sweep (`whatifctl redis expiry`).
public struct ExpiryReport: Codable, Sendable, Equatable {
    /// "dry-run" or "enforce".
    public var mode: String
    /// `redis_version`.
    public var serverVersion: String
    /// The server's `maxmemory-policy`.
    public var maxmemoryPolicy: String?
    /// The policy the config expects, when it names one.
    public var expectedMaxmemoryPolicy: String?
    /// Problems with the server's settings (a volatile-* policy with keys that never expire, say).
    public var findings: [String]
    /// Keys SCAN returned.
    public var scanned: Int64
    /// Keys the policy's excludes matched.
    public var excluded: Int64
    /// Keys no rule matched.
    public var unmatched: Int64
    /// One report per rule, in the policy's order.
    public var rules: [ExpiryRuleReport]
    /// True when the SCAN went round the whole keyspace.
    public var complete: Bool
    /// True when the sweep went on from a checkpoint of an earlier run against the same server.
    public var resumed: Bool
    /// Keys the earlier run had read (included in `scanned`) when the sweep resumed.
    public var resumedAfter: Int64?
    /// Why a checkpoint was not used and the sweep started over (another server, a restarted one, another
    /// database, another policy or mode).
    public var startedOver: String?
    /// The server the counts are about: `run_id` and database.
    public var target: String?
    /// How long the sweep ran.
    public var seconds: Double
    /// Redis Cluster: one report per shard (its primary scanned); the totals above are their sums.
    public var shards: [ExpiryShardReport]?
    /// Redis Cluster: the slots whose shard was swept, of 16384.
    public var slotsCovered: Int?

    // memberwise-init: package
}

/// One shard of a cluster sweep: its slots, the primary whose keys were scanned, what was found.
public struct ExpiryShardReport: Codable, Sendable, Equatable {
    /// `0-5460`.
    public var slots: String
    /// The primary's node id.
    public var nodeId: String
    /// The primary's host:port.
    public var node: String
    /// Keys SCAN returned on it.
    public var scanned: Int64
    /// Keys a rule matched, without a TTL, over a rule's maximum, and fixed (enforce).
    public var matched: Int64
    /// Keys a rule matched that had no TTL.
    public var withoutTTL: Int64
    /// Keys a rule matched whose TTL was over the rule's maximum.
    public var overMax: Int64
    /// Keys given an expiry (enforce), as Redis acknowledged.
    public var fixed: Int64
    /// True when SCAN went round the node's whole keyspace.
    public var complete: Bool
    /// True when it went on from this node's checkpoint.
    public var resumed: Bool
    /// Why this shard's scan started over (a failover, another server, another policy).
    public var startedOver: String?
    /// Commands sent again where a MOVED or ASK reply said (keys whose slot moved during the sweep).
    public var redirects: Int

    // memberwise-init: package
}

extension JobSpecs {
    /// `redis.expiry`: the key-expiry policy, as a dry run or enforced.
    public enum RedisExpiry: JobSpec {
        public static let endpoint = Endpoint.startExpiry
        public typealias Params = StartExpiryRequest
        public typealias Result = ExpiryReport
        public static let name = "redis.expiry"
        public static let summary = "audit (dry run) or enforce the Redis key-expiry policy with SCAN"
        public static let example = #"{"enforce": false}"#
    }
}

/// `POST /v1/redis/expiry`.
public struct StartExpiryRequest: Codable, Sendable, Equatable {
    /// false: a dry run (report only).
    public var enforce: Bool = false
    /// Overrides expiry.keys_per_second for this sweep.
    public var keysPerSecond: Double?

    // memberwise-init: public
    // decodable: defaults
}

extension JobSpecs {
    /// `redis.audit`: keys without a TTL by prefix and type, no policy needed.
    public enum RedisAudit: JobSpec {
        public static let endpoint = Endpoint.startKeyAudit
        public typealias Params = StartKeyAuditRequest
        public typealias Result = KeyAuditReport
        public static let name = "redis.audit"
        public static let summary = "keys without a TTL and their memory, by prefix and type (no policy needed)"
        public static let example = #"{"delimiter": ":", "depth": 1}"#
    }
}

/// `POST /v1/redis/audit`: which keys have no TTL and how much memory they hold, by key prefix and type,
/// read with SCAN at the sweep's pace (redis-cli --bigkeys/--memkeys, without needing a policy).
public struct StartKeyAuditRequest: Codable, Sendable, Equatable {
    /// Overrides expiry.keys_per_second for this audit.
    public var keysPerSecond: Double?
    /// What separates a key's prefix from the rest (`:` by default: `session:42` is `session:*`).
    public var delimiter: String?
    /// How many delimited parts make the prefix (1 by default; 2: `cache:user:*`).
    public var depth: Int?
    /// Redis Cluster: read each shard on one of its replicas (READONLY), sparing the primaries.
    public var replicas: Bool?

    // memberwise-init: public

    /// The problem with these values, or nil.
    public var problem: String? {
        if let k = keysPerSecond, !(k > 0 && k.isFinite) { return "keysPerSecond must be a positive number" }
        if let d = delimiter, d.isEmpty || d.utf8.count > 8 { return "delimiter must be 1 to 8 bytes" }
        if let d = depth, !(1...8).contains(d) { return "depth must be 1 to 8" }
        return nil
    }
}

/// The keys of one prefix and type.
public struct KeyGroupReport: Codable, Sendable, Equatable {
    /// `session:*`, or `(no prefix)` for keys without the delimiter, or `(other prefixes)` past the
    /// report's limit on groups.
    public var prefix: String
    /// Redis's TYPE: string, hash, list, set, zset, stream.
    public var type: String
    /// Keys in the group.
    public var keys: Int64 = 0
    /// Of those, keys without a TTL.
    public var withoutTTL: Int64 = 0
    /// MEMORY USAGE summed (bytes).
    public var bytes: Int64 = 0
    /// MEMORY USAGE of the keys without a TTL, summed (bytes).
    public var bytesWithoutTTL: Int64 = 0
    /// The group's biggest key by memory.
    public var biggestKey: String?
    /// MEMORY USAGE of `biggestKey`.
    public var biggestBytes: Int64 = 0

    // memberwise-init: package
}

/// What `redis.audit` found.
public struct KeyAuditReport: Codable, Sendable, Equatable {
    /// `redis_version`.
    public var serverVersion: String
    /// The server's `maxmemory-policy`.
    public var maxmemoryPolicy: String?
    /// INFO memory's used_memory when the audit began.
    public var usedMemoryBytes: Int64?
    /// The server (run_id) and database audited.
    public var target: String
    /// The prefix delimiter used.
    public var delimiter: String
    /// The prefix depth used.
    public var depth: Int
    /// Keys SCAN returned.
    public var scanned: Int64
    /// Keys gone between SCAN and the look at them.
    public var vanished: Int64
    /// Groups by prefix and type, the most memory without a TTL first.
    public var groups: [KeyGroupReport]
    /// The biggest keys overall (at most 10), biggest first.
    public var biggest: [ExpiryKeySample]
    /// Problems with the server's settings (keys without a TTL under a volatile-* policy, say).
    public var findings: [String]
    /// True when the SCAN went round the whole keyspace.
    public var complete: Bool
    /// How long the audit ran.
    public var seconds: Double
    /// Redis Cluster: the node each shard was read on (`slots@host:port`, a replica with `replicas`).
    public var nodes: [String]?

    // memberwise-init: package

    /// Keys in every group.
    public var keys: Int64 { groups.reduce(0) { $0 + $1.keys } }
    /// Keys without a TTL in every group.
    public var withoutTTL: Int64 { groups.reduce(0) { $0 + $1.withoutTTL } }
    /// MEMORY USAGE of the keys without a TTL, summed over the groups.
    public var bytesWithoutTTL: Int64 { groups.reduce(0) { $0 + $1.bytesWithoutTTL } }
}
