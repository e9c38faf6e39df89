import Logging
import WhatIfAWS
import WhatIfBackup
import WhatIfMaintenance
import WhatIfMonitoring
import WhatIfPostgres
import WhatIfRedis

#if canImport(Glibc)
    import Glibc
#endif

/// development: local PostgreSQL, DynamoDB Local, local Redis. test and production: RDS, AWS DynamoDB,
/// ElastiCache, with TLS verified.
public enum DeploymentEnvironment: String, Sendable, CaseIterable {
    case development, test, production

    /// `what-if-generator-scenarios-<environment>`, as the migration guide names the tables.
    public var scenariosTable: String { "what-if-generator-scenarios-\(rawValue)" }
}

/// The agent's configuration, with defaults applied, environment overrides applied and secrets loaded.
public struct AgentConfig: Sendable {
    public var path: String
    public var environment: DeploymentEnvironment
    public var region: String
    public var stateDirectory: String
    public var socket: SocketSettings
    public var logLevel: Logger.Level
    public var status: StatusSettings
    /// nil when the service is disabled (`enabled: false`).
    public var postgres: PostgresSettings?
    public var redis: RedisSettings?
    public var dynamodb: DynamoDBSettings?
    public var aws: AWSAgentSettings
    public var rds: RDSSettings?
    public var elasticache: ElastiCacheSettings?
    public var backups: BackupSettings
    public var monitoring: MonitoringConfig
    /// nil when there is no `expiry:` section.
    public var expiry: ExpiryConfig?
    /// `migration.postgres_target`: the RDS instance `whatifctl migrate postgres` copies into.
    public var postgresTarget: PostgresSettings? = nil
    /// nil when there is no `maintenance:` section.
    public var maintenance: MaintenanceConfig? = nil
    /// Every key the file sets, as dotted paths (`postgres.host`), for `config show`'s sources.
    public var fileKeys: Set<String> = []
    /// The keys among them whose value is a list (given whole by the file).
    public var listKeys: Set<String> = []
    /// The settings an environment variable gave, and which one (`postgres.host`: `RDS_POSTGRES_HOST`).
    public var fromEnvironment: [String: String] = [:]
}

public struct SocketSettings: Sendable, Equatable {
    public var path: String
    public var mode: UInt32
    /// Group that owns the socket file when whatifd creates it.
    public var group: String?
    public var readerGroup: String?
    public var adminGroup: String?
    public var readerGID: UInt32?
    public var adminGID: UInt32?
    public var maxConnections: Int
    public var maxHeaderBytes: Int
    public var maxBodyBytes: Int
    /// A request must arrive in full within this many seconds of its first byte.
    public var requestTimeout: Double
    /// A connection with no request in progress is closed after this many seconds.
    public var idleTimeout: Double

    /// Why some role-holders cannot connect with this mode and group, or nil when everyone the
    /// config names can: a mode without o+rw admits only the owner and the socket's group.
    public var reachProblem: String? {
        guard mode & 0o006 != 0o006 else { return nil }
        let shut = [readerGroup, adminGroup].compactMap { $0 }.filter { $0 != group }
        guard !shut.isEmpty else { return nil }
        return "socket.mode \(String(mode, radix: 8)) admits only root and the group \(group ?? "of the agent"): "
            + "members of \(shut.joined(separator: " and ")) who are not in it cannot connect; use mode 0666 "
            + "(SO_PEERCRED decides each role) or put them in that group"
    }
}

public struct StatusSettings: Sendable, Equatable {
    /// `whatifctl status` answers within this many seconds, whatever the services do.
    public var timeout: Double
    /// A status at most this old is served from cache (`?fresh=true` bypasses it).
    public var maxAge: Double
}

public struct PostgresSettings: Sendable, Equatable {
    public var connection: PostgresConfig
    /// "postgres.password_file /etc/...", "RDS_POSTGRES_PASSWORD", or "none".
    public var passwordSource: String
    public var connectTimeout: Double
}

public struct RedisSettings: Sendable {
    public var config: RedisConfig
    public var url: String
}

public struct DynamoDBSettings: Sendable, Equatable {
    public var table: String
    /// DynamoDB Local or moto; nil is AWS's regional endpoint.
    public var endpoint: String?
}

public struct AWSAgentSettings: Sendable, Equatable {
    public var profile: String?
    public var credentialsFile: String?
    public var configFile: String?
    /// One endpoint for every AWS service (moto_server), e.g. http://127.0.0.1:5000.
    public var endpoint: String?
    public var imdsEndpoint: String?
    public var maxAttempts: Int
    public var timeout: Double
}

public struct RDSSettings: Sendable, Equatable {
    public var instanceId: String
}

public struct ElastiCacheSettings: Sendable, Equatable {
    public var replicationGroupId: String
}

/// One problem in the configuration: `file:line: what is wrong; how to fix`.
public struct ConfigProblem: Sendable, Equatable, CustomStringConvertible {
    /// The config file, or `env:NAME` for an environment variable.
    public var location: String
    public var line: Int?
    public var message: String
    public var hint: String

    public init(location: String, line: Int?, message: String, hint: String) {
        self.location = location
        self.line = line
        self.message = message
        self.hint = hint
    }

    public var description: String {
        "\(location)\(line.map { ":\($0)" } ?? ""): \(message); \(hint)"
    }
}

public struct ConfigError: Error, Sendable, CustomStringConvertible {
    public var problems: [ConfigProblem]
    public var description: String { problems.map(\.description).joined(separator: "\n") }
}
