import WhatIfCore
import WhatIfJSON
import WhatIfProtocol
import WhatIfRedis

/// The expiry capability's jobs as the agent runs them: a connection of their own for the run, the
/// request's pace over the configured one, findings logged as warnings. Blocking: run them on a thread.
package enum ExpiryRun {
    /// A `redis.expiry` sweep, resumed from `saved` (an earlier run's checkpoint) when it is for the
    /// same database (the sweeper checks), checkpointing through `save` as it goes.
    /// A Redis Cluster (INFO cluster says `cluster_enabled:1`) is swept shard by shard through
    /// `connectNode`, every primary in parallel.
    package static func sweep(
        _ req: StartExpiryRequest, policy: ExpiryPolicy, settings: SweepSettings,
        connect: () throws -> RedisConnection,
        connectNode: @escaping @Sendable (String, Int) throws -> RedisConnection = { _, _ in
            throw Failure("Redis Cluster is not supported here")
        }, saved: JSONValue?, save: @escaping @Sendable (JSONValue) -> Void, reporter: any JobReporter
    ) throws -> ExpiryReport {
        var paced = settings
        if let kps = req.keysPerSecond { paced.keysPerSecond = kps }
        let conn = try connect()
        defer { conn.close() }
        if (try? conn.info("cluster"))?["cluster_enabled"] == "1" {
            let resume = saved.flatMap {
                try? APICoding.decode(ClusterSweepCheckpoint.self, from: APICoding.encode($0))
            }
            if saved != nil, resume == nil {
                reporter.log(
                    .warning,
                    "not resuming: the checkpoint was taken on a single server, this is a cluster; starting over")
            }
            let report = try ClusterSweep(
                policy: policy, settings: paced, enforce: req.enforce, seed: conn,
                connectNode: connectNode, reporter: reporter, resumeFrom: resume,
                save: { cp in (try? JSONValue.encoding(cp)).map(save) }
            ).run()
            for f in report.findings { reporter.log(.warning, f) }
            return report
        }
        let resume = saved.flatMap { try? APICoding.decode(SweepCheckpoint.self, from: APICoding.encode($0)) }
        if saved != nil, resume == nil {
            reporter.log(
                .warning, "not resuming: the checkpoint was taken on a cluster, this is a single server; starting over")
        }
        let report = try ExpirySweeper(
            policy: policy, settings: paced, enforce: req.enforce, connection: conn, reporter: reporter,
            resumeFrom: resume, saveCheckpoint: { cp in (try? JSONValue.encoding(cp)).map(save) }
        ).run()
        for f in report.findings { reporter.log(.warning, f) }
        return report
    }

    /// A `redis.audit`: keys without a TTL by prefix and type, paced like the sweep.
    /// On a Redis Cluster every shard is audited (in parallel), on its primary or, with `replicas`, on
    /// a replica.
    package static func audit(
        _ req: StartKeyAuditRequest, settings: SweepSettings, connect: () throws -> RedisConnection,
        connectNode: @escaping @Sendable (String, Int) throws -> RedisConnection = { _, _ in
            throw Failure("Redis Cluster is not supported here")
        }, reporter: any JobReporter
    ) throws -> KeyAuditReport {
        var paced = settings
        if let kps = req.keysPerSecond { paced.keysPerSecond = kps }
        let conn = try connect()
        defer { conn.close() }
        if (try? conn.info("cluster"))?["cluster_enabled"] == "1" {
            let report = try ClusterAudit.run(
                req, settings: paced, seed: conn, connectNode: connectNode, reporter: reporter)
            for f in report.findings { reporter.log(.warning, f) }
            return report
        }
        if req.replicas == true {
            throw Failure(
                "replicas applies to a Redis Cluster, and this Redis is not one",
                hint: "point redis.url at a replica to audit it, or drop --replicas")
        }
        let report = try KeyAuditor(
            settings: paced, delimiter: req.delimiter ?? ":", depth: req.depth ?? 1, connection: conn,
            reporter: reporter
        ).run()
        for f in report.findings { reporter.log(.warning, f) }
        return report
    }
}
