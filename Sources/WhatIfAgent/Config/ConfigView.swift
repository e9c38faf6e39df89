import WhatIfBackup
import WhatIfHTTP
import WhatIfMaintenance
import WhatIfProtocol
import WhatIfRedis
import WhatIfUnits

/// The running config for `GET /v1/config`: every effective setting under the key it has in agent.yaml
/// (durations written as the file writes them, `30s`, `1d`), and where each came from: `file`,
/// `env NAME`, `default`, or `derived from KEY`. No secret is ever shown: passwords are `<redacted>`
/// with their source, files holding secrets are named.
enum ConfigView {
    static func report(_ c: AgentConfig) -> ConfigReport {
        let settings = tree(c)
        var sources: [String: String] = [:]
        func walk(_ v: JSONValue, _ path: String) {
            if case .object(let o) = v, !o.isEmpty {
                for (k, child) in o { walk(child, path.isEmpty ? k : "\(path).\(k)") }
            } else {
                sources[path] = source(path, config: c)
            }
        }
        walk(settings, "")
        // "derived from KEY" only where KEY has a value; otherwise the loader fell back to its default.
        for (path, src) in sources where src.hasPrefix("derived from ") {
            if lookup(settings, String(src.dropFirst("derived from ".count))) == nil { sources[path] = "default" }
        }
        return ConfigReport(path: c.path, settings: settings, sources: sources)
    }

    /// Settings the loader works out from others when the file leaves them out.
    static let derivedKeys: [String: String] = [
        "rds.instance_id": "postgres.host", "elasticache.replication_group_id": "redis.url",
        "metrics.rds_instance_id": "rds.instance_id", "metrics.cache_cluster_id": "elasticache.replication_group_id",
        "backups.location": "state_dir", "dynamodb.table": "environment",
    ]

    static func source(_ path: String, config c: AgentConfig) -> String {
        // The loader notes each variable it takes, where it takes it.
        if let name = c.fromEnvironment[path] { return "env \(name)" }
        if c.fileKeys.contains(path) || (path == "postgres.password" && c.fileKeys.contains("postgres.password_file")) {
            return "file"
        }
        // A list or section the file gives whole (alarms, windows, rules) is the file's.
        if let dot = path.lastIndex(of: "."), c.fileKeys.contains(String(path[..<dot])),
            c.listKeys.contains(String(path[..<dot]))
        {
            return "file"
        }
        // backups.retention.KIND.KEY falls back on backups.retention.KEY, which applies to every kind.
        let parts = path.split(separator: ".").map(String.init)
        if parts.count == 4, parts[0] == "backups", parts[1] == "retention",
            c.fileKeys.contains("backups.retention.\(parts[3])")
        {
            return "file (backups.retention.\(parts[3]))"
        }
        if let from = derivedKeys[path] { return "derived from \(from)" }
        return "default"
    }

    /// The value at a dotted path, nil when absent or null.
    static func lookup(_ v: JSONValue, _ path: String) -> JSONValue? {
        var here = v
        for k in path.split(separator: ".") {
            guard case .object(let o) = here, let next = o[String(k)] else { return nil }
            here = next
        }
        if case .null = here { return nil }
        return here
    }

    static func duration(_ s: Double) -> JSONValue { .string(Units.duration(s)) }
    static func optional(_ s: String?) -> JSONValue { s.map(JSONValue.string) ?? .null }

