/// What keys should expire and when: ordered rules (the first whose pattern matches a key decides),
/// exclusions, and the maxmemory-policy the server should have.
package struct ExpiryPolicy: Sendable, Equatable {
    package enum Action: String, Sendable, Equatable, CaseIterable {
        /// Count and sample violations only.
        case report
        /// Give keys without a TTL the default TTL, lower TTLs over the maximum.
        case enforce
    }

    package struct Rule: Sendable, Equatable {
        /// Redis MATCH glob.
        package var pattern: String
        /// Seconds; a key with a longer TTL is over the maximum.
        package var maxTTL: Int?
        /// Seconds given to a key that has no TTL.
        package var defaultTTL: Int?
        package var action: Action
        /// Only keys of this Redis type (string, hash, list, set, zset, stream).
        package var type: String?

        // memberwise-init: package
    }

    package var rules: [Rule]
    /// Globs of keys never looked at.
    package var exclude: [String] = []
    /// The maxmemory-policy the server should run with (ElastiCache's default is volatile-lru).
    package var expectedMaxmemoryPolicy: String?

    // memberwise-init: package

    /// The index of the rule that decides `key`, nil when excluded or unmatched.
    package func rule(for key: [UInt8]) -> Int? {
        for e in exclude where RedisGlob.matches(e, key) { return nil }
        return rules.firstIndex { RedisGlob.matches($0.pattern, key) }
    }
}
