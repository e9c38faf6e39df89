import Logging
import WhatIfAWS
import WhatIfBackup
import WhatIfMaintenance
import WhatIfMonitoring
import WhatIfPostgres
import WhatIfProtocol
import WhatIfRedis

#if canImport(Glibc)
    import Glibc
#endif

/// development: local PostgreSQL, DynamoDB Local, local Redis. test and production: RDS, AWS DynamoDB,
/// ElastiCache, with TLS verified.
package enum DeploymentEnvironment: String, Sendable, CaseIterable {
    case development, test, production

    /// `what-if-generator-scenarios-<environment>`, as the migration guide names the tables.
    package var scenariosTable: String { "what-if-generator-scenarios-\(rawValue)" }
}

/// The agent's configuration, with defaults applied, environment overrides applied and secrets loaded.
public struct AgentConfig: Sendable {
    package var path: String
    package var environment: DeploymentEnvironment
    package var region: String
    package var stateDirectory: String
    public var socket: SocketSettings
    package var logLevel: Logger.Level
    package var status: StatusSettings
    /// nil when the service is disabled (`enabled: false`).
    package var postgres: PostgresSettings?
    package var redis: RedisSettings?
    package var dynamodb: DynamoDBSettings?
    package var aws: AWSAgentSettings
    package var rds: RDSSettings?
    package var elasticache: ElastiCacheSettings?
    package var backups: BackupSettings
    package var monitoring: MonitoringConfig
    /// nil when there is no `expiry:` section.
    package var expiry: ExpiryConfig?
    /// `migration.postgres_target`: the RDS instance `whatifctl migrate postgres` copies into.
    package var postgresTarget: PostgresSettings? = nil
    /// nil when there is no `maintenance:` section.
    package var maintenance: MaintenanceConfig? = nil
    /// `audit.rotate_size`: the audit log is rotated (renamed, kept) past this size.
    package var auditRotateBytes: Int64 = 16 << 20
    /// Every key the file sets, as dotted paths (`postgres.host`), for `config show`'s sources.
    package var fileKeys: Set<String> = []
    /// The keys among them whose value is a list (given whole by the file).
    package var listKeys: Set<String> = []
    /// The settings an environment variable gave, and which one (`postgres.host`: `RDS_POSTGRES_HOST`).
    package var fromEnvironment: [String: String] = [:]
}

public struct SocketSettings: Sendable, Equatable {
    public var path: String
    package var mode: UInt32
    /// Group that owns the socket file when whatifd creates it.
    package var group: String?
    package var readerGroup: String?
    package var adminGroup: String?
    package var readerGID: UInt32?
    package var adminGID: UInt32?
    package var maxConnections: Int
    package var maxHeaderBytes: Int
    package var maxBodyBytes: Int
    /// A request must arrive in full within this many seconds of its first byte.
    package var requestTimeout: Double
    /// A connection with no request in progress is closed after this many seconds.
    package var idleTimeout: Double

    /// Why some role-holders cannot connect with this mode and group, or nil when everyone the
    /// config names can: a mode without o+rw admits only the owner and the socket's group.
    package var reachProblem: String? {
        guard mode & 0o006 != 0o006 else { return nil }
        let shut = [readerGroup, adminGroup].compactMap { $0 }.filter { $0 != group }
        guard !shut.isEmpty else { return nil }
        return "socket.mode \(String(mode, radix: 8)) admits only root and the group \(group ?? "of the agent"): "
            + "members of \(shut.joined(separator: " and ")) who are not in it cannot connect; use mode 0666 "
            + "(SO_PEERCRED decides each role) or put them in that group"
    }
}

package struct StatusSettings: Sendable, Equatable {
    /// `whatifctl status` answers within this many seconds, whatever the services do.
    package var timeout: Double
    /// A status at most this old is served from cache (`?fresh=true` bypasses it).
    package var maxAge: Double
}

package struct PostgresSettings: Sendable, Equatable {
    package var connection: PostgresConfig
    /// "postgres.password_file /etc/...", "RDS_POSTGRES_PASSWORD", or "none".
    package var passwordSource: String
    package var connectTimeout: Double
    /// `postgres.replicas`: read replicas (hot standbys) of this server, each reached with the primary's
    /// database, user, password and TLS settings.
    package var replicas: [PostgresReplica] = []
    /// `postgres.pgbouncer`: the pooler's admin console, for pool metrics (nil: no PgBouncer).
    package var pgbouncer: PostgresConfig? = nil
}

/// One read replica: its name (the DBInstanceIdentifier its metrics carry) and where it listens.
package struct PostgresReplica: Sendable, Equatable {
    package var name: String
    package var connection: PostgresConfig
}

package struct RedisSettings: Sendable {
    package var config: RedisConfig
    package var url: String
}

package struct DynamoDBSettings: Sendable, Equatable {
    package var table: String
    /// DynamoDB Local or moto; nil is AWS's regional endpoint.
    package var endpoint: String?
}

package struct AWSAgentSettings: Sendable, Equatable {
    package var profile: String?
    package var credentialsFile: String?
    package var configFile: String?
    /// One endpoint for every AWS service (moto_server), e.g. http://127.0.0.1:5000.
    package var endpoint: String?
    package var imdsEndpoint: String?
    package var maxAttempts: Int
    package var timeout: Double
}

package struct RDSSettings: Sendable, Equatable {
    package var instanceId: String
}

package struct ElastiCacheSettings: Sendable, Equatable {
    package var replicationGroupId: String
}

/// One problem in the configuration: `file:line: what is wrong; how to fix`.
public struct ConfigProblem: Sendable, Equatable, CustomStringConvertible {
    /// The config file, or `env:NAME` for an environment variable.
    package var location: String
    package var line: Int?
    package var message: String
    public var hint: String

    public var description: String {
        "\(location)\(line.map { ":\($0)" } ?? ""): \(message); \(hint)"
    }
}

public struct ConfigError: Error, Sendable, CustomStringConvertible {
    public var problems: [ConfigProblem]
    public var description: String { problems.map(\.description).joined(separator: "\n") }
}

extension AgentConfig {
    /// Whether anything configured calls AWS (so the credentials matter).
    var usesAWS: Bool {
        dynamodb != nil || rds != nil || elasticache != nil || backups.s3 != nil || monitoring.source == .cloudwatch
    }

    /// The configured PostgreSQL server, or a 422 saying how to configure it.
    func postgresSettings() throws(APIError) -> PostgresSettings {
        guard let postgres else {
            throw APIError(.notConfigured, "PostgreSQL is not configured", hint: "configure postgres: in \(path)")
        }
        return postgres
    }

    /// The configured source and the migration target.
    func migrationServers() throws(APIError) -> (PostgresSettings, PostgresSettings) {
        let source = try postgresSettings()
        guard let target = postgresTarget else {
            throw APIError(
                .notConfigured, "there is no migration target",
                hint:
                    "add migration.postgres_target (host, database, user, password_file, sslrootcert: the RDS CA bundle) to \(path)"
            )
        }
        return (source, target)
    }
}