    static func tree(_ c: AgentConfig) -> JSONValue {
        var o: [String: JSONValue] = [
            "environment": .string(c.environment.rawValue),
            "region": .string(c.region),
            "state_dir": .string(c.stateDirectory),
            "log": ["level": .string(c.logLevel.rawValue)],
            "status": ["timeout": duration(c.status.timeout), "max_age": duration(c.status.maxAge)],
            "audit": ["rotate_size": .number(Double(c.auditRotateBytes))],
            "socket": [
                "path": .string(c.socket.path), "mode": .string("0" + String(c.socket.mode, radix: 8)),
                "group": optional(c.socket.group), "reader_group": optional(c.socket.readerGroup),
                "admin_group": optional(c.socket.adminGroup),
                "max_connections": .number(Double(c.socket.maxConnections)),
                "max_header_bytes": .number(Double(c.socket.maxHeaderBytes)),
                "max_body_bytes": .number(Double(c.socket.maxBodyBytes)),
                "request_timeout": duration(c.socket.requestTimeout), "idle_timeout": duration(c.socket.idleTimeout),
            ],
            "aws": [
                "profile": optional(c.aws.profile), "endpoint": optional(c.aws.endpoint),
                "credentials_file": optional(c.aws.credentialsFile), "config_file": optional(c.aws.configFile),
                "imds_endpoint": optional(c.aws.imdsEndpoint), "max_attempts": .number(Double(c.aws.maxAttempts)),
                "timeout": duration(c.aws.timeout),
            ],
        ]
        // Where the password comes from, never the password.
        func postgres(_ p: PostgresSettings) -> JSONValue {
            var s: [String: JSONValue] = [
                "host": .string(p.connection.host), "port": .number(Double(p.connection.port)),
                "database": .string(p.connection.database), "user": .string(p.connection.user),
                "sslmode": .string(p.connection.sslMode.rawValue), "sslrootcert": optional(p.connection.sslRootCert),
                "connect_timeout": duration(p.connectTimeout),
            ]
            if let b = p.pgbouncer {
                s["pgbouncer"] = [
                    "host": .string(b.host), "port": .number(Double(b.port)), "user": .string(b.user),
                ]
            }
            if !p.replicas.isEmpty {
                s["replicas"] = .array(
                    p.replicas.map {
                        [
                            "name": .string($0.name), "host": .string($0.connection.host),
                            "port": .number(Double($0.connection.port)),
                        ]
                    })
            }
            if let file = p.passwordSource.split(separator: " ", maxSplits: 1).last,
                p.passwordSource.contains("password_file")
            {
                s["password_file"] = .string(String(file))
            } else {
                s["password"] = .string(p.connection.password == nil ? "none" : "<redacted>")
            }
            return .object(s)
        }
        o["postgres"] = c.postgres.map(postgres) ?? ["enabled": false]
        if let t = c.postgresTarget { o["migration"] = ["postgres_target": postgres(t)] }
        if let r = c.redis {
            o["redis"] = [
                "url": .string(r.config.endpoint.display), "username": optional(r.config.endpoint.username),
                "password": .string(r.config.endpoint.password == nil ? "none" : "<redacted>"),
                "ca_file": optional(r.config.caFile), "server_name": optional(r.config.serverName),
                "timeout": duration(r.config.timeout),
            ]
        } else {
            o["redis"] = ["enabled": false]
        }
        if let d = c.dynamodb {
            o["dynamodb"] = ["table": .string(d.table), "endpoint": optional(d.endpoint)]
        } else {
            o["dynamodb"] = ["enabled": false]
        }
        if let r = c.rds { o["rds"] = ["instance_id": .string(r.instanceId)] }
        if let e = c.elasticache { o["elasticache"] = ["replication_group_id": .string(e.replicationGroupId)] }
        o["backups"] = backups(c.backups)
        let m = c.monitoring
        o["metrics"] = [
            "enabled": .bool(m.enabled), "interval": duration(m.settings.interval),
            "retention": duration(m.settings.retention), "evaluation_interval": duration(m.settings.evaluationInterval),
            "source": .string(m.source.rawValue), "rds_instance_id": .string(m.rdsInstanceId),
            "cache_cluster_id": .string(m.cacheClusterId), "textfile": optional(m.settings.textfile),
            "listen": optional(m.listenAddress.map(\.description)),
            "publish_namespace": optional(m.settings.publishNamespace),
        ]
        o["alarms"] = .array(m.alarms.map { .string($0.name) })
        o["hooks"] = [
            "directory": optional(m.hooks.directory), "timeout": duration(m.hooks.timeout),
            "repeat_interval": m.hooks.repeatInterval.map(duration) ?? .string("off"),
            // URLs may carry credentials: shown without them; header values never (files are named).
            "webhooks": .array(
                m.hooks.webhooks.map {
                    [
                        "name": .string($0.name), "format": .string($0.format.rawValue),
                        "routing_key_file": optional($0.routingKeyFile),
                        "url": .string(HTTPClient.redactedURL($0.url)),
                        "headers": .object(
                            Dictionary(uniqueKeysWithValues: $0.headers.keys.map { ($0, "<redacted>") })),
                        "header_files": .object($0.headerFiles.mapValues(JSONValue.string)),
                        "max_attempts": .number(Double($0.maxAttempts)), "timeout": duration($0.timeout),
                    ]
                }),
        ]
        if let e = c.expiry {
            o["expiry"] = [
                "rules": .array(
                    e.policy.rules.map {
                        [
                            "match": .string($0.pattern), "action": .string($0.action.rawValue),
                            "max_ttl": $0.maxTTL.map { duration(Double($0)) } ?? .null,
                            "default_ttl": $0.defaultTTL.map { duration(Double($0)) } ?? .null,
                            "type": optional($0.type),
                        ]
                    }),
                "exclude": .array(e.policy.exclude.map(JSONValue.string)),
                "maxmemory_policy": optional(e.policy.expectedMaxmemoryPolicy),
                "scan_count": .number(Double(e.sweep.scanCount)),
                "keys_per_second": e.sweep.keysPerSecond.map(JSONValue.number) ?? .null,
                "batch_budget": duration(e.sweep.batchBudget), "sample_size": .number(Double(e.sweep.sampleSize)),
                "schedule": e.schedule.map {
                    [
                        "every": duration($0.every), "mode": .string($0.enforce ? "enforce" : "dry-run"),
                        "keys_per_second": $0.keysPerSecond.map(JSONValue.number) ?? .null,
                    ]
                } ?? .null,
            ]
        }
        if let mt = c.maintenance {
            o["maintenance"] = [
                "catch_up": .string(mt.catchUp.rawValue),
                "windows": .array(
                    mt.windows.map { w in
                        [
                            "name": .string(w.name), "when": .string(w.when),
                            "duration": duration(Double(w.schedule.minutes * 60)),
                            "jobs": .array(w.jobs.map(JSONValue.string)),
                            "silence_alarms": .array(w.silenceAlarms.map(JSONValue.string)),
                            "trigger": .string(w.trigger.rawValue),
                        ]
                    }),
                "fleet": mt.fleet.map { f in
                    [
                        "table": .string(f.table), "lease": duration(f.leaseSeconds),
                        "heartbeat": duration(f.heartbeatSeconds), "owner": optional(f.owner),
                    ]
                } ?? .null,
            ]
        }
        return .object(o)
    }

