import Logging
import WhatIfAWS
import WhatIfCore
import WhatIfCrypto
import WhatIfHTTP
import WhatIfPostgres
import WhatIfRedis

/// One client per backing service, built from a config. Rebuilt on reload.
package final class ServiceClients: Sendable {
    package let config: AgentConfig
    package let http: HTTPClient
    package let aws: AWSClient
    package let credentials: AWSCredentialChain
    /// Built once per config: loading a CA bundle per connection would be wasteful.
    private let redisTLS: Result<TLSClientContext, TLSError>?
    /// Connections kept for the status probes (one probe per service runs at a time).
    private let probePostgres = ExclusiveSlot<PostgresConnection>()
    private let probeRedis = ExclusiveSlot<RedisConnection>()

    package init(
        config: AgentConfig, environment: [String: String], logger: Logger, http: HTTPClient = HTTPClient(),
        observer: (@Sendable (AWSCallRecord) -> Void)? = nil
    ) {
        self.config = config
        self.http = http
        var endpoints: [String: String] = [:]
        if let e = config.dynamodb?.endpoint { endpoints["dynamodb"] = e }
        let settings = AWSSettings(
            region: config.region, endpoint: config.aws.endpoint, serviceEndpoints: endpoints,
            maxAttempts: config.aws.maxAttempts, timeout: config.aws.timeout)
        credentials = AWSCredentialChain(
            settings: .init(
                environment: environment, explicitProfile: config.aws.profile,
                credentialsFile: config.aws.credentialsFile, configFile: config.aws.configFile,
                imdsEndpoint: config.aws.imdsEndpoint, sts: settings),
            http: http)
        aws = AWSClient(settings: settings, credentials: credentials, http: http, logger: logger, observer: observer)
        if let r = config.redis, case .tls = r.config.endpoint.transport {
            redisTLS = Result { () throws(TLSError) in try TLSClientContext(caFile: r.config.caFile) }
        } else {
            redisTLS = nil
        }
    }

    package var dynamodb: DynamoDB { DynamoDB(client: aws) }

    /// DynamoDB in another region than the config's (same credentials and endpoint settings).
    package func dynamodb(region: String?) -> DynamoDB {
        guard let region, region != config.region else { return dynamodb }
        return DynamoDB(client: aws.with(region: region))
    }
    package var cloudwatch: CloudWatch { CloudWatch(client: aws) }
    package var s3: S3 { S3(client: aws) }
    package var rds: RDS { RDS(client: aws) }
    package var elasticache: ElastiCache { ElastiCache(client: aws) }

    /// A new PostgreSQL connection (blocking).
    package func postgres(deadline: Deadline) throws -> PostgresConnection {
        guard let p = config.postgres else {
            throw Failure("PostgreSQL is not configured", hint: "set postgres: in the config")
        }
        // Connecting takes at most postgres.connect_timeout, within the caller's deadline.
        return try PostgresConnection.connect(p.connection, deadline: min(deadline, .after(seconds: p.connectTimeout)))
    }

    /// Runs `body` on the kept status connection, connecting when there is none. A kept connection that
    /// fails (the server restarted, say) is replaced once, within the same deadline.
    package func withProbePostgres<T>(deadline: Deadline, _ body: (PostgresConnection) throws -> T) throws -> T {
        try probePostgres.using(
            make: { try postgres(deadline: deadline) }, discard: { $0.close() },
            isStale: { ($0 as? PostgresError).map { $0.kind != .query } == true && !deadline.hasPassed }, body)
    }

    /// As `withProbePostgres`, for Redis.
    package func withProbeRedis<T>(timeout: Double, _ body: (RedisConnection) throws -> T) throws -> T {
        try probeRedis.using(
            make: { try redis(timeout: timeout) }, discard: { $0.close() },
            isStale: { ($0 as? RedisError)?.kind == .connection }, body)
    }

    /// A new Redis connection (blocking).
    package func redis(timeout: Double? = nil) throws -> RedisConnection {
        try redis(timeout: timeout) { _ in }
    }

    /// A connection to one node of the configured Redis Cluster: the configured URL's credentials, TLS
    /// and timeout, at the node's address (database 0, the only one a cluster has).
    package func redisNode(host: String, port: Int, timeout: Double? = nil) throws -> RedisConnection {
        try redis(timeout: timeout) { c in
            switch c.endpoint.transport {
            case .tls: c.endpoint.transport = .tls(host: host, port: port)
            case .tcp, .unix: c.endpoint.transport = .tcp(host: host, port: port)
            }
            c.endpoint.database = 0
        }
    }

    /// The configured Redis's settings, changed by `adjust`, with the shared TLS context.
    private func redis(timeout: Double?, adjust: (inout RedisConfig) -> Void) throws -> RedisConnection {
        guard let r = config.redis else { throw Failure("Redis is not configured", hint: "set redis: in the config") }
        var c = r.config
        if let timeout { c.timeout = timeout }
        adjust(&c)
        let tls = try redisTLS.map { result throws(RedisError) -> TLSClientContext in
            switch result {
            case .success(let ctx): return ctx
            case .failure(let e): throw RedisError(.tls, e.message, hint: e.hint)
            }
        }
        return try RedisConnection(c, tlsContext: tls)
    }
}
