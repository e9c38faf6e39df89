#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// `GET /v1/status`: the agent and, per configured service, reachability, round trip, version and state.
public struct StatusReport: Codable, Sendable {
    public var agent: AgentInfo
    public var checkedAt: Date
    /// How long the probes took, in milliseconds (bounded by `status.timeout`).
    public var durationMs: Double
    public var services: [ServiceStatus]
    /// The fleet's leases (`whatifctl status` adds them from `GET /v1/maintenance/leases`).
    public var leases: LeaseList?

    public init(agent: AgentInfo, checkedAt: Date, durationMs: Double, services: [ServiceStatus]) {
        self.agent = agent
        self.checkedAt = checkedAt
        self.durationMs = durationMs
        self.services = services
    }

    /// True when every configured service answered.
    public var allReachable: Bool { services.allSatisfy { $0.reachable } }
}

public struct AgentInfo: Codable, Sendable {
    public var version: String
    public var pid: Int32
    public var environment: String
    public var startedAt: Date
    public var configPath: String
    public var socketPath: String
    public var jobsRunning: Int

    public init(
        version: String, pid: Int32, environment: String, startedAt: Date, configPath: String, socketPath: String,
        jobsRunning: Int
    ) {
        self.version = version
        self.pid = pid
        self.environment = environment
        self.startedAt = startedAt
        self.configPath = configPath
        self.socketPath = socketPath
        self.jobsRunning = jobsRunning
    }
}

public enum ServiceKind: String, Codable, Sendable, CaseIterable {
    case postgres, redis, dynamodb, rds, elasticache
}

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

public struct ServiceStatus: Codable, Sendable {
    public var service: ServiceKind
    /// Where the agent looked: host:port, URL or resource name (never a secret).
    public var endpoint: String
    public var health: ServiceHealth
    public var reachable: Bool { health == .ok || health == .degraded }
    public var rttMs: Double?
    public var version: String?
    /// Why the service is down, timed out or degraded.
    public var error: String?
    public var hint: String?
    public var postgres: PostgresState?
    public var redis: RedisState?
    public var dynamodb: DynamoDBState?
    public var rds: RDSState?
    public var elasticache: ElastiCacheState?

    public init(service: ServiceKind, endpoint: String, health: ServiceHealth) {
        self.service = service
        self.endpoint = endpoint
        self.health = health
    }

    enum CodingKeys: String, CodingKey {
        case service, endpoint, health, reachable, rttMs, version, error, hint, postgres, redis, dynamodb, rds,
            elasticache
    }

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

public struct PostgresState: Codable, Sendable, Equatable {
    public var database: String
    public var serverVersion: String
    public var databaseSizeBytes: Int64
    public var connections: Int
    public var maxConnections: Int
    public var sslInUse: Bool
    public var sslVersion: String?
    public var inRecovery: Bool

    public init(
        database: String, serverVersion: String, databaseSizeBytes: Int64, connections: Int, maxConnections: Int,
        sslInUse: Bool, sslVersion: String?, inRecovery: Bool
    ) {
        self.database = database
        self.serverVersion = serverVersion
        self.databaseSizeBytes = databaseSizeBytes
        self.connections = connections
        self.maxConnections = maxConnections
        self.sslInUse = sslInUse
        self.sslVersion = sslVersion
        self.inRecovery = inRecovery
    }
}

public struct RedisState: Codable, Sendable, Equatable {
    public var role: String
    public var usedMemoryBytes: Int64
    /// 0 means no limit.
    public var maxMemoryBytes: Int64
    public var maxMemoryPolicy: String
    public var tlsInUse: Bool
    public var connectedClients: Int?
    public var keys: Int64?

    public init(
        role: String, usedMemoryBytes: Int64, maxMemoryBytes: Int64, maxMemoryPolicy: String, tlsInUse: Bool,
        connectedClients: Int?, keys: Int64?
    ) {
        self.role = role
        self.usedMemoryBytes = usedMemoryBytes
        self.maxMemoryBytes = maxMemoryBytes
        self.maxMemoryPolicy = maxMemoryPolicy
        self.tlsInUse = tlsInUse
        self.connectedClients = connectedClients
        self.keys = keys
    }
}

public struct DynamoDBState: Codable, Sendable, Equatable {
    public var table: String
    public var tableStatus: String
    public var itemCount: Int64
    public var sizeBytes: Int64
    public var billingMode: String?
    public var indexes: [IndexState]

    public struct IndexState: Codable, Sendable, Equatable {
        public var name: String
        public var status: String
        public var itemCount: Int64?
        public init(name: String, status: String, itemCount: Int64?) {
            self.name = name
            self.status = status
            self.itemCount = itemCount
        }
    }

    public init(
        table: String, tableStatus: String, itemCount: Int64, sizeBytes: Int64, billingMode: String?,
        indexes: [IndexState]
    ) {
        self.table = table
        self.tableStatus = tableStatus
        self.itemCount = itemCount
        self.sizeBytes = sizeBytes
        self.billingMode = billingMode
        self.indexes = indexes
    }
}

public struct RDSState: Codable, Sendable, Equatable {
    public var instanceId: String
    public var status: String
    public var engine: String
    public var engineVersion: String
    public var instanceClass: String
    public var multiAZ: Bool
    public var storageEncrypted: Bool
    public var allocatedStorageGiB: Int?
    public var endpoint: String?

    public init(
        instanceId: String, status: String, engine: String, engineVersion: String, instanceClass: String,
        multiAZ: Bool, storageEncrypted: Bool, allocatedStorageGiB: Int?, endpoint: String?
    ) {
        self.instanceId = instanceId
        self.status = status
        self.engine = engine
        self.engineVersion = engineVersion
        self.instanceClass = instanceClass
        self.multiAZ = multiAZ
        self.storageEncrypted = storageEncrypted
        self.allocatedStorageGiB = allocatedStorageGiB
        self.endpoint = endpoint
    }
}

public struct ElastiCacheState: Codable, Sendable, Equatable {
    public var replicationGroupId: String
    public var status: String
    public var nodeCount: Int
    public var multiAZ: String?
    public var automaticFailover: String?
    public var transitEncryption: Bool
    public var atRestEncryption: Bool
    public var primaryEndpoint: String?

    public init(
        replicationGroupId: String, status: String, nodeCount: Int, multiAZ: String?, automaticFailover: String?,
        transitEncryption: Bool, atRestEncryption: Bool, primaryEndpoint: String?
    ) {
        self.replicationGroupId = replicationGroupId
        self.status = status
        self.nodeCount = nodeCount
        self.multiAZ = multiAZ
        self.automaticFailover = automaticFailover
        self.transitEncryption = transitEncryption
        self.atRestEncryption = atRestEncryption
        self.primaryEndpoint = primaryEndpoint
    }
}