    static func backups(_ b: BackupSettings) -> JSONValue {
        func policy(_ p: RetentionPolicy) -> JSONValue {
            [
                "keep_last": p.keepLast.map { .number(Double($0)) } ?? .null,
                "daily": p.daily.map { .number(Double($0)) } ?? .null,
                "weekly": p.weekly.map { .number(Double($0)) } ?? .null,
                "monthly": p.monthly.map { .number(Double($0)) } ?? .null,
            ]
        }
        return [
            "location": .string(b.location), "verify_after_backup": .bool(b.verifyAfterBackup),
            "prune_after_backup": .bool(b.pruneAfterBackup),
            "retention": .object(
                Dictionary(uniqueKeysWithValues: BackupKind.allCases.map { ($0.rawValue, policy(b.policy(for: $0))) })),
            "redis": b.redis.map { r -> JSONValue in
                ["enabled": .bool(true), "rdb_path": optional(r.rdbPath), "timeout": duration(r.timeout)]
            } ?? .null,
            "snapshots": [
                "rds": .bool(b.snapshots.rds), "dynamodb": .bool(b.snapshots.dynamodb),
                "elasticache": .bool(b.snapshots.elasticache), "timeout": duration(b.snapshots.timeout),
                "poll": duration(b.snapshots.poll),
            ],
            "encryption": b.encryption.map { e -> JSONValue in
                switch e {
                case .kms(let k): ["kms_key_id": .string(k), "key_file": .null]
                case .keyFile(let f): ["kms_key_id": .null, "key_file": .string(f)]
                }
            } ?? .null,
            "s3": b.s3.map { s in
                [
                    "bucket": .string(s.bucket), "prefix": .string(s.prefix), "part_size": .number(Double(s.partSize)),
                    "concurrency": .number(Double(s.concurrency)), "keep_local": .bool(s.keepLocal),
                    "encryption": .string(s.encryption == .s3 ? "sse-s3" : "sse-kms"),
                    "kms_key_id": {
                        if case .kms(let k?) = s.encryption { return .string(k) }
                        return .null
                    }(),
                ]
            } ?? .null,
            "postgres": [
                "format": .string(b.postgres.format), "jobs": .number(Double(b.postgres.jobs)),
                "compression": b.postgres.compression.map { .number(Double($0)) } ?? .null,
                "bin_dir": optional(b.postgres.binDirectory), "row_counts": .bool(b.postgres.rowCounts),
                "timeout": duration(b.postgres.timeout), "from": .string(b.postgres.from),
                "max_replica_lag": duration(b.postgres.maxReplicaLag),
            ],
            "dynamodb": [
                "mode": .string(b.dynamodb.mode), "total_segments": .number(Double(b.dynamodb.totalSegments)),
                "consistent_read": .bool(b.dynamodb.consistentRead),
                "page_limit": b.dynamodb.pageLimit.map { .number(Double($0)) } ?? .null,
                "compression": .number(Double(b.dynamodb.compression)),
                "file_size": .number(Double(b.dynamodb.fileBytes)),
                "throttle_retries": .number(Double(b.dynamodb.throttleRetries)),
                "restore_workers": .number(Double(b.dynamodb.restoreWorkers)),
                "export_poll": duration(b.dynamodb.exportPoll), "timeout": duration(b.dynamodb.timeout),
                "incremental": .bool(b.dynamodb.incremental), "full_every": .number(Double(b.dynamodb.fullEvery)),
            ],
        ]
    }
}
