import WhatIfAWS
import WhatIfCore
import WhatIfHTTP
import WhatIfPostgres
import WhatIfProtocol
import WhatIfRedis

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The guide's debug commands, one probe per service. Each is blocking and bounded by `timeout`.
enum StatusProbes {
    static func postgres(_ clients: ServiceClients, timeout: Double) -> ServiceStatus {
        guard let p = clients.config.postgres else { fatalError("probe of an unconfigured service") }
        var s = ServiceStatus(service: .postgres, endpoint: p.connection.endpoint, health: .down)
        let deadline = Deadline.after(seconds: timeout)
        do {
            try clients.withProbePostgres(deadline: deadline) { conn in
                let watch = Stopwatch()
                try conn.query("SELECT 1", deadline: deadline)
                s.rttMs = watch.elapsedMilliseconds
                let o = try conn.overview(deadline: deadline)
                s.version = o.serverVersion
                s.postgres = PostgresState(
                    database: p.connection.database, serverVersion: o.serverVersion,
                    databaseSizeBytes: o.databaseSizeBytes,
                    connections: o.connections, maxConnections: o.maxConnections, sslInUse: conn.sslInUse,
                    sslVersion: conn.sslProtocol, inRecovery: o.inRecovery)
                if !o.inRecovery {
                    s.postgres?.standbys = try conn.standbys(deadline: deadline).map {
                        PostgresStandbyState(
                            applicationName: $0.applicationName, clientAddress: $0.clientAddress, state: $0.state,
                            replayLagSeconds: $0.replayLagSeconds)
                    }
                    s.postgres?.replicationSlotBytes = Int64(try conn.replicationSlotBytes(deadline: deadline))
                }
                s.health = .ok
                if o.maxConnections > 0, Double(o.connections) >= 0.9 * Double(o.maxConnections) {
                    s.health = .degraded
                    s.error = "\(o.connections) of \(o.maxConnections) connections in use"
                    s.hint = "close idle connections (pgbouncer helps) or raise max_connections"
                } else if clients.config.environment != .development, !conn.sslInUse {
                    s.health = .degraded
                    s.error = "the connection is not encrypted"
                    s.hint = "use sslmode verify-full"
                }
            }
        } catch let error as PostgresError {
            s.health = error.kind == .timeout ? .timeout : .down
            s.error = error.message + (error.sqlState.map { " (SQLSTATE \($0))" } ?? "")
            s.hint = error.hint
        } catch {
            fill(&s, error)
        }
        if !p.replicas.isEmpty, s.postgres != nil {
            let replicas = p.replicas.map { replica($0, connectTimeout: p.connectTimeout, deadline: deadline) }
            s.postgres?.replicas = replicas
            if s.health == .ok, let bad = replicas.first(where: { $0.error != nil }) {
                s.health = .degraded
                s.error = "replica \(bad.name): \(bad.error ?? "")"
                s.hint = "check the replica (postgres.replicas in the config names it)"
            }
        }
        return s
    }

    /// One configured replica, probed on a connection of its own: reachable, still a standby, its lag.
    static func replica(_ r: PostgresReplica, connectTimeout: Double, deadline: Deadline) -> PostgresReplicaState {
        var state = PostgresReplicaState(name: r.name, endpoint: r.connection.endpoint, reachable: false)
        do {
            let conn = try PostgresConnection.connect(
                r.connection, deadline: .after(seconds: min(connectTimeout, max(0.5, deadline.remaining))))
            defer { conn.close() }
            let st = try conn.standbyState(deadline: deadline)
            state.reachable = true
            state.inRecovery = st.inRecovery
            state.lagSeconds = st.lagSeconds
            state.replayPaused = st.replayPaused
            state.error = st.problem
        } catch let e as PostgresError {
            state.error = e.message
        } catch {
            state.error = "\(error)"
        }
        return state
    }

