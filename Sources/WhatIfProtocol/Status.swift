#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The AWS credentials the agent uses: where they come from and when they expire, never the keys.
public struct AWSCredentialInfo: Codable, Sendable, Equatable {
    /// `environment`, `profile NAME (files)`, `role ARN (profile NAME, from ...)`, `web identity ARN (...)`,
    /// `IAM Identity Center role ...`, `credential_process (profile NAME)`, `container credentials URL`,
    /// `instance role NAME`; nil when there are none.
    public var source: String?
    /// When temporary credentials expire (the agent fetches new ones before); nil for long-term keys.
    public var expiresAt: Date?
    /// Why there are none.
    public var error: String?
    /// How to give the agent some.
    public var hint: String?

    // memberwise-init: package
}

/// `GET /v1/status`: the agent and, per configured service, reachability, round trip, version and state.
public struct StatusReport: Codable, Sendable {
    /// The agent itself.
    public var agent: AgentInfo
    /// When the probes ran (a cached report keeps its time).
    public var checkedAt: Date
    /// How long the probes took, in milliseconds (bounded by `status.timeout`).
    public var durationMs: Double
    /// One entry per configured service, in `ServiceKind` order.
    public var services: [ServiceStatus]
    /// The fleet's leases (`whatifctl status` adds them from `GET /v1/maintenance/leases`).
    public var leases: LeaseList?
    /// The AWS credentials in use, when anything configured calls AWS.
    public var credentials: AWSCredentialInfo?

    // memberwise-init: package

    /// True when every configured service answered.
    public var allReachable: Bool { services.allSatisfy { $0.reachable } }
}

/// The agent process that answered.
public struct AgentInfo: Codable, Sendable {
    /// Its version.
    public var version: String
    /// Its process id.
    public var pid: Int32
    /// `development`, `test` or `production`, from the config.
    public var environment: String
    /// When it started.
    public var startedAt: Date
    /// The config file it loaded.
    public var configPath: String
    /// The admin socket it listens on.
    public var socketPath: String
    /// Jobs running now.
    public var jobsRunning: Int

    // memberwise-init: package
}

/// A service the agent looks after.
public enum ServiceKind: String, Codable, Sendable, CaseIterable {
    case postgres, redis, dynamodb, rds, elasticache
}

/// How a service answered its probe.
public enum ServiceHealth: String, Codable, Sendable {
    /// Answered, and its state is as expected.
    case ok
    /// Answered, but something needs attention (a table not ACTIVE, a read-only replica, ...).
    case degraded
    /// Did not answer: refused, failed, or rejected our credentials.
    case down
    /// Did not answer within `status.timeout`.
    case timeout
}

/// One service's probe.
public struct ServiceStatus: Codable, Sendable {
    /// Which service.
    public var service: ServiceKind
    /// Where the agent looked: host:port, URL or resource name (never a secret).
    public var endpoint: String
    /// How it answered.
    public var health: ServiceHealth
    /// True when it answered (`ok` or `degraded`); encoded as `reachable`.
    public var reachable: Bool { health == .ok || health == .degraded }
    /// The probe's round trip, in milliseconds.
    public var rttMs: Double?
    /// The server's version, as it reports it.
    public var version: String?
    /// Why the service is down, timed out or degraded.
    public var error: String?
    /// How to fix it, when the agent knows.
    public var hint: String?
    /// PostgreSQL's state, when it answered.
    public var postgres: PostgresState?
    /// Redis's state, when it answered.
    public var redis: RedisState?
    /// The DynamoDB table's state, when it answered.
    public var dynamodb: DynamoDBState?
    /// The RDS instance's state (test and production).
    public var rds: RDSState?
    /// The ElastiCache replication group's state (test and production).
    public var elasticache: ElastiCacheState?

    package init(service: ServiceKind, endpoint: String, health: ServiceHealth) {
        self.service = service
        self.endpoint = endpoint
        self.health = health
    }

    enum CodingKeys: String, CodingKey {
        case service, endpoint, health, reachable, rttMs, version, error, hint, postgres, redis, dynamodb, rds,
            elasticache
    }

