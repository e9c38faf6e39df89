import Logging
import WhatIfAWS
import WhatIfBackup
import WhatIfCore
import WhatIfPostgres
import WhatIfProtocol
import WhatIfRedis

#if canImport(Glibc)
    import Glibc
#endif

/// Reads `agent.yaml`: every problem is collected and reported as `file:line: what; fix`.
public enum ConfigLoader {
    package static let defaultPath = "/etc/whatif/agent.yaml"

    static let topKeys = [
        "environment", "region", "state_dir", "socket", "log", "status", "audit", "postgres", "redis", "dynamodb",
        "aws", "rds",
        "elasticache", "backups", "metrics", "alarms", "hooks", "expiry", "migration", "maintenance",
    ]
    static let socketKeys = [
        "path", "mode", "group", "reader_group", "admin_group", "max_connections", "max_header_bytes", "max_body_bytes",
        "request_timeout", "idle_timeout",
    ]
    static let postgresKeys = [
        "enabled", "host", "port", "database", "user", "password_file", "sslmode", "sslrootcert", "connect_timeout",
        "replicas", "pgbouncer",
    ]
    static let redisKeys = ["enabled", "url", "username", "password_file", "ca_file", "server_name", "timeout"]
    static let dynamoKeys = ["enabled", "table", "endpoint"]
    static let backupKeys = [
        "location", "s3", "retention", "postgres", "dynamodb", "verify_after_backup", "prune_after_backup",
        "encryption", "redis", "snapshots",
    ]
    static let retentionKeys = ["keep_last", "daily", "weekly", "monthly"]
    static let snapshotKeys = ["rds", "dynamodb", "elasticache", "timeout", "poll"]
    static let awsKeys = [
        "profile", "credentials_file", "config_file", "endpoint", "imds_endpoint", "max_attempts", "timeout",
    ]

    /// Loads and validates the file at `path`. `environment` is the process environment (for the guide's
    /// RDS_POSTGRES_* overrides, AWS_REGION, and systemd's STATE_DIRECTORY/RUNTIME_DIRECTORY).
    public static func load(path: String, environment: [String: String]) -> Result<AgentConfig, ConfigError> {
        let sink = ProblemSink(file: path)
        let bytes: [UInt8]
        do {
            bytes = try Files.read(path, limit: 4 << 20)
        } catch {
            sink.add(
                line: nil, "cannot read the config file: \(error.message)",
                Files.exists(path)
                    ? "make it readable by the agent's user (root:whatif 0640)"
                    : "create it (see whatif-agent.yaml(5)) or pass --config PATH")
            return .failure(ConfigError(problems: sink.problems))
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            sink.add(line: nil, "the config file is not UTF-8 text", "save it as UTF-8")
            return .failure(ConfigError(problems: sink.problems))
        }
        return parse(text: text, path: path, environment: environment, sink: sink)
    }

    public static func parse(text: String, path: String, environment env: [String: String]) -> Result<
        AgentConfig, ConfigError
    > {
        parse(text: text, path: path, environment: env, sink: ProblemSink(file: path))
    }

