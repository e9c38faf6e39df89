import Foundation
import Testing
import WhatIfCore
import WhatIfPostgres
import WhatIfTesting

@Suite struct PostgresTests {
    let stack: StackInfo
    init() throws { stack = try Stack.shared() }

    var config: PostgresConfig {
        PostgresConfig(
            host: "127.0.0.1", port: stack.pgPort, database: "what_if_users", user: "postgres",
            password: stack.pgPassword, sslMode: .prefer)
    }

    @Test func connectsWithAPasswordAndRunsParameterizedQueries() throws {
        let c = try PostgresConnection.connect(config, deadline: .after(seconds: 5))
        defer { c.close() }
        #expect(c.serverVersion.hasPrefix("15."))
        let r = try c.query(
            "SELECT $1::int + $2::int AS sum, $3::text AS t, $4::text IS NULL AS isnull",
            ["40", "2", "Robert'); DROP TABLE x;--", nil], deadline: .after(seconds: 5))
        #expect(r.value(0, "sum") == "42")
        #expect(r.value(0, "t") == "Robert'); DROP TABLE x;--")
        #expect(r.value(0, "isnull") == "t")
        let o = try c.overview(deadline: .after(seconds: 5))
        #expect(o.maxConnections > 0 && o.connections >= 1 && o.databaseSizeBytes > 0 && !o.inRecovery)
    }

    @Test func serverErrorsCarrySQLSTATE() throws {
        let c = try PostgresConnection.connect(config, deadline: .after(seconds: 5))
        #expect { try c.query("SELECT * FROM no_such_table", deadline: .after(seconds: 5)) } throws: {
            ($0 as? PostgresError)?.sqlState == "42P01" && ($0 as? PostgresError)?.kind == .query
        }
        #expect { try c.query("SELEC 1", deadline: .after(seconds: 5)) } throws: {
            ($0 as? PostgresError)?.sqlState == "42601"
        }
        #expect { try c.query("SELECT 1/0", deadline: .after(seconds: 5)) } throws: {
            ($0 as? PostgresError)?.sqlState == "22012"
        }
        // The connection is still usable after an error.
        #expect(try c.query("SELECT 1 AS one", deadline: .after(seconds: 5)).value(0, "one") == "1")
        #expect(try c.query("CREATE TEMP TABLE t(a int)", deadline: .after(seconds: 5)).affectedRows == nil)
        #expect(try c.query("INSERT INTO t VALUES (1),(2)", deadline: .after(seconds: 5)).affectedRows == 2)
    }

    @Test func wrongPasswordAndDatabaseAreNamed() throws {
        var bad = config
        bad.password = "wrong"
        #expect { try PostgresConnection.connect(bad, deadline: .after(seconds: 5)) } throws: { e in
            guard let e = e as? PostgresError else { return false }
            return e.sqlState == "28P01" && e.message.contains("127.0.0.1:\(stack.pgPort)")
                && (e.hint ?? "").contains("password")
        }
        var nodb = config
        nodb.database = "no_such_db"
        #expect { try PostgresConnection.connect(nodb, deadline: .after(seconds: 5)) } throws: {
            ($0 as? PostgresError)?.sqlState == "3D000"
        }
        var noserver = config
        noserver.port = freePort()
        #expect { try PostgresConnection.connect(noserver, deadline: .after(seconds: 5)) } throws: { e in
            (e as? PostgresError)?.hint?.contains("running") == true
        }
    }

    @Test func aQueryPastItsDeadlineIsCancelledOnTheServer() throws {
        let c = try PostgresConnection.connect(config, deadline: .after(seconds: 5))
        let marker = "whatif-cancel-\(UUID().uuidString)"
        let watch = Stopwatch()
        #expect { try c.query("SELECT pg_sleep(30), '\(marker)'", deadline: .after(seconds: 0.3)) } throws: {
            ($0 as? PostgresError)?.kind == .timeout
        }
        #expect(watch.elapsedSeconds < 10, "a 0.3 s deadline, not pg_sleep's 30 s")
        let other = try PostgresConnection.connect(config, deadline: .after(seconds: 5))
        let gone = try eventually(timeout: 5) {
            try other.query(
                "SELECT count(*) AS n FROM pg_stat_activity WHERE query LIKE $1 AND pid <> pg_backend_pid()",
                ["%\(marker)%"], deadline: .after(seconds: 5)
            ).value(0, "n") == "0"
        }
        #expect(gone)
    }

    @Test func aServerThatNeverAnswersTimesOut() throws {
        let listener = SilentListener()
        var silent = config
        silent.port = listener.port
        let watch = Stopwatch()
        #expect { try PostgresConnection.connect(silent, deadline: .after(seconds: 0.5)) } throws: {
            ($0 as? PostgresError)?.kind == .timeout
        }
        #expect(watch.elapsedSeconds < 10, "a 0.5 s deadline")
    }

    @Test func requireSSLAgainstAServerWithoutItSaysSo() throws {
        var c = config
        c.sslMode = .require
        #expect { try PostgresConnection.connect(c, deadline: .after(seconds: 5)) } throws: { e in
            (e as? PostgresError)?.hint?.contains("SSL") == true
        }
    }
}