    /// Decodes a probe (`reachable` is derived from `health` and not read).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        service = try c.decode(ServiceKind.self, forKey: .service)
        endpoint = try c.decode(String.self, forKey: .endpoint)
        health = try c.decode(ServiceHealth.self, forKey: .health)
        rttMs = try c.decodeIfPresent(Double.self, forKey: .rttMs)
        version = try c.decodeIfPresent(String.self, forKey: .version)
        error = try c.decodeIfPresent(String.self, forKey: .error)
        hint = try c.decodeIfPresent(String.self, forKey: .hint)
        postgres = try c.decodeIfPresent(PostgresState.self, forKey: .postgres)
        redis = try c.decodeIfPresent(RedisState.self, forKey: .redis)
        dynamodb = try c.decodeIfPresent(DynamoDBState.self, forKey: .dynamodb)
        rds = try c.decodeIfPresent(RDSState.self, forKey: .rds)
        elasticache = try c.decodeIfPresent(ElastiCacheState.self, forKey: .elasticache)
    }

    /// Encodes a probe, with `reachable`.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(service, forKey: .service)
        try c.encode(endpoint, forKey: .endpoint)
        try c.encode(health, forKey: .health)
        try c.encode(reachable, forKey: .reachable)
        try c.encodeIfPresent(rttMs, forKey: .rttMs)
        try c.encodeIfPresent(version, forKey: .version)
        try c.encodeIfPresent(error, forKey: .error)
        try c.encodeIfPresent(hint, forKey: .hint)
        try c.encodeIfPresent(postgres, forKey: .postgres)
        try c.encodeIfPresent(redis, forKey: .redis)
        try c.encodeIfPresent(dynamodb, forKey: .dynamodb)
        try c.encodeIfPresent(rds, forKey: .rds)
        try c.encodeIfPresent(elasticache, forKey: .elasticache)
    }
}

/// PostgreSQL, as the probe read it.
public struct PostgresState: Codable, Sendable, Equatable {
    /// The database the agent connects to.
    public var database: String
    /// `server_version`.
    public var serverVersion: String
    /// `pg_database_size` of that database.
    public var databaseSizeBytes: Int64
    /// Connections open now (`pg_stat_activity`).
    public var connections: Int
    /// `max_connections`.
    public var maxConnections: Int
    /// True when the agent's own connection uses TLS.
    public var sslInUse: Bool
    /// The TLS version of that connection.
    public var sslVersion: String?
    /// True on a standby (`pg_is_in_recovery()`).
    public var inRecovery: Bool

    // memberwise-init: package

    /// The configured read replicas (`postgres.replicas`), each probed directly.
    public var replicas: [PostgresReplicaState]?
    /// The standbys streaming from this server, as `pg_stat_replication` lists them (replicas the config
    /// does not name included).
    public var standbys: [PostgresStandbyState]?
    /// WAL kept for replication slots, in bytes (RDS's ReplicationSlotDiskUsage).
    public var replicationSlotBytes: Int64?
}

/// A read replica, as its own probe read it.
public struct PostgresReplicaState: Codable, Sendable, Equatable {
    /// Its name (`postgres.replicas[].name`; the DBInstanceIdentifier of its metrics).
    public var name: String
    /// host:port.
    public var endpoint: String
    /// True when it answered.
    public var reachable: Bool
    /// `pg_is_in_recovery()`: false means it is no longer a replica (promoted).
    public var inRecovery: Bool?
    /// Seconds its data is behind the primary (0 when it has replayed all it received); nil when it
    /// receives no WAL stream.
    public var lagSeconds: Double?
    /// Replay is paused on it.
    public var replayPaused: Bool?
    /// Why it is not a usable replica.
    public var error: String?

    // memberwise-init: package
}

/// A standby as its primary sees it (`pg_stat_replication`).
public struct PostgresStandbyState: Codable, Sendable, Equatable {
    /// `application_name` (`walreceiver` unless the standby sets one).
    public var applicationName: String
    /// The standby's address.
    public var clientAddress: String?
    /// `streaming`, `catchup`, `startup`, `backup` or `stopping`.
    public var state: String
    /// `replay_lag`, in seconds (nil once caught up with nothing to report).
    public var replayLagSeconds: Double?

    // memberwise-init: package
}