    static func parse(text: String, path: String, environment env: [String: String], sink: ProblemSink) -> Result<
        AgentConfig, ConfigError
    > {
        let root: YAMLNode?
        do {
            root = try YAMLReader.parse(text)
        } catch {
            sink.add(line: error.line, "YAML syntax error: \(error.message)", "fix the YAML there")
            return .failure(ConfigError(problems: sink.problems))
        }
        guard let top = YAMLSection(root, path: "", line: 1, known: topKeys, sink: sink) else {
            return .failure(ConfigError(problems: sink.problems))
        }

        // environment
        var environment = DeploymentEnvironment.development
        if let e = top.choice("environment", DeploymentEnvironment.allCases.map(\.rawValue)) {
            environment = DeploymentEnvironment(rawValue: e)!
        } else if !top.has("environment") {
            sink.add(line: 1, "environment is not set", "add `environment: development`, `test` or `production`")
        }
        let remote = environment != .development
        // Relative paths in the file are relative to the file's own directory.
        let base = Files.directory(of: absolute(path, base: currentDirectory()))

        // aws (read first: region may come from its profile)
        let awsSection = top.section("aws", known: awsKeys)
        let aws = AWSAgentSettings(
            profile: awsSection?.string("profile"),
            credentialsFile: awsSection?.string("credentials_file").map { absolute($0, base: base) },
            configFile: awsSection?.string("config_file").map { absolute($0, base: base) },
            endpoint: awsSection?.string("endpoint").flatMap { url(awsSection!, "endpoint", $0) },
            imdsEndpoint: awsSection?.string("imds_endpoint").flatMap { url(awsSection!, "imds_endpoint", $0) },
            maxAttempts: awsSection?.int("max_attempts", in: 1...20) ?? 5,
            timeout: awsSection?.duration("timeout", max: 600) ?? 15)
        if let s = awsSection {
            for key in ["credentials_file", "config_file"] {
                if let p = s.string(key) { checkReadable(absolute(p, base: base), s, key) }
            }
        }

        // region
        var region = top.string("region")
        for name in ["AWS_REGION", "AWS_DEFAULT_REGION"] where region == nil {
            region = sink.environment(env[name].flatMap { $0.isEmpty ? nil : $0 }, key: "region", name: name)
        }
        if region == nil {
            let chain = AWSCredentialChain.Settings(
                environment: env, explicitProfile: aws.profile, credentialsFile: aws.credentialsFile,
                configFile: aws.configFile)
            region =
                (try? SharedProfiles.load(
                    configFile: chain.resolvedConfigFile, credentialsFile: chain.resolvedCredentialsFile))?
                .region(chain.profileName)
        }
        if let r = region, !isRegion(r) {
            sink.add(
                line: top.line("region"), "region '\(r)' is not an AWS region name", "use a name such as us-east-1")
        }

        // state_dir
        let stateDir =
            top.string("state_dir").map { absolute($0, base: base) }
            ?? sink.environment(
                env["STATE_DIRECTORY"]?.split(separator: ":").first.map(String.init), key: "state_dir",
                name: "STATE_DIRECTORY") ?? "/var/lib/whatif"

        // socket
        let socket = readSocket(top.section("socket", known: socketKeys), env: env, base: base, sink: sink)

        // log
        var logLevel = Logger.Level.info
        if let log = top.section("log", known: ["level"]),
            let l = log.choice("level", ["trace", "debug", "info", "notice", "warning", "error", "critical"])
        {
            logLevel = Logger.Level(rawValue: l)!
        }

        // audit
        let auditRotate =
            top.section("audit", known: ["rotate_size"])?.byteSize("rotate_size", in: 4096...(1 << 30)) ?? 16 << 20
        // status
        let statusSection = top.section("status", known: ["timeout", "max_age"])
        let status = StatusSettings(
            timeout: statusSection?.duration("timeout", max: 60) ?? 3,
            maxAge: statusSection?.duration("max_age", max: 3600) ?? 1)

        let postgres = readPostgres(
            top.section("postgres", known: postgresKeys), environment: environment, env: env, base: base, sink: sink)
        let redis = readRedis(top.section("redis", known: redisKeys), environment: environment, base: base, sink: sink)

        // dynamodb
        var dynamodb: DynamoDBSettings?
        if let d = top.section("dynamodb", known: dynamoKeys), d.bool("enabled") != false {
            let table = d.string("table") ?? environment.scenariosTable
            if !DynamoDB.isValidName(table) {
                sink.add(
                    line: d.line("table"), "dynamodb.table '\(table)' is not a valid DynamoDB table name",
                    "use \(DynamoDB.nameRule)")
            }
            var endpoint = d.string("endpoint").flatMap { url(d, "endpoint", $0) }
            if endpoint == nil, !remote, aws.endpoint == nil { endpoint = "http://localhost:8000" }
            dynamodb = DynamoDBSettings(table: table, endpoint: endpoint)
        }

        // rds / elasticache (describe calls): named, or in test and production read off the endpoints.
        var rds: RDSSettings?
        if let s = top.section("rds", known: ["instance_id"]), let id = s.string("instance_id") {
            rds = RDSSettings(instanceId: id)
        } else if remote, let host = postgres?.connection.host, let id = rdsInstanceID(fromHost: host) {
            rds = RDSSettings(instanceId: id)
        }
        var elasticache: ElastiCacheSettings?
        if let s = top.section("elasticache", known: ["replication_group_id"]),
            let id = s.string("replication_group_id")
        {
            elasticache = ElastiCacheSettings(replicationGroupId: id)
        } else if remote, let r = redis, let id = replicationGroupID(fromEndpoint: r.config.endpoint) {
            elasticache = ElastiCacheSettings(replicationGroupId: id)
        }

        let backups = readBackups(
            top.section("backups", known: backupKeys), stateDir: stateDir, base: base, remote: remote,
            services: [
                "rds": rds != nil, "dynamodb": dynamodb != nil, "elasticache": elasticache != nil,
                "postgres-replicas": postgres?.replicas.isEmpty == false,
            ], sink: sink)

        let monitoring = readMonitoring(
            metrics: top.section("metrics", known: metricsKeys), alarms: top.sequence("alarms"),
            alarmsLine: top.line("alarms"), hooks: top.section("hooks", known: hookKeys), environment: environment,
            rds: rds, elasticache: elasticache, base: base, sink: sink)

        let expiry = top.has("expiry") ? readExpiry(top.section("expiry", known: expiryKeys), sink: sink) : nil

        let maintenance =
            top.has("maintenance")
            ? readMaintenance(
                top.section("maintenance", known: maintenanceKeys),
                alarms: Set(monitoring.alarms.map(\.name)), sink: sink) : nil

        // migration.postgres_target: the RDS instance `whatifctl migrate postgres` copies into.
        var postgresTarget: PostgresSettings?
        if top.has("migration") {
            if let m = top.section("migration", known: ["postgres_target"]), m.has("postgres_target") {
                postgresTarget = readPostgres(
                    m.section("postgres_target", known: postgresKeys.filter { $0 != "replicas" && $0 != "pgbouncer" }),
                    environment: environment, env: env, base: base,
                    sink: sink, name: "migration.postgres_target", target: true)
            }
        }

        guard sink.problems.isEmpty else { return .failure(ConfigError(problems: sink.problems)) }
        var fileKeys = Set<String>()
        var listKeys = Set<String>()
        func collect(_ node: YAMLNode?, _ prefix: String) {
            guard case .mapping(let entries, _)? = node else { return }
            for e in entries {
                let path = prefix.isEmpty ? e.key : "\(prefix).\(e.key)"
                fileKeys.insert(path)
                if case .sequence = e.value { listKeys.insert(path) }
                collect(e.value, path)
            }
        }
        collect(root, "")
        var config = AgentConfig(
            path: absolute(path, base: currentDirectory()), environment: environment, region: region ?? "us-east-1",
            stateDirectory: stateDir, socket: socket,
            logLevel: logLevel, status: status, postgres: postgres, redis: redis, dynamodb: dynamodb, aws: aws,
            rds: rds,
            elasticache: elasticache, backups: backups, monitoring: monitoring, expiry: expiry,
            postgresTarget: postgresTarget, maintenance: maintenance, fileKeys: fileKeys, listKeys: listKeys,
            fromEnvironment: sink.fromEnvironment)
        config.auditRotateBytes = Int64(auditRotate)
        return .success(config)
    }