/// verify-full against a private cluster with SSL on, certificates from a test CA.
@Suite(.serialized) struct PostgresTLSTests {
    @Test func verifyFullChecksTheChainAndTheName() throws {
        try #require(isRoot, "needs root to hand the key to the postgres user")
        let pg = try Stack.startPrivate(["pg"])
        let ca = try TestCA()
        let (cert, key) = try ca.issue("pg", names: ["localhost", "127.0.0.1"])
        let dir = pg.info.pgSocketDirectory + "/../tls"
        let setup = try Run.shell(
            """
            set -e
            mkdir -p \(dir) && cp \(cert) \(dir)/server.crt && cp \(key) \(dir)/server.key
            chown -R postgres: \(dir) && chmod 600 \(dir)/server.key
            psql() { runuser -u postgres -- psql -h \(pg.info.pgSocketDirectory) -p \(pg.info.pgPort) -U postgres -d postgres -Atqc "$1"; }
            psql "ALTER SYSTEM SET ssl_cert_file = '$(realpath \(dir))/server.crt'"
            psql "ALTER SYSTEM SET ssl_key_file = '$(realpath \(dir))/server.key'"
            psql "ALTER SYSTEM SET ssl = on"
            psql "SELECT pg_reload_conf()"
            """)
        try #require(setup.status == 0, "\(setup.output)")
        var c = PostgresConfig(
            host: "127.0.0.1", port: pg.info.pgPort, database: "what_if_users", user: "postgres",
            password: pg.info.pgPassword, sslMode: .verifyFull,
            sslRootCert: ca.caCert)
        let ok = eventually(timeout: 10) {
            (try? PostgresConnection.connect(c, deadline: .after(seconds: 5)))?.sslInUse == true
        }
        #expect(ok)
        let conn = try PostgresConnection.connect(c, deadline: .after(seconds: 5))
        #expect(conn.sslProtocol?.hasPrefix("TLS") == true)
        // Another CA: refused, with the fix named.
        let other = try TestCA(name: "someone else")
        c.sslRootCert = other.caCert
        #expect { try PostgresConnection.connect(c, deadline: .after(seconds: 5)) } throws: { e in
            (e as? PostgresError)?.hint?.contains("sslrootcert") == true
        }
        // The right CA, but a name the certificate does not carry.
        c.sslRootCert = ca.caCert
        c.host = "127.0.0.2"
        #expect(throws: PostgresError.self) { try PostgresConnection.connect(c, deadline: .after(seconds: 5)) }
    }
}

/// One definition of "the tables of a database" for backups, restores and the migration: a partitioned
/// table counts once, through its parent; its partitions, views and sequences are not tables of their own.
@Suite struct PostgresCatalogTests {
    @Test func partitionedTablesCountOnceThroughTheirParent() throws {
        let stack = try Stack.shared()
        let c = try PostgresConnection.connect(
            PostgresConfig(
                host: "127.0.0.1", port: stack.pgPort, database: "what_if_users", user: "postgres",
                password: stack.pgPassword, sslMode: .prefer), deadline: .after(seconds: 5))
        defer { c.close() }
        let schema = "whatif catalog \(UInt32.random(in: 0...UInt32.max))"
        let s = schema.quotedIdentifier
        _ = try c.query("CREATE SCHEMA \(s)", deadline: .after(seconds: 10))
        defer { _ = try? c.query("DROP SCHEMA \(s) CASCADE", deadline: .after(seconds: 10)) }
        for sql in [
            "CREATE TABLE \(s).events (id int, region text) PARTITION BY LIST (region)",
            "CREATE TABLE \(s).events_eu PARTITION OF \(s).events FOR VALUES IN ('eu')",
            "CREATE TABLE \(s).events_us PARTITION OF \(s).events FOR VALUES IN ('us')",
            "CREATE TABLE \(s).\"odd \"\"name\" (id int)", "CREATE VIEW \(s).recent AS SELECT 1 AS one",
            "CREATE SEQUENCE \(s).counter", "INSERT INTO \(s).events VALUES (1, 'eu'), (2, 'us'), (3, 'us')",
        ] {
            _ = try c.query(sql, deadline: .after(seconds: 10))
        }
        let mine = try c.userTables(deadline: .after(seconds: 10)).filter { $0.schema == schema }
        #expect(mine.map(\.name) == ["events", "odd \"name"], "\(mine)")
        // The parent's count is every partition's rows; the quoted name works whatever the name holds.
        let count = try c.query("SELECT count(*) FROM \(mine[0].quoted)", deadline: .after(seconds: 10))
        #expect(count.rows.first?.first ?? nil == "3")
        #expect(mine[1].quoted == "\"\(schema)\".\"odd \"\"name\"")
        #expect(try c.query("SELECT count(*) FROM \(mine[1].quoted)", deadline: .after(seconds: 10)).rows.count == 1)
    }
}