/// Redis, as `INFO` reports it.
public struct RedisState: Codable, Sendable, Equatable {
    /// `master` or `slave`, as `INFO replication` says.
    public var role: String
    /// `used_memory`.
    public var usedMemoryBytes: Int64
    /// 0 means no limit.
    public var maxMemoryBytes: Int64
    /// `maxmemory-policy`.
    public var maxMemoryPolicy: String
    /// True when the agent's connection uses TLS.
    public var tlsInUse: Bool
    /// `connected_clients`.
    public var connectedClients: Int?
    /// Keys in every database, summed from `INFO keyspace`.
    public var keys: Int64?

    // memberwise-init: package

    /// Redis Cluster: the cluster as CLUSTER INFO and CLUSTER SHARDS describe it (nil for one server).
    public var cluster: RedisClusterState?
}

/// A Redis Cluster's state.
public struct RedisClusterState: Codable, Sendable, Equatable {
    /// `cluster_state`: `ok`, or `fail` while slots are not served.
    public var state: String
    /// `cluster_slots_ok` of 16384.
    public var slotsOk: Int
    /// `cluster_known_nodes`.
    public var knownNodes: Int
    /// One line per shard: its slots, primary and replicas (`host:port`).
    public var shards: [RedisClusterShard]

    // memberwise-init: package
}

/// One shard of a cluster.
public struct RedisClusterShard: Codable, Sendable, Equatable {
    /// `0-5460`.
    public var slots: String
    /// The primary's host:port (nil while none serves the slots).
    public var primary: String?
    /// The replicas' host:port.
    public var replicas: [String]

    // memberwise-init: package
}

/// The scenarios table, as `DescribeTable` reports it.
public struct DynamoDBState: Codable, Sendable, Equatable {
    /// The table's name.
    public var table: String
    /// `ACTIVE`, `CREATING`, `UPDATING`, ...
    public var tableStatus: String
    /// DynamoDB's item count (updated about every six hours).
    public var itemCount: Int64
    /// DynamoDB's size in bytes (updated about every six hours).
    public var sizeBytes: Int64
    /// `PAY_PER_REQUEST` or `PROVISIONED`.
    public var billingMode: String?
    /// Its global secondary indexes.
    public var indexes: [IndexState]

    /// One global secondary index.
    public struct IndexState: Codable, Sendable, Equatable {
        /// The index's name.
        public var name: String
        /// `ACTIVE`, `CREATING`, ...
        public var status: String
        /// Its item count, when reported.
        public var itemCount: Int64?
        // memberwise-init: package
    }

    // memberwise-init: package
}

/// The RDS instance, as `DescribeDBInstances` reports it.
public struct RDSState: Codable, Sendable, Equatable {
    /// `DBInstanceIdentifier`.
    public var instanceId: String
    /// `DBInstanceStatus` (`available`, `backing-up`, ...).
    public var status: String
    /// `Engine` (`postgres`).
    public var engine: String
    /// `EngineVersion`.
    public var engineVersion: String
    /// `DBInstanceClass`.
    public var instanceClass: String
    /// `MultiAZ`.
    public var multiAZ: Bool
    /// `StorageEncrypted`.
    public var storageEncrypted: Bool
    /// `AllocatedStorage`, in GiB.
    public var allocatedStorageGiB: Int?
    /// `Endpoint.Address:Port`.
    public var endpoint: String?
    /// `ReadReplicaDBInstanceIdentifiers`: the instance's read replicas, as RDS lists them.
    public var readReplicas: [String]?

    // memberwise-init: package
}

/// The ElastiCache replication group, as `DescribeReplicationGroups` reports it.
public struct ElastiCacheState: Codable, Sendable, Equatable {
    /// `ReplicationGroupId`.
    public var replicationGroupId: String
    /// `Status` (`available`, `modifying`, ...).
    public var status: String
    /// Member clusters (nodes) in the group.
    public var nodeCount: Int
    /// `MultiAZ` (`enabled` or `disabled`).
    public var multiAZ: String?
    /// `AutomaticFailover` (`enabled`, `disabled`, `enabling`, ...).
    public var automaticFailover: String?
    /// `TransitEncryptionEnabled`.
    public var transitEncryption: Bool
    /// `AtRestEncryptionEnabled`.
    public var atRestEncryption: Bool
    /// The primary endpoint, `host:port`.
    public var primaryEndpoint: String?

    // memberwise-init: package
}