    /// `services`: which of rds, dynamodb and elasticache are configured (snapshots need them).
    static func readBackups(
        _ s: YAMLSection?, stateDir: String, base: String, remote: Bool, services: [String: Bool] = [:],
        sink: ProblemSink
    ) -> BackupSettings {
        var b = BackupSettings(
            location: s?.string("location").map { absolute($0, base: base) } ?? "\(stateDir)/backups")
        b.verifyAfterBackup = s?.bool("verify_after_backup") ?? true
        b.pruneAfterBackup = s?.bool("prune_after_backup") ?? true
        if let r = s?.section("retention", known: retentionKeys + BackupKind.allCases.map(\.rawValue)) {
            func policy(_ sec: YAMLSection, fallback: RetentionPolicy) -> RetentionPolicy {
                RetentionPolicy(
                    keepLast: sec.int("keep_last", in: 0...100_000) ?? fallback.keepLast,
                    daily: sec.int("daily", in: 0...100_000) ?? fallback.daily,
                    weekly: sec.int("weekly", in: 0...100_000) ?? fallback.weekly,
                    monthly: sec.int("monthly", in: 0...100_000) ?? fallback.monthly)
            }
            let anyTop = retentionKeys.contains { r.has($0) }
            let common = anyTop ? policy(r, fallback: RetentionPolicy()) : BackupSettings.defaultRetention
            for kind in BackupKind.allCases {
                if let k = r.section(kind.rawValue, known: retentionKeys) {
                    b.retention[kind] = policy(k, fallback: anyTop ? common : RetentionPolicy())
                } else {
                    b.retention[kind] = common
                }
            }
        }
        if let s3 = s?.section(
            "s3", known: ["bucket", "prefix", "part_size", "concurrency", "keep_local", "encryption", "kms_key_id"])
        {
            if let bucket = s3.string("bucket") {
                let valid =
                    (3...63).contains(bucket.count)
                    && bucket.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "-" || $0 == ".") }
                if !valid {
                    sink.add(
                        line: s3.line("bucket"), "backups.s3.bucket '\(bucket)' is not an S3 bucket name",
                        "use 3-63 characters from a-z 0-9 . -")
                }
                let keyId = s3.string("kms_key_id")
                var encryption = S3Encryption.s3
                switch s3.choice("encryption", ["sse-s3", "sse-kms"]) ?? (keyId == nil ? "sse-s3" : "sse-kms") {
                case "sse-kms": encryption = .kms(keyId: keyId)
                default:
                    if keyId != nil, s3.has("encryption") {
                        sink.add(
                            line: s3.line("kms_key_id"), "backups.s3.kms_key_id is set but encryption is sse-s3",
                            "set backups.s3.encryption: sse-kms, or remove kms_key_id")
                    }
                }
                b.s3 = S3Destination(
                    bucket: bucket, prefix: s3.string("prefix") ?? "whatif-backups",
                    partSize: s3.byteSize("part_size", in: (5 << 20)...(5 << 30)) ?? 16 << 20,
                    concurrency: s3.int("concurrency", in: 1...64) ?? 4, keepLocal: s3.bool("keep_local") ?? true,
                    encryption: encryption)
            } else if s3.line != nil, s?.has("s3") == true {
                sink.add(line: s3.line, "backups.s3 has no bucket", "set backups.s3.bucket, or remove backups.s3")
            }
        }
        if let r = s?.section("redis", known: ["enabled", "rdb_path", "timeout"]), s?.has("redis") == true,
            r.bool("enabled") ?? true
        {
            b.redis = RedisBackupSettings(
                rdbPath: r.string("rdb_path").map { absolute($0, base: base) },
                timeout: r.duration("timeout", max: 86400) ?? 3600)
        }
        if let n = s?.section("snapshots", known: snapshotKeys) {
            b.snapshots.rds = n.bool("rds") ?? false
            b.snapshots.dynamodb = n.bool("dynamodb") ?? false
            b.snapshots.elasticache = n.bool("elasticache") ?? false
            b.snapshots.timeout = n.duration("timeout", max: 86400) ?? b.snapshots.timeout
            b.snapshots.poll = n.duration("poll", max: 600) ?? b.snapshots.poll
            let fixes = [
                "rds": "set rds.instance_id", "dynamodb": "configure dynamodb:",
                "elasticache": "set elasticache.replication_group_id",
            ]
            let on = ["rds": b.snapshots.rds, "dynamodb": b.snapshots.dynamodb, "elasticache": b.snapshots.elasticache]
            for key in ["rds", "dynamodb", "elasticache"] where on[key] == true && services[key] != true {
                sink.add(
                    line: n.line(key), "backups.snapshots.\(key) is on but \(key) is not configured",
                    "\(fixes[key] ?? ""), or set backups.snapshots.\(key): false")
            }
        }
        if let e = s?.section("encryption", known: ["kms_key_id", "key_file"]) {
            switch (e.string("kms_key_id"), e.string("key_file").map { absolute($0, base: base) }) {
            case (let k?, nil): b.encryption = .kms(keyId: k)
            case (nil, let f?): b.encryption = .keyFile(path: f)
            case (.some, .some):
                sink.add(
                    line: e.line("key_file"), "backups.encryption has both kms_key_id and key_file",
                    "keep one: kms_key_id in AWS, key_file for development")
            case (nil, nil):
                if s?.has("encryption") == true {
                    sink.add(
                        line: e.line, "backups.encryption names no key",
                        "set backups.encryption.kms_key_id (a KMS key) or key_file (a 32-byte key, mode 0600)")
                }
            }
        }
        if let p = s?.section(
            "postgres",
            known: ["format", "jobs", "compression", "bin_dir", "row_counts", "timeout", "from", "max_replica_lag"])
        {
            b.postgres.from = p.choice("from", ["primary", "replica"]) ?? "primary"
            b.postgres.maxReplicaLag = p.duration("max_replica_lag", max: 7 * 86400) ?? b.postgres.maxReplicaLag
            if b.postgres.from == "replica", services["postgres-replicas"] != true {
                sink.add(
                    line: p.line("from"), "backups.postgres.from is replica but postgres.replicas lists none",
                    "list the replicas under postgres.replicas, or set from: primary")
            }
            b.postgres.format = p.choice("format", ["custom", "directory"]) ?? "custom"
            b.postgres.jobs = p.int("jobs", in: 1...64) ?? 1
            if b.postgres.jobs > 1 && b.postgres.format == "custom" {
                sink.add(
                    line: p.line("jobs"),
                    "backups.postgres.jobs needs format: directory (pg_dump -j writes a directory)",
                    "set backups.postgres.format: directory, or remove jobs")
            }
            b.postgres.compression = p.int("compression", in: 0...9)
            b.postgres.binDirectory = p.string("bin_dir").map { absolute($0, base: base) }
            if let d = b.postgres.binDirectory, !Files.isDirectory(d) {
                sink.add(
                    line: p.line("bin_dir"), "backups.postgres.bin_dir \(d) is not a directory",
                    "point it at the folder holding pg_dump")
            }
            b.postgres.rowCounts = p.bool("row_counts") ?? true
            b.postgres.timeout = p.duration("timeout", max: 7 * 86400) ?? b.postgres.timeout
        }
        if let d = s?.section(
            "dynamodb",
            known: [
                "mode", "total_segments", "consistent_read", "page_limit", "compression", "file_size",
                "throttle_retries",
                "restore_workers", "export_poll", "timeout", "incremental", "full_every",
            ])
        {
            b.dynamodb.mode = d.choice("mode", ["auto", "scan", "export"]) ?? "auto"
            b.dynamodb.totalSegments = d.int("total_segments", in: 1...1_000_000) ?? b.dynamodb.totalSegments
            b.dynamodb.consistentRead = d.bool("consistent_read") ?? false
            b.dynamodb.pageLimit = d.int("page_limit", in: 1...100_000)
            b.dynamodb.compression = Int32(d.int("compression", in: 1...9) ?? 6)
            b.dynamodb.fileBytes = d.byteSize("file_size", in: (1 << 20)...(16 << 30)) ?? b.dynamodb.fileBytes
            b.dynamodb.throttleRetries = d.int("throttle_retries", in: 0...100) ?? b.dynamodb.throttleRetries
            b.dynamodb.restoreWorkers = d.int("restore_workers", in: 1...64) ?? b.dynamodb.restoreWorkers
            b.dynamodb.exportPoll = d.duration("export_poll", max: 600) ?? b.dynamodb.exportPoll
            b.dynamodb.timeout = d.duration("timeout", max: 7 * 86400) ?? b.dynamodb.timeout
            b.dynamodb.incremental = d.bool("incremental") ?? false
            b.dynamodb.fullEvery = d.int("full_every", in: 1...1000) ?? b.dynamodb.fullEvery
            if b.dynamodb.incremental && b.dynamodb.mode == "scan" {
                sink.add(
                    line: d.line("incremental"),
                    "backups.dynamodb.incremental needs native exports, but mode is scan",
                    "set backups.dynamodb.mode: export (or auto), or remove incremental")
            }
            if b.dynamodb.mode == "export" && b.s3 == nil {
                sink.add(
                    line: d.line("mode"), "backups.dynamodb.mode export needs backups.s3 (AWS exports go to S3)",
                    "set backups.s3.bucket, or use mode: scan")
            }
        }
        return b
    }

    // MARK: Sections

    static func readSocket(_ s: YAMLSection?, env: [String: String], base: String, sink: ProblemSink) -> SocketSettings
    {
        let runtime = env["RUNTIME_DIRECTORY"]?.split(separator: ":").first.map(String.init)
        let path =
            s?.string("path").map { absolute($0, base: base) }
            ?? sink.environment(runtime.map { "\($0)/agent.sock" }, key: "socket.path", name: "RUNTIME_DIRECTORY")
            ?? "/run/whatif/agent.sock"
        if path.utf8.count > 107 {
            sink.add(
                line: s?.line("path"), "socket.path is longer than 107 bytes, the limit for Unix socket paths",
                "use a shorter path")
        }
        // Explicitly configured groups must exist; the defaults may be absent on a development machine.
        func group(_ key: String, default d: String) -> (String?, UInt32?) {
            if let name = s?.string(key) {
                if let gid = groupID(name) { return (name, gid) }
                sink.add(
                    line: s?.line(key), "group '\(name)' (socket.\(key)) does not exist",
                    "create it with `groupadd \(name)` or fix socket.\(key)")
                return (name, nil)
            }
            return groupID(d).map { (d, $0) } ?? (nil, nil)
        }
        let (readerGroup, readerGID) = group("reader_group", default: "whatif")
        let (adminGroup, adminGID) = group("admin_group", default: "whatif-admin")
        var socketGroup = s?.string("group")
        if let g = socketGroup, groupID(g) == nil {
            sink.add(
                line: s?.line("group"), "group '\(g)' (socket.group) does not exist",
                "create it with `groupadd \(g)` or fix socket.group")
            socketGroup = nil
        }
        return SocketSettings(
            path: path, mode: s?.octalMode("mode") ?? 0o666, group: socketGroup ?? readerGroup,
            readerGroup: readerGroup,
            adminGroup: adminGroup, readerGID: readerGID, adminGID: adminGID,
            maxConnections: s?.int("max_connections", in: 1...65536) ?? 512,
            maxHeaderBytes: s?.int("max_header_bytes", in: 1024...1_048_576) ?? 16 * 1024,
            maxBodyBytes: s?.int("max_body_bytes", in: 1024...(64 << 20)) ?? 1 << 20,
            requestTimeout: s?.duration("request_timeout", max: 600) ?? 10,
            idleTimeout: s?.duration("idle_timeout", max: 86400) ?? 60)
    }

    static func readPostgres(
        _ s: YAMLSection?, environment: DeploymentEnvironment, env: [String: String], base: String, sink: ProblemSink,
        name: String = "postgres", target: Bool = false
    )
        -> PostgresSettings?
    {
        if s?.bool("enabled") == false { return nil }
        // A migration target is RDS: its host and password are required and its certificate is checked
        // by default, whatever the agent's own environment.
        let remote = environment != .development || target
        // The migration guide's variables override the file, for `postgres:` only: the migration target
        // is another instance, and taking them for it too would make the source its own target.
        func envValue(_ name: String, _ key: String) -> String? {
            target
                ? nil
                : sink.environment(env[name].flatMap { $0.isEmpty ? nil : $0 }, key: "postgres.\(key)", name: name)
        }
        var host = envValue("RDS_POSTGRES_HOST", "host") ?? s?.string("host")
        var port = s?.int("port", in: 1...65535)
        if let p = envValue("RDS_POSTGRES_PORT", "port") {
            if let v = Int(p), (1...65535).contains(v) {
                port = v
            } else {
                sink.addEnv(
                    "RDS_POSTGRES_PORT", "'\(p)' is not a port number", "set it to a number from 1 to 65535 or unset it"
                )
            }
        }
        let database = envValue("RDS_POSTGRES_DB", "database") ?? s?.string("database") ?? "what_if_users"
        let user = envValue("RDS_POSTGRES_USER", "user") ?? s?.string("user") ?? "postgres"
        if host == nil {
            if remote {
                sink.add(
                    line: s?.line ?? 1,
                    "\(name).host is not set (required\(target ? "" : " in \(environment.rawValue)"): the RDS endpoint)",
                    target
                        ? "set \(name).host to the instance's endpoint (RDS_POSTGRES_* apply to postgres: only)"
                        : "set \(name).host or RDS_POSTGRES_HOST to the instance's endpoint")
            }
            host = "localhost"
        }
        let sslMode: PostgresSSLMode =
            s?.choice("sslmode", PostgresSSLMode.allCases.map(\.rawValue)).flatMap(PostgresSSLMode.init)
            ?? (remote ? .verifyFull : .prefer)
        if environment != .development, !sslMode.verifies {
            sink.add(
                line: s?.line("sslmode"),
                "\(name).sslmode is '\(sslMode.rawValue)' in \(environment.rawValue): the server's certificate would not be checked",
                "use verify-full (the default) with sslrootcert pointing at the RDS CA bundle")
        }
        let rootCert = s?.string("sslrootcert").map { absolute($0, base: base) }
        if let rootCert, let s { checkReadable(rootCert, s, "sslrootcert") }
        if sslMode.verifies, rootCert == nil {
            sink.add(
                line: s?.line ?? 1, "\(name).sslmode \(sslMode.rawValue) needs \(name).sslrootcert",
                "download the RDS global bundle (https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem) and point sslrootcert at it"
            )
        }
        var password: String?
        var source = "none"
        if let p = envValue("RDS_POSTGRES_PASSWORD", "password") {
            password = p
            source = "RDS_POSTGRES_PASSWORD"
        } else if let file = s?.string("password_file").map({ absolute($0, base: base) }) {
            source = "\(name).password_file \(file)"
            switch SecretFile.load(file) {
            case .success(let p): password = p
            case .failure(let problem):
                let d = SecretFile.describe(problem, path: file)
                sink.add(line: s?.line("password_file"), d.message, d.hint)
            }
        } else if remote {
            sink.add(
                line: s?.line ?? 1, "no PostgreSQL password (required in \(environment.rawValue))",
                "set \(name).password_file to a file readable by the agent only (0640 root:whatif)"
                    + (target ? "" : ", or RDS_POSTGRES_PASSWORD")
            )
        }
        let connection = PostgresConfig(
            host: host!, port: port ?? 5432, database: database, user: user, password: password, sslMode: sslMode,
            sslRootCert: rootCert)
        var settings = PostgresSettings(
            connection: connection, passwordSource: source,
            connectTimeout: s?.duration("connect_timeout", max: 120) ?? 5)
        if !target {
            settings.replicas = readReplicas(s, primary: connection, name: name, sink: sink)
            // `postgres.pgbouncer: {host, port, user}`: its admin console (database pgbouncer), reached
            // with the server's password and TLS settings unless said otherwise.
            if let b = s?.section("pgbouncer", known: ["host", "port", "user"]) {
                var c = connection
                c.host = b.string("host") ?? connection.host
                c.port = b.int("port", in: 1...65535) ?? 6432
                c.user = b.string("user") ?? connection.user
                c.database = "pgbouncer"
                settings.pgbouncer = c
            }
        }
        return settings
    }

    /// `postgres.replicas`: `[{name, host, port}]`, the rest as the primary's.
    static func readReplicas(_ s: YAMLSection?, primary: PostgresConfig, name: String, sink: ProblemSink)
        -> [PostgresReplica]
    {
        var out: [PostgresReplica] = []
        for (i, node) in (s?.sequence("replicas") ?? []).enumerated() {
            let path = "\(name).replicas[\(i)]"
            guard let r = YAMLSection(node, path: path, line: node.line, known: ["name", "host", "port"], sink: sink)
            else { continue }
            guard let host = r.string("host") else {
                sink.add(line: r.line, "\(path) has no host", "set host (and port) of the replica")
                continue
            }
            var c = primary
            c.host = host
            c.port = r.int("port", in: 1...65535) ?? 5432
            let replicaName = r.string("name") ?? "\(host):\(c.port)"
            guard !out.contains(where: { $0.name == replicaName }),
                !(c.host == primary.host && c.port == primary.port)
            else {
                sink.add(
                    line: r.line, "\(path) (\(replicaName)) is the primary or another replica again",
                    "give each replica its own host:port and name")
                continue
            }
            out.append(PostgresReplica(name: replicaName, connection: c))
        }
        return out
    }

    static func readRedis(_ s: YAMLSection?, environment: DeploymentEnvironment, base: String, sink: ProblemSink)
        -> RedisSettings?
    {
        if s?.bool("enabled") == false { return nil }
        let remote = environment != .development
        var url = s?.string("url")
        if url == nil {
            if remote {
                sink.add(
                    line: s?.line ?? 1,
                    "redis.url is not set (required in \(environment.rawValue): the ElastiCache primary endpoint)",
                    "set redis.url to rediss://<primary endpoint>:6379")
            }
            url = "redis://localhost:6379/0"
        }
        var endpoint = RedisEndpoint(transport: .tcp(host: "localhost", port: 6379))
        do {
            endpoint = try RedisEndpoint.parse(url!)
        } catch {
            sink.add(line: s?.line("url"), "redis.url '\(url!)' is not usable: \(error.description)", "fix redis.url")
        }
        if endpoint.password != nil {
            sink.add(
                line: s?.line("url"), "redis.url contains a password",
                "move it to redis.password_file; the config file must hold no secret")
        }
        if remote, case .tcp = endpoint.transport {
            sink.add(
                line: s?.line("url"), "redis.url uses redis:// (no TLS) in \(environment.rawValue)",
                "use rediss:// (ElastiCache in-transit encryption)")
        }
        if let u = s?.string("username") { endpoint.username = u }
        if let file = s?.string("password_file").map({ absolute($0, base: base) }) {
            switch SecretFile.load(file) {
            case .success(let p): endpoint.password = p
            case .failure(let problem):
                let d = SecretFile.describe(problem, path: file)
                sink.add(line: s?.line("password_file"), d.message, d.hint)
            }
        } else if endpoint.username != nil {
            sink.add(
                line: s?.line("username"), "redis.username is set but redis.password_file is not",
                "set redis.password_file (ACL users need a password)")
        }
        let caFile = s?.string("ca_file").map { absolute($0, base: base) }
        if let caFile, let s { checkReadable(caFile, s, "ca_file") }
        return RedisSettings(
            config: RedisConfig(
                endpoint: endpoint, caFile: caFile, serverName: s?.string("server_name"),
                timeout: s?.duration("timeout", max: 120) ?? 2),
            url: url!)
    }

    /// `what-if-db.abc123xyz.us-east-1.rds.amazonaws.com` -> `what-if-db`.
    static func rdsInstanceID(fromHost host: String) -> String? {
        let h = host.lowercased()
        let labels = h.split(separator: ".")
        guard labels.count >= 5, h.hasSuffix(".rds.amazonaws.com") || h.hasSuffix(".rds.amazonaws.com.cn") else {
            return nil
        }
        return String(labels[0])
    }

    /// `master.what-if-cache.abc123.use1.cache.amazonaws.com` and
    /// `what-if-cache.abc123.ng.0001.use1.cache.amazonaws.com` -> `what-if-cache`.
    static func replicationGroupID(fromEndpoint endpoint: RedisEndpoint) -> String? {
        let host: String
        switch endpoint.transport {
        case .tcp(let h, _), .tls(let h, _): host = h.lowercased()
        case .unix: return nil
        }
        guard host.hasSuffix(".cache.amazonaws.com") || host.hasSuffix(".cache.amazonaws.com.cn") else { return nil }
        let labels = host.split(separator: ".")
        guard labels.count >= 5 else { return nil }
        if labels[0] == "master" || labels[0] == "replica" { return String(labels[1]) }
        return String(labels[0])
    }

    // MARK: Checks

    static func checkReadable(_ path: String, _ s: YAMLSection, _ key: String) {
        if access(path, R_OK) != 0 {
            let why = String(cString: strerror(errno))
            s.sink.add(
                line: s.line(key), "\(s.name(key)) \(path) cannot be read: \(why)",
                Files.exists(path) ? "make it readable by the agent's user" : "create the file or fix the path")
        }
    }

    /// `path` made absolute against `base`, with `.` and `..` resolved.
    static func absolute(_ path: String, base: String) -> String {
        let joined = path.hasPrefix("/") ? path : "\(base)/\(path)"
        var parts: [Substring] = []
        for p in joined.split(separator: "/") {
            if p == "." { continue }
            if p == ".." {
                _ = parts.popLast()
                continue
            }
            parts.append(p)
        }
        return "/" + parts.joined(separator: "/")
    }

    static func currentDirectory() -> String {
        var buf = [CChar](repeating: 0, count: 4096)
        guard getcwd(&buf, buf.count) != nil else { return "/" }
        return String(decoding: buf.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func url(_ s: YAMLSection, _ key: String, _ value: String) -> String? {
        let lower = value.lowercased()
        guard lower.hasPrefix("http://") || lower.hasPrefix("https://"), value.count > 8 else {
            s.sink.add(
                line: s.line(key), "\(s.name(key)) must be an http:// or https:// URL, not '\(value)'",
                "for example http://127.0.0.1:8000")
            return nil
        }
        return value
    }

    static func isRegion(_ r: String) -> Bool {
        let parts = r.split(separator: "-")
        return parts.count >= 3 && r.allSatisfy { $0.isLowercase || $0.isNumber || $0 == "-" }
            && parts.last!.allSatisfy(\.isNumber)
    }

    static func groupID(_ name: String) -> UInt32? {
        var grp = group()
        var result: UnsafeMutablePointer<group>?
        var buf = [CChar](repeating: 0, count: 16384)
        guard getgrnam_r(name, &grp, &buf, buf.count, &result) == 0, result != nil else { return nil }
        return grp.gr_gid
    }
}
