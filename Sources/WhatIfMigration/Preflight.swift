import WhatIfAWS
import WhatIfCore
import WhatIfPostgres
import WhatIfProtocol
import WhatIfRedis
import WhatIfUnits

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The migration guide's pre-migration checklist, each item checked for real: recent verified backups,
/// the target table's schema, AWS credentials, connectivity and TLS to each service, ElastiCache's
/// encryption settings, free space for backups. The agent hands over what it knows (`Inputs`); every
/// check runs here. Blocking: call it off the cooperative pool.
package enum Preflight {
    package struct Inputs {
        package var environment: String
        /// The scenarios table of that environment.
        package var table: String
        package var configPath: String
        package var now: Date
        /// The newest verified backup of each kind may be this old.
        package var maxBackupAge: Double
        /// The kinds of backup the configuration takes, and the catalog as it is.
        package var backupKinds: [BackupKind]
        package var backups: [BackupEntry]
        package var backupLocation: String
        /// Nil when DynamoDB is not configured.
        package var dynamodb: DynamoDB?
        package var credentials: () throws -> AWSCredentials
        package var postgres: PostgresConfig?
        package var postgresTarget: PostgresConfig?
        /// A connection to the configured Redis, and its URL without the password.
        package var redis: (connect: () throws -> RedisConnection, url: String)?
        package var elasticache: (client: ElastiCache, replicationGroupId: String)?
        /// The RDS instance whose automated backups (point-in-time recovery) are checked.
        package var rds: (client: RDS, instanceId: String)?

        package init(
            environment: String, table: String, configPath: String, now: Date = Date(), maxBackupAge: Double,
            backupKinds: [BackupKind], backups: [BackupEntry], backupLocation: String, dynamodb: DynamoDB?,
            credentials: @escaping () throws -> AWSCredentials, postgres: PostgresConfig?,
            postgresTarget: PostgresConfig?, redis: (connect: () throws -> RedisConnection, url: String)?,
            elasticache: (client: ElastiCache, replicationGroupId: String)?,
            rds: (client: RDS, instanceId: String)? = nil
        ) {
            self.environment = environment
            self.table = table
            self.configPath = configPath
            self.now = now
            self.maxBackupAge = maxBackupAge
            self.backupKinds = backupKinds
            self.backups = backups
            self.backupLocation = backupLocation
            self.dynamodb = dynamodb
            self.credentials = credentials
            self.postgres = postgres
            self.postgresTarget = postgresTarget
            self.redis = redis
            self.elasticache = elasticache
            self.rds = rds
        }
    }

    /// The report as the job's outcome: each failed check logged, and the job failed when one did.
    package static func outcome(_ report: PreflightReport, reporter: any JobReporter) throws -> PreflightReport {
        for i in report.items where i.result == "FAIL" { reporter.log(.warning, "\(i.check): \(i.detail)") }
        guard report.ok else {
            let failed = report.items.filter { $0.result == "FAIL" }.map(\.check)
            throw JobFailed("preflight failed: \(failed.joined(separator: ", "))", result: report)
        }
        return report
    }

    package static func run(_ i: Inputs) -> PreflightReport {
        let table = i.table
        let env = i.environment
        let remote = env != "development"
        var items: [PreflightItem] = []
        func add(_ check: String, _ ok: Bool, _ detail: String, _ hint: String? = nil) {
            items.append(
                PreflightItem(check: check, result: ok ? "PASS" : "FAIL", detail: detail, hint: ok ? nil : hint))
        }
        func skip(_ check: String, _ detail: String) {
            items.append(PreflightItem(check: check, result: "SKIP", detail: detail))
        }
        func attempt(_ check: String, _ hint: String, _ body: () throws -> (Bool, String)) {
            do {
                let (ok, detail) = try body()
                add(check, ok, detail, hint)
            } catch {
                let e = error as? any OperatorError
                add(check, false, e?.message ?? "\(error)", e?.hint ?? hint)
            }
        }

        // Backups: the newest verified backup of each configured kind, recent enough.
        let maxAge = i.maxBackupAge
        var newestBytes: Int64 = 0
        for kind in i.backupKinds {
            let all = i.backups.filter { $0.manifest.kind == kind }
            // Snapshots AWS keeps take no local space.
            if !kind.isHeldByAWS { newestBytes += all.first?.manifest.totalBytes ?? 0 }
            let good = all.first { e in e.verifications.contains { $0.ok } }
            let check = "backup \(kind.rawValue)"
            guard let good else {
                add(
                    check, false,
                    all.isEmpty
                        ? "no \(kind.rawValue) backup"
                        : "no verified \(kind.rawValue) backup (\(all.count) unverified)",
                    "take one: whatifctl backup \(kind.rawValue) (it is verified as it is written)")
                continue
            }
            let age = i.now.timeIntervalSince(good.manifest.startedAt)
            add(
                check, age <= maxAge,
                "newest verified: \(good.manifest.id), \(DurationText.format(age)) old (limit \(DurationText.format(maxAge)))",
                "take a fresh one: whatifctl backup \(kind.rawValue)")
        }
        if i.backupKinds.isEmpty {
            skip("backups", "neither PostgreSQL nor DynamoDB is configured")
        }

        // Free space where backups go: twice the newest backups, and at least 1 GiB.
        let location = i.backupLocation
        if let free = LocalFiles.freeBytes(location).map(Double.init) {
            let need = max(Double(1 << 30), 2 * Double(newestBytes))
            add(
                "backup space", free >= need,
                "\(Units.bytes(Int64(free))) free in \(location), \(Units.bytes(Int64(need))) wanted",
                "free space in \(location) or point backups.location elsewhere")
        } else {
            add("backup space", false, "cannot read the free space of \(location)", "create \(location)")
        }

        // AWS credentials and DynamoDB.
        if let ddb = i.dynamodb {
            attempt("aws credentials", "check aws: in the config, the environment or the instance role") {
                let c = try i.credentials()
                return (true, "from \(c.source)")
            }
            attempt("dynamodb", "check dynamodb.endpoint / aws.endpoint and the network") {
                let names = try ddb.listTables()
                return (true, "reachable, \(Units.count(names.count, "table"))")
            }
            // The fix depends on what is wrong: a missing table is created, missing indexes are added in
            // place, anything else needs the table recreated (or migrated by hand).
            do {
                let t = try ddb.describeTable(table)
                let diffs = ScenarioTable.differences(t, expected: ScenarioTable.expected(table: table))
                let onlyIndexes = diffs.allSatisfy { $0.hasPrefix("index ") && $0.hasSuffix(" is missing") }
                add(
                    "table schema", diffs.isEmpty,
                    diffs.isEmpty
                        ? "\(table) matches the expected schema" : "\(table): \(diffs.joined(separator: "; "))",
                    onlyIndexes
                        ? "add the missing indexes in place (the items stay): whatifctl tables setup \(env) --add-missing"
                        : "recreate it (a backup is taken first; items written since are lost): whatifctl tables setup \(env) --force --yes, or migrate it by hand"
                )
            } catch let e as AWSError where e.code == "ResourceNotFoundException" {
                add("table schema", false, "\(table) does not exist", "create it: whatifctl tables setup \(env)")
            } catch {
                let e = error as? any OperatorError
                add("table schema", false, e?.message ?? "\(error)", e?.hint ?? "check DynamoDB access")
            }
            // Point-in-time recovery: what restore dynamodb --to-time and native exports need.
            let fix =
                "aws dynamodb update-continuous-backups --table-name \(table) --point-in-time-recovery-specification PointInTimeRecoveryEnabled=true"
            if let p = try? ddb.pointInTimeRecovery(table: table) {
                if p.enabled || remote {
                    add(
                        "dynamodb pitr", p.enabled,
                        p.enabled
                            ? "on for \(table), restorable from \(p.earliest.map { Timestamp.format($0) } ?? "?")"
                            : "off for \(table): it cannot be restored to a time, and native exports need it", fix)
                } else {
                    skip("dynamodb pitr", "off for \(table) (required in test and production: \(fix))")
                }
            }
        } else {
            skip("dynamodb", "not configured")
        }

        // PostgreSQL: the source and the migration target, with TLS as it is in use.
        func postgres(_ check: String, _ connection: PostgresConfig) {
            attempt(check, "check the connection settings, the password and sslrootcert") {
                let c = try PostgresConnection.connect(connection, deadline: .after(seconds: 10))
                defer { c.close() }
                let r = try c.query(
                    "SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()", deadline: .after(seconds: 10))
                let tls = r.rows.first?[0] == "t"
                let version = r.rows.first?[1] ?? nil
                let detail =
                    "\(connection.endpoint) as \(connection.user), PostgreSQL \(c.serverVersion), "
                    + (tls ? "TLS \(version ?? "") (sslmode \(connection.sslMode.rawValue))" : "no TLS")
                return (tls || !remote, detail + (tls || !remote ? "" : ": TLS is required in \(env)"))
            }
        }
        if let p = i.postgres { postgres("postgres", p) } else { skip("postgres", "not configured") }
        if let t = i.postgresTarget { postgres("postgres target", t) }

        // Redis.
        if let r = i.redis {
            attempt("redis", "check redis.url, its password and the CA file") {
                let conn = try r.connect()
                defer { conn.close() }
                let pong = try conn.command("PING")
                let tls: Bool
                if case .tls = conn.config.endpoint.transport { tls = true } else { tls = false }
                return (
                    pong.string == "PONG" && (tls || !remote),
                    "\(r.url.split(separator: "@").last.map(String.init) ?? "?"): \(tls ? "TLS" : "no TLS")"
                        + (tls || !remote ? "" : ": TLS is required in \(env) (rediss://)")
                )
            }
        } else {
            skip("redis", "not configured")
        }

        // RDS automated backups: point-in-time recovery of the instance, at least a week of it.
        if let r = i.rds {
            let fix =
                "aws rds modify-db-instance --db-instance-identifier \(r.instanceId) --backup-retention-period 7 --apply-immediately"
            attempt("rds backups", fix) {
                guard let db = try r.client.instance(r.instanceId) else {
                    return (false, "RDS has no instance \(r.instanceId) in this region")
                }
                let days = db.backupRetentionPeriod ?? 0
                return (
                    days >= 7,
                    "\(r.instanceId) keeps \(Units.count(Int64(days), "day")) of automated backups"
                        + (days >= 7 ? "" : " (at least 7 wanted for point-in-time recovery)")
                )
            }
        } else if remote {
            skip("rds backups", "rds.instance_id is not set, so automated backups cannot be checked")
        }

        // ElastiCache encryption at rest and in transit.
        if let e = i.elasticache {
            attempt(
                "elasticache encryption", "enable encryption at rest and in transit (it needs a new replication group)"
            ) {
                guard let g = try e.client.describeReplicationGroups(id: e.replicationGroupId).first else {
                    return (false, "replication group \(e.replicationGroupId) not found")
                }
                return (
                    g.atRestEncryption && g.transitEncryption,
                    "\(g.id): at rest \(g.atRestEncryption ? "on" : "OFF"), in transit \(g.transitEncryption ? "on" : "OFF")"
                )
            }
        } else if remote {
            add(
                "elasticache encryption", false, "elasticache.replication_group_id is not set, so it cannot be checked",
                "set elasticache.replication_group_id in \(i.configPath)")
        } else {
            skip("elasticache encryption", "development has no ElastiCache")
        }
        return PreflightReport(environment: env, items: items)
    }
}