    static func redis(_ clients: ServiceClients, timeout: Double) -> ServiceStatus {
        guard let r = clients.config.redis else { fatalError("probe of an unconfigured service") }
        var s = ServiceStatus(service: .redis, endpoint: r.config.endpoint.display, health: .down)
        do {
            try clients.withProbeRedis(timeout: timeout) { conn in
                let watch = Stopwatch()
                let pong = try conn.command("PING")
                s.rttMs = watch.elapsedMilliseconds
                if case .error(let e) = pong { throw RedisError(.server, "PING failed: \(e)") }
                let info = try conn.info()
                s.version = info["redis_version"]
                let keys = info.filter { $0.key.hasPrefix("db") }.compactMap { entry -> Int64? in
                    // db0:keys=12,expires=3,avg_ttl=0
                    entry.value.split(separator: ",").first { $0.hasPrefix("keys=") }.flatMap { Int64($0.dropFirst(5)) }
                }.reduce(0, +)
                let state = RedisState(
                    role: info["role"] ?? "unknown", usedMemoryBytes: Int64(info["used_memory"] ?? "") ?? 0,
                    maxMemoryBytes: Int64(info["maxmemory"] ?? "") ?? 0,
                    maxMemoryPolicy: info["maxmemory_policy"] ?? "unknown",
                    tlsInUse: conn.tlsInUse, connectedClients: Int(info["connected_clients"] ?? ""), keys: keys)
                s.redis = state
                s.health = .ok
                if (try? conn.info("cluster"))?["cluster_enabled"] == "1" {
                    let ci = RedisConnection.parseInfo(try conn.command(["CLUSTER", "INFO"]).string ?? "")
                    let t = try? ClusterTopology.discover(conn)
                    let cluster = RedisClusterState(
                        state: ci["cluster_state"] ?? "unknown", slotsOk: Int(ci["cluster_slots_ok"] ?? "") ?? 0,
                        knownNodes: Int(ci["cluster_known_nodes"] ?? "") ?? 0,
                        shards: (t?.shards ?? []).map {
                            RedisClusterShard(
                                slots: $0.slotText, primary: $0.primary?.address, replicas: $0.replicas.map(\.address))
                        })
                    s.redis?.cluster = cluster
                    if cluster.state != "ok" || cluster.slotsOk < ClusterSlot.count {
                        s.health = .degraded
                        s.error = "cluster_state is \(cluster.state), \(cluster.slotsOk) of 16384 slots ok"
                        s.hint = "CLUSTER INFO and CLUSTER SHARDS on the nodes say which slots have no primary"
                        return
                    }
                }
                if state.maxMemoryBytes > 0, Double(state.usedMemoryBytes) >= 0.9 * Double(state.maxMemoryBytes) {
                    s.health = .degraded
                    s.error =
                        "memory is at \(Int(100 * Double(state.usedMemoryBytes) / Double(state.maxMemoryBytes)))% of maxmemory"
                    s.hint = "`whatifctl redis expiry` finds keys without a TTL"
                }
            }
        } catch let e as RedisError {
            s.health = e.kind == .timeout ? .timeout : .down
            s.error = e.message
            s.hint = e.hint
        } catch {
            s.error = "\(error)"
        }
        return s
    }

    /// Where the AWS credentials come from and when they expire (no secret).
    static func credentials(_ clients: ServiceClients) -> AWSCredentialInfo {
        do {
            let c = try clients.credentials.credentials()
            return AWSCredentialInfo(source: c.source, expiresAt: c.expiration)
        } catch let e as any OperatorError {
            return AWSCredentialInfo(error: e.message, hint: e.hint)
        } catch {
            return AWSCredentialInfo(error: "\(error)")
        }
    }

