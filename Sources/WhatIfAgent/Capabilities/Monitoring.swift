import Logging
import WhatIfAWS
import WhatIfCore
import WhatIfMonitoring
import WhatIfPostgres
import WhatIfProtocol

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
#if canImport(Glibc)
    import Glibc
#endif

extension AgentCore {
    package var monitoring: MonitoringService? { monitoringBox.value }

    /// Opens the history and starts collecting, as a background service (the hooks are one of their
    /// own: startHooks).
    func startMonitoring() async throws {
        let c = config
        guard c.monitoring.enabled else { return }
        let service: MonitoringService
        do {
            service = try MonitoringService(
                settings: c.monitoring.settings, stateDirectory: c.stateDirectory, logger: logger,
                host: HostName.current,
                environment: c.environment.rawValue)
        } catch {
            throw Failure("cannot open the metrics history: \(error.message)", hint: error.hint)
        }
        monitoringBox.set(service)
        configureMonitoring()
        // Requests still in flight at the stop see no metrics rather than a history being closed.
        let box = monitoringBox
        services.add(service, willStop: { box.set(nil) })
    }

    /// Builds the collectors, alarms and hooks from the current config (at start and after a reload).
    func configureMonitoring() {
        guard let service = monitoringBox.value else { return }
        let clients = self.clients
        let c = clients.config
        let m = c.monitoring
        let host = HostCollector(
            host: HostName.current, freeSpacePaths: [("BackupLocationFreeStorageSpace", c.backups.location)])
        var collectors: [any Collector] = [host]
        // PostgreSQL and Redis read directly in every environment (in test and production alongside
        // CloudWatch, over the configured TLS, for what AWS does not publish).
        var direct: [any Collector] = []
        if let pg = c.postgres {
            let local =
                ["localhost", "127.0.0.1", "::1", ""].contains(pg.connection.host) || pg.connection.host.hasPrefix("/")
            direct.append(
                PostgresCollector(
                    instanceId: m.rdsInstanceId, host: m.source == .local ? host : nil,
                    localDataDirectory: local && m.source == .local,
                    connect: { try clients.postgres(deadline: .after(seconds: 10)) }))
            if let b = pg.pgbouncer {
                direct.append(
                    PgBouncerCollector(connect: { try PostgresConnection.connect(b, deadline: .after(seconds: 10)) }))
            }
            for r in pg.replicas {
                direct.append(
                    PostgresReplicaCollector(
                        instanceId: r.name,
                        connect: { try PostgresConnection.connect(r.connection, deadline: .after(seconds: 10)) }))
            }
        }
        if c.redis != nil {
            direct.append(
                RedisNodesCollector(
                    base: m.cacheClusterId, host: m.source == .local ? host : nil, connect: { try clients.redis() },
                    connectNode: { try clients.redisNode(host: $0, port: $1) }))
        }
        switch m.source {
        case .local:
            collectors += direct
            if let d = c.dynamodb {
                collectors.append(
                    DynamoDBLocalCollector(tables: [d.table], calls: awsCalls, dynamodb: { clients.dynamodb }))
            }
        case .cloudwatch:
            let specs = CloudWatchCollector.standardSpecs(
                tables: c.dynamodb.map { [$0.table] } ?? [], rdsInstance: c.postgres == nil ? nil : m.rdsInstanceId,
                cacheClusters: c.redis == nil ? [] : [m.cacheClusterId],
                rdsReplicas: c.postgres?.replicas.map(\.name) ?? [])
            let tables = c.dynamodb.map { [$0.table] } ?? []
            collectors.append(
                CloudWatchCollector(
                    specs: specs,
                    indexes: {
                        try tables.flatMap { t in
                            (try clients.dynamodb.describeTable(t).globalSecondaryIndexes ?? []).map {
                                (t, $0.indexName)
                            }
                        }
                    }, cloudwatch: { clients.cloudwatch }))
            collectors += direct.map { BesideCloudWatch($0, covered: specs) }
        }
        // Alarms go to the agent's own dispatcher (configureHooks runs first).
        let hooks = hookService.dispatcher
        service.configure(
            settings: m.settings, collectors: collectors, alarms: m.alarms, hooks: hooks,
            cloudwatch: { clients.cloudwatch })
    }
}
