import WhatIfHTTP
import WhatIfProtocol
import WhatIfRedis

/// The running config as JSON for `GET /v1/config`: every setting, no secret (files are named,
/// their contents never shown).
enum ConfigView {
    static func json(_ c: AgentConfig) -> JSONValue {
        var o: [String: JSONValue] = [
            "path": .string(c.path),
            "environment": .string(c.environment.rawValue),
            "region": .string(c.region),
            "state_dir": .string(c.stateDirectory),
            "log": ["level": .string(c.logLevel.rawValue)],
            "status": ["timeout": .number(c.status.timeout), "max_age": .number(c.status.maxAge)],
            "socket": [
                "path": .string(c.socket.path), "mode": .string("0" + String(c.socket.mode, radix: 8)),
                "group": c.socket.group.map(JSONValue.string) ?? .null,
                "reader_group": c.socket.readerGroup.map(JSONValue.string) ?? .null,
                "admin_group": c.socket.adminGroup.map(JSONValue.string) ?? .null,
                "max_connections": .number(Double(c.socket.maxConnections)),
                "max_header_bytes": .number(Double(c.socket.maxHeaderBytes)),
                "max_body_bytes": .number(Double(c.socket.maxBodyBytes)),
                "request_timeout": .number(c.socket.requestTimeout),
                "idle_timeout": .number(c.socket.idleTimeout),
            ],
            "aws": [
                "profile": c.aws.profile.map(JSONValue.string) ?? .null,
                "endpoint": c.aws.endpoint.map(JSONValue.string) ?? .null,
                "credentials_file": c.aws.credentialsFile.map(JSONValue.string) ?? .null,
                "config_file": c.aws.configFile.map(JSONValue.string) ?? .null,
                "imds_endpoint": c.aws.imdsEndpoint.map(JSONValue.string) ?? .null,
                "max_attempts": .number(Double(c.aws.maxAttempts)),
                "timeout": .number(c.aws.timeout),
            ],
        ]
        // Where the password comes from, never the password.
        func postgres(_ p: PostgresSettings) -> JSONValue {
            [
                "host": .string(p.connection.host), "port": .number(Double(p.connection.port)),
                "database": .string(p.connection.database),
                "user": .string(p.connection.user), "password": .string(p.passwordSource),
                "sslmode": .string(p.connection.sslMode.rawValue),
                "sslrootcert": p.connection.sslRootCert.map(JSONValue.string) ?? .null,
                "connect_timeout": .number(p.connectTimeout),
            ]
        }
        o["postgres"] = c.postgres.map(postgres) ?? ["enabled": false]
        if let t = c.postgresTarget { o["migration"] = ["postgres_target": postgres(t)] }
        if let r = c.redis {
            o["redis"] = [
                "url": .string(r.config.endpoint.display),
                "username": r.config.endpoint.username.map(JSONValue.string) ?? .null,
                "password": .string(r.config.endpoint.password == nil ? "none" : "set"),
                "ca_file": r.config.caFile.map(JSONValue.string) ?? .null,
                "server_name": r.config.serverName.map(JSONValue.string) ?? .null, "timeout": .number(r.config.timeout),
            ]
        } else {
            o["redis"] = ["enabled": false]
        }
        if let d = c.dynamodb {
            o["dynamodb"] = ["table": .string(d.table), "endpoint": d.endpoint.map(JSONValue.string) ?? .null]
        } else {
            o["dynamodb"] = ["enabled": false]
        }
        if let r = c.rds { o["rds"] = ["instance_id": .string(r.instanceId)] }
        if let e = c.elasticache { o["elasticache"] = ["replication_group_id": .string(e.replicationGroupId)] }
        let m = c.monitoring
        o["metrics"] = [
            "enabled": .bool(m.enabled), "interval": .number(m.settings.interval),
            "retention": .number(m.settings.retention), "evaluation_interval": .number(m.settings.evaluationInterval),
            "source": .string(m.source.rawValue), "rds_instance_id": .string(m.rdsInstanceId),
            "cache_cluster_id": .string(m.cacheClusterId),
            "textfile": m.settings.textfile.map(JSONValue.string) ?? .null,
            "publish_namespace": m.settings.publishNamespace.map(JSONValue.string) ?? .null,
        ]
        o["alarms"] = .array(m.alarms.map { .string($0.name) })
        o["hooks"] = [
            "directory": m.hooks.directory.map(JSONValue.string) ?? .null, "timeout": .number(m.hooks.timeout),
            "repeat_interval": m.hooks.repeatInterval.map(JSONValue.number) ?? .string("off"),
            // URLs may carry credentials: shown without them; header values never (files are named).
            "webhooks": .array(
                m.hooks.webhooks.map {
                    [
                        "url": .string(HTTPClient.redactedURL($0.url)),
                        "headers": .array($0.headers.keys.sorted().map(JSONValue.string)),
                        "header_files": .object($0.headerFiles.mapValues(JSONValue.string)),
                        "max_attempts": .number(Double($0.maxAttempts)), "timeout": .number($0.timeout),
                    ]
                }),
        ]
        if let e = c.expiry {
            o["expiry"] = [
                "rules": .array(
                    e.policy.rules.map {
                        [
                            "match": .string($0.pattern), "action": .string($0.action.rawValue),
                            "max_ttl": $0.maxTTL.map { .number(Double($0)) } ?? .null,
                            "default_ttl": $0.defaultTTL.map { .number(Double($0)) } ?? .null,
                            "type": $0.type.map(JSONValue.string) ?? .null,
                        ]
                    }),
                "exclude": .array(e.policy.exclude.map(JSONValue.string)),
                "maxmemory_policy": e.policy.expectedMaxmemoryPolicy.map(JSONValue.string) ?? .null,
                "scan_count": .number(Double(e.sweep.scanCount)),
                "keys_per_second": e.sweep.keysPerSecond.map(JSONValue.number) ?? .null,
                "batch_budget": .number(e.sweep.batchBudget), "sample_size": .number(Double(e.sweep.sampleSize)),
                "schedule": e.schedule.map {
                    [
                        "every": .number($0.every), "mode": .string($0.enforce ? "enforce" : "dry-run"),
                        "keys_per_second": $0.keysPerSecond.map(JSONValue.number) ?? .null,
                    ]
                } ?? .null,
            ]
        }
        return .object(o)
    }
}