    static func dynamodb(_ clients: ServiceClients, timeout: Double) -> ServiceStatus {
        guard let d = clients.config.dynamodb else { fatalError("probe of an unconfigured service") }
        var s = ServiceStatus(
            service: .dynamodb, endpoint: "\(clients.aws.baseURL(for: .dynamodb)) table \(d.table)", health: .down)
        do {
            let watch = Stopwatch()
            let t = try clients.dynamodb.describeTable(d.table)
            s.rttMs = watch.elapsedMilliseconds
            s.version = "2012-08-10"
            let indexes = (t.globalSecondaryIndexes ?? []).map {
                DynamoDBState.IndexState(
                    name: $0.indexName, status: $0.indexStatus ?? "ACTIVE", itemCount: $0.itemCount)
            }
            s.dynamodb = DynamoDBState(
                table: t.tableName, tableStatus: t.tableStatus, itemCount: t.itemCount ?? 0,
                sizeBytes: t.tableSizeBytes ?? 0,
                billingMode: t.billingModeSummary?.billingMode ?? "PROVISIONED", indexes: indexes)
            s.health = t.tableStatus == "ACTIVE" && indexes.allSatisfy({ $0.status == "ACTIVE" }) ? .ok : .degraded
            if s.health == .degraded {
                s.error =
                    "table \(t.tableStatus.lowercased()), indexes: "
                    + indexes.map { "\($0.name) \($0.status)" }.joined(separator: ", ")
            }
        } catch {
            fill(&s, error)
        }
        return s
    }

    static func rds(_ clients: ServiceClients, timeout: Double) -> ServiceStatus {
        guard let r = clients.config.rds else { fatalError("probe of an unconfigured service") }
        var s = ServiceStatus(
            service: .rds, endpoint: "\(clients.aws.baseURL(for: .rds)) instance \(r.instanceId)", health: .down)
        do {
            let watch = Stopwatch()
            let list = try clients.rds.describeDBInstances(identifier: r.instanceId)
            s.rttMs = watch.elapsedMilliseconds
            guard let i = list.first else {
                s.error = "no RDS instance \(r.instanceId)"
                s.hint = "fix rds.instance_id"
                return s
            }
            s.version = "\(i.engine) \(i.engineVersion)"
            s.rds = RDSState(
                instanceId: i.identifier, status: i.status, engine: i.engine, engineVersion: i.engineVersion,
                instanceClass: i.instanceClass,
                multiAZ: i.multiAZ, storageEncrypted: i.storageEncrypted, allocatedStorageGiB: i.allocatedStorageGiB,
                endpoint: i.endpointAddress.map { "\($0):\(i.endpointPort ?? 5432)" })
            s.rds?.readReplicas = i.readReplicas.isEmpty ? nil : i.readReplicas
            s.health = i.status == "available" ? .ok : .degraded
            if s.health == .degraded { s.error = "instance is \(i.status)" }
        } catch {
            fill(&s, error)
        }
        return s
    }

    static func elasticache(_ clients: ServiceClients, timeout: Double) -> ServiceStatus {
        guard let e = clients.config.elasticache else { fatalError("probe of an unconfigured service") }
        var s = ServiceStatus(
            service: .elasticache, endpoint: "\(clients.aws.baseURL(for: .elasticache)) group \(e.replicationGroupId)",
            health: .down)
        do {
            let watch = Stopwatch()
            let groups = try clients.elasticache.describeReplicationGroups(id: e.replicationGroupId)
            s.rttMs = watch.elapsedMilliseconds
            guard let g = groups.first else {
                s.error = "no replication group \(e.replicationGroupId)"
                s.hint = "fix elasticache.replication_group_id"
                return s
            }
            s.elasticache = ElastiCacheState(
                replicationGroupId: g.id, status: g.status, nodeCount: g.memberClusters.count, multiAZ: g.multiAZ,
                automaticFailover: g.automaticFailover, transitEncryption: g.transitEncryption,
                atRestEncryption: g.atRestEncryption,
                primaryEndpoint: g.primaryEndpoint)
            s.health = g.status == "available" ? .ok : .degraded
            if s.health == .degraded { s.error = "replication group is \(g.status)" }
        } catch {
            fill(&s, error)
        }
        return s
    }

    static func fill(_ s: inout ServiceStatus, _ error: any Error) {
        switch error {
        case let e as AWSError:
            s.error = e.message
            s.hint = e.hint
        case let e as WhatIfHTTP.HTTPError:
            s.health = e.kind == .timeout ? .timeout : .down
            s.error = e.message
            s.hint = e.hint
        case let e as any OperatorError:
            s.error = e.message
            s.hint = e.hint
        default:
            s.error = "\(error)"
        }
    }
}
