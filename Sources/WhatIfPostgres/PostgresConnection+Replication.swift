import WhatIfCore

/// What a server says of its replication: a standby's lag, a primary's slots and standbys.
extension PostgresConnection {
    /// A hot standby's view of itself.
    package struct StandbyState: Sendable, Equatable {
        /// `pg_is_in_recovery()`: false means it is a primary (promoted, or never a replica).
        package var inRecovery: Bool
        /// Seconds its data is behind the primary: 0 when it has replayed all it received, else the time
        /// since the last transaction it replayed committed (as RDS's ReplicaLag); nil when it receives
        /// no WAL stream.
        package var lagSeconds: Double?
        /// Replay is paused (`pg_wal_replay_pause()`).
        package var replayPaused: Bool

        /// Why it is not a usable replica: promoted, or receiving no WAL; nil when it is one.
        package var problem: String? {
            if !inRecovery { return "it is not in recovery: no longer a replica (promoted?)" }
            if lagSeconds == nil { return "it receives no WAL from the primary" }
            return nil
        }
    }

    package func standbyState(deadline: Deadline) throws -> StandbyState {
        let r = try query(
            """
            SELECT pg_is_in_recovery() AS standby,
                   CASE WHEN NOT pg_is_in_recovery() OR pg_last_wal_receive_lsn() IS NULL THEN NULL
                        WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
                        ELSE greatest(0, extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp()))
                   END AS lag,
                   CASE WHEN pg_is_in_recovery() THEN pg_is_wal_replay_paused() ELSE false END AS paused
            """, deadline: deadline)
        return StandbyState(
            inRecovery: r.value(0, "standby") == "t", lagSeconds: r.value(0, "lag").flatMap(Double.init),
            replayPaused: r.value(0, "paused") == "t")
    }

    /// A primary's bytes of WAL kept for its replication slots (RDS's ReplicationSlotDiskUsage).
    package func replicationSlotBytes(deadline: Deadline) throws -> Double {
        let r = try query(
            """
            SELECT coalesce(sum(pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)), 0) AS bytes
              FROM pg_replication_slots WHERE restart_lsn IS NOT NULL
            """, deadline: deadline)
        return r.value(0, "bytes").flatMap(Double.init) ?? 0
    }

    /// One standby as its primary sees it (`pg_stat_replication`).
    package struct StandbySeen: Sendable, Equatable {
        package var applicationName: String
        package var clientAddress: String?
        package var state: String
        /// `replay_lag` in seconds (nil when the standby has caught up and reported nothing since).
        package var replayLagSeconds: Double?
    }

    /// The standbys streaming from this primary.
    package func standbys(deadline: Deadline) throws -> [StandbySeen] {
        let r = try query(
            """
            SELECT application_name, host(client_addr) AS addr, state, extract(epoch FROM replay_lag) AS lag
              FROM pg_stat_replication ORDER BY application_name, client_addr
            """, deadline: deadline)
        return r.rows.indices.map { i in
            StandbySeen(
                applicationName: r.value(i, "application_name") ?? "", clientAddress: r.value(i, "addr"),
                state: r.value(i, "state") ?? "", replayLagSeconds: r.value(i, "lag").flatMap(Double.init))
        }
    }
}
