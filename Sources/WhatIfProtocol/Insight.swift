#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// `GET /v1/postgres/top`: the statements that took the most time, from pg_stat_statements.
public struct PostgresTop: Codable, Sendable, Equatable {
    /// One normalized statement and its totals since the statistics were last reset.
    public struct Statement: Codable, Sendable, Equatable {
        /// The statement as pg_stat_statements normalizes it (constants as $1, $2, ...).
        public var query: String
        /// Times executed.
        public var calls: Int64
        /// Total execution time, milliseconds.
        public var totalMs: Double
        /// Mean execution time, milliseconds.
        public var meanMs: Double
        /// Rows retrieved or affected, in all.
        public var rows: Int64
        // memberwise-init: package
    }

    /// `total` (time), `mean` (time) or `calls`: what the list is ordered by, largest first.
    public var by: String
    /// The statements, at most `limit`.
    public var statements: [Statement]

    // memberwise-init: package
}

/// `GET /v1/redis/slowlog`: the commands Redis logged as slow (SLOWLOG GET), newest first.
public struct RedisSlowlog: Codable, Sendable, Equatable {
    /// One slow command.
    public struct Entry: Codable, Sendable, Equatable {
        /// The entry's id (increasing).
        public var id: Int64
        /// When it ran.
        public var time: Date
        /// How long it took, microseconds.
        public var microseconds: Int64
        /// The command and its arguments (Redis cuts long ones).
        public var command: [String]
        /// The client's address and name, when Redis records them.
        public var client: String?
        /// The client's name (CLIENT SETNAME).
        public var clientName: String?
        // memberwise-init: package
    }

    /// The entries, newest first.
    public var entries: [Entry]
    /// SLOWLOG LEN: entries the server keeps.
    public var length: Int64
    /// slowlog-log-slower-than (microseconds), when CONFIG GET is allowed (not on ElastiCache).
    public var thresholdMicroseconds: Int64?

    // memberwise-init: package
}

/// `GET /v1/redis/latency`: LATENCY LATEST, one line per event the latency monitor saw.
public struct RedisLatency: Codable, Sendable, Equatable {
    /// One event class (command, fast-command, expire-cycle, fork, ...).
    public struct Event: Codable, Sendable, Equatable {
        /// The event's name.
        public var event: String
        /// When it last spiked.
        public var time: Date
        /// The latest spike, milliseconds.
        public var latestMs: Int64
        /// The largest spike, milliseconds.
        public var maxMs: Int64
        // memberwise-init: package
    }

    /// The events.
    public var events: [Event]
    /// latency-monitor-threshold (milliseconds; 0: the monitor is off), when CONFIG GET is allowed.
    public var thresholdMs: Int64?

    // memberwise-init: package
}
