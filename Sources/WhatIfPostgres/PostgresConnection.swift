import CLibpq
import WhatIfCore

#if canImport(Glibc)
    import Glibc
#endif

/// libpq's sslmode values.
package enum PostgresSSLMode: String, Sendable, CaseIterable {
    case disable, allow, prefer, require
    case verifyCA = "verify-ca"
    case verifyFull = "verify-full"

    /// Modes that check the server's certificate.
    package var verifies: Bool { self == .verifyCA || self == .verifyFull }
}

package struct PostgresConfig: Sendable, Equatable {
    package var host: String
    package var port: Int = 5432
    package var database: String
    package var user: String
    package var password: String?
    package var sslMode: PostgresSSLMode = .prefer
    package var sslRootCert: String?
    package var applicationName: String = "whatifd"

    // memberwise-init: package

    /// `host:port/database`, for messages (never the password).
    package var endpoint: String { "\(host):\(port)/\(database)" }

    /// libpq's keyword/value pairs.
    var connectionParameters: [(String, String)] {
        var p: [(String, String)] = [
            ("host", host), ("port", String(port)), ("dbname", database), ("user", user),
            ("sslmode", sslMode.rawValue), ("application_name", applicationName),
            // We keep our own deadline; this is a backstop for each address libpq tries.
            ("connect_timeout", "10"),
            // Never read ~/.pgpass or PG* variables behind the operator's back.
            ("passfile", "/dev/null"),
        ]
        if let password { p.append(("password", password)) }
        if let sslRootCert { p.append(("sslrootcert", sslRootCert)) }
        return p
    }
}

package struct PostgresError: OperatorError, Sendable {
    package enum Kind: Sendable, Equatable {
        case connection
        case query
        case timeout
        case protocolViolation
    }

    package var kind: Kind
    /// The SQLSTATE of a server error (for example 42P01 undefined_table, 28P01 invalid_password).
    package var sqlState: String?
    package var message: String
    package var detail: String?
    package var hint: String?
}

/// A query's rows, as text (libpq's text format).
package struct PostgresResult: Sendable {
    package var columns: [String]
    package var rows: [[String?]]
    /// For INSERT/UPDATE/DELETE: the number of rows affected.
    package var affectedRows: Int?

    package func value(_ row: Int, _ column: String) -> String? {
        guard let c = columns.firstIndex(of: column), row < rows.count else { return nil }
        return rows[row][c]
    }
}

/// One libpq connection. Every call takes a deadline: connect and queries run non-blocking and are
/// polled, and a query past its deadline is cancelled on the server. Use from one thread at a time.
package final class PostgresConnection {
    private var conn: OpaquePointer?
    package let config: PostgresConfig

    private init(conn: OpaquePointer, config: PostgresConfig) {
        self.conn = conn
        self.config = config
    }

    deinit { close() }

    package func close() {
        if let conn {
            whatif_PQfinish(conn)
            self.conn = nil
        }
    }

    package static func connect(_ config: PostgresConfig, deadline: Deadline) throws(PostgresError)
        -> PostgresConnection
    {
        // libpq is loaded on first use.
        guard whatif_pq_load() == 0 else {
            throw PostgresError(
                kind: .connection, message: String(cString: whatif_pq_load_error()), hint: "install libpq5")
        }
        let params = config.connectionParameters
        let keys = params.map { strdup($0.0) } + [nil]
        let values = params.map { strdup($0.1) } + [nil]
        defer {
            for k in keys { free(k) }
            for v in values { free(v) }
        }
        let maybeConn: OpaquePointer? = keys.map { UnsafePointer($0) }.withUnsafeBufferPointer { k in
            values.map { UnsafePointer($0) }.withUnsafeBufferPointer { v in
                whatif_PQconnectStartParams(k.baseAddress, v.baseAddress, 0)
            }
        }
        guard let conn = maybeConn else {
            throw PostgresError(kind: .connection, message: "out of memory starting a PostgreSQL connection")
        }
        if whatif_PQstatus(conn) == CONNECTION_BAD {
            let e = classifyConnectionError(errorMessage(conn), config: config)
            whatif_PQfinish(conn)
            throw e
        }
        whatif_PQsetNoticeProcessor(conn, { _, _ in }, nil)
        var status = PGRES_POLLING_WRITING
        while true {
            switch status {
            case PGRES_POLLING_OK:
                return PostgresConnection(conn: conn, config: config)
            case PGRES_POLLING_FAILED:
                let e = classifyConnectionError(errorMessage(conn), config: config)
                whatif_PQfinish(conn)
                throw e
            case PGRES_POLLING_READING, PGRES_POLLING_WRITING:
                let sock = whatif_PQsocket(conn)
                if !wait(sock, read: status == PGRES_POLLING_READING, deadline: deadline) {
                    whatif_PQfinish(conn)
                    throw PostgresError(
                        kind: .timeout, message: "no answer from PostgreSQL at \(config.endpoint) in time",
                        hint: "check that the host is reachable and PostgreSQL listens on port \(config.port)")
                }
            default:
                break
            }
            status = whatif_PQconnectPoll(conn)
        }
    }

    /// Server version as PostgreSQL numbers it (150018 for 15.18).
    package var serverVersionNumber: Int { conn.map { Int(whatif_PQserverVersion($0)) } ?? 0 }

    /// "15.18".
    package var serverVersion: String {
        let v = serverVersionNumber
        return v >= 100000 ? "\(v / 10000).\(v % 10000)" : "\(v / 10000).\(v / 100 % 100).\(v % 100)"
    }

    package var sslInUse: Bool { conn.map { whatif_PQsslInUse($0) == 1 } ?? false }

    /// TLS protocol in use ("TLSv1.3"), when SSL is.
    package var sslProtocol: String? {
        guard let conn, whatif_PQsslInUse(conn) == 1, let p = whatif_PQsslAttribute(conn, "protocol") else {
            return nil
        }
        return String(cString: p)
    }

    /// Runs one statement with text parameters ($1, $2, ...). nil is SQL NULL.
    @discardableResult
    package func query(_ sql: String, _ parameters: [String?] = [], deadline: Deadline) throws(PostgresError)
        -> PostgresResult
    {
        guard let conn else { throw PostgresError(kind: .connection, message: "connection is closed") }
        let cParams = parameters.map { $0.map { strdup($0) } ?? nil }
        defer { for p in cParams { free(p) } }
        let sent = cParams.map { UnsafePointer($0) }.withUnsafeBufferPointer { p in
            whatif_PQsendQueryParams(conn, sql, Int32(parameters.count), nil, p.baseAddress, nil, nil, 0)
        }
        return try answer(conn, sent: sent, deadline: deadline)
    }

    /// Runs `sql` with the simple query protocol, for servers that speak no other (PgBouncer's admin
    /// console: SHOW POOLS, SHOW STATS). No parameters; the last statement's rows are answered.
    @discardableResult
    package func simpleQuery(_ sql: String, deadline: Deadline) throws(PostgresError) -> PostgresResult {
        guard let conn else { throw PostgresError(kind: .connection, message: "connection is closed") }
        return try answer(conn, sent: whatif_PQsendQuery(conn, sql), deadline: deadline)
    }

    private func answer(_ conn: OpaquePointer, sent: Int32, deadline: Deadline) throws(PostgresError)
        -> PostgresResult
    {
        guard sent == 1 else {
            throw PostgresError(kind: .connection, message: "sending the query failed: \(Self.errorMessage(conn))")
        }
        let sock = whatif_PQsocket(conn)
        // Flush the query out.
        while true {
            let f = whatif_PQflush(conn)
            if f == 0 { break }
            if f < 0 { throw PostgresError(kind: .connection, message: Self.errorMessage(conn)) }
            if !Self.wait(sock, read: false, deadline: deadline) {
                cancel()
                throw timeoutError()
            }
        }
        // Wait for the whole answer.
        while whatif_PQisBusy(conn) == 1 {
            if !Self.wait(sock, read: true, deadline: deadline) {
                cancel()
                throw timeoutError()
            }
            if whatif_PQconsumeInput(conn) == 0 {
                throw PostgresError(
                    kind: .connection, message: "connection to \(config.endpoint) lost: \(Self.errorMessage(conn))")
            }
        }
        var result = PostgresResult(columns: [], rows: [], affectedRows: nil)
        var failure: PostgresError?
        while let res = whatif_PQgetResult(conn) {
            defer { whatif_PQclear(res) }
            switch whatif_PQresultStatus(res) {
            case PGRES_TUPLES_OK, PGRES_SINGLE_TUPLE:
                result = Self.collect(res)
            case PGRES_COMMAND_OK:
                let n = String(cString: whatif_PQcmdTuples(res))
                result = PostgresResult(columns: [], rows: [], affectedRows: Int(n))
            case PGRES_EMPTY_QUERY:
                break
            default:
                if failure == nil { failure = Self.resultError(res, conn: conn) }
            }
            // A result may need more input before the next one is ready.
            while whatif_PQisBusy(conn) == 1 {
                if !Self.wait(sock, read: true, deadline: deadline) {
                    cancel()
                    throw timeoutError()
                }
                if whatif_PQconsumeInput(conn) == 0 { break }
            }
        }
        if let failure { throw failure }
        return result
    }

    private func timeoutError() -> PostgresError {
        PostgresError(
            kind: .timeout, message: "PostgreSQL at \(config.endpoint) did not answer in time; the query was cancelled")
    }

    /// Asks the server to cancel the running query, then drains the connection.
    private func cancel() {
        guard let conn else { return }
        if let c = whatif_PQgetCancel(conn) {
            var buf = [CChar](repeating: 0, count: 256)
            _ = whatif_PQcancel(c, &buf, 256)
            whatif_PQfreeCancel(c)
        }
        // The connection's state is uncertain now: drop it.
        close()
    }

    private static func collect(_ res: OpaquePointer) -> PostgresResult {
        let nf = Int(whatif_PQnfields(res))
        let nt = Int(whatif_PQntuples(res))
        var columns: [String] = []
        columns.reserveCapacity(nf)
        for f in 0..<nf { columns.append(String(cString: whatif_PQfname(res, Int32(f)))) }
        var rows: [[String?]] = []
        rows.reserveCapacity(nt)
        for t in 0..<nt {
            var row: [String?] = []
            row.reserveCapacity(nf)
            for f in 0..<nf {
                if whatif_PQgetisnull(res, Int32(t), Int32(f)) == 1 {
                    row.append(nil)
                } else {
                    row.append(String(cString: whatif_PQgetvalue(res, Int32(t), Int32(f))))
                }
            }
            rows.append(row)
        }
        return PostgresResult(columns: columns, rows: rows, affectedRows: nil)
    }

    private static func field(_ res: OpaquePointer, _ code: Int32) -> String? {
        guard let p = whatif_PQresultErrorField(res, code) else { return nil }
        return String(cString: p)
    }

    private static func resultError(_ res: OpaquePointer, conn: OpaquePointer) -> PostgresError {
        let state = field(res, Int32(UInt8(ascii: "C")))
        let primary = field(res, Int32(UInt8(ascii: "M"))) ?? errorMessage(conn)
        let detail = field(res, Int32(UInt8(ascii: "D")))
        let hint = field(res, Int32(UInt8(ascii: "H")))
        return PostgresError(kind: .query, sqlState: state, message: primary, detail: detail, hint: hint)
    }

    static func errorMessage(_ conn: OpaquePointer) -> String {
        guard let m = whatif_PQerrorMessage(conn) else { return "unknown error" }
        return String(cString: m).trimmingWhitespace()
    }

    /// Turns libpq's connection failure text into a message and a fix.
    static func classifyConnectionError(_ text: String, config: PostgresConfig) -> PostgresError {
        let t = text.lowercased()
        let base = "cannot connect to PostgreSQL at \(config.endpoint): \(text)"
        let hint: String?
        let state: String?
        if t.contains("password authentication failed") || t.contains("no password supplied") {
            state = "28P01"
            hint = "check the password (postgres.password_file or RDS_POSTGRES_PASSWORD) and user \(config.user)"
        } else if t.contains("database") && t.contains("does not exist") {
            state = "3D000"
            hint = "create database \(config.database) or fix postgres.database"
        } else if t.contains("role") && t.contains("does not exist") {
            state = "28000"
            hint = "create role \(config.user) or fix postgres.user"
        } else if t.contains("no pg_hba.conf entry") {
            state = "28000"
            hint = "allow this host and user in pg_hba.conf (or the RDS security group and parameter group)"
        } else if t.contains("connection refused") || t.contains("no such file or directory") {
            state = nil
            hint = "is PostgreSQL running and listening on \(config.host):\(config.port)?"
        } else if t.contains("could not translate host name") {
            state = nil
            hint = "check postgres.host (or RDS_POSTGRES_HOST): the name does not resolve"
        } else if t.contains("root certificate file") || t.contains("certificate verify failed")
            || t.contains("server certificate")
        {
            state = nil
            hint =
                "set postgres.sslrootcert to the CA bundle that signed the server's certificate (for RDS: the global bundle from truststore.pki.rds.amazonaws.com)"
        } else if t.contains("server does not support ssl") {
            state = nil
            hint = "the server has SSL off: enable it, or lower postgres.sslmode in development only"
        } else if t.contains("too many clients") || t.contains("remaining connection slots") {
            state = "53300"
            hint = "the server is at max_connections; close idle connections or raise the limit"
        } else if t.contains("the database system is starting up") || t.contains("shutting down") {
            state = "57P03"
            hint = "PostgreSQL is starting or stopping; try again shortly"
        } else {
            state = nil
            hint = nil
        }
        return PostgresError(kind: .connection, sqlState: state, message: base, hint: hint)
    }

    static func wait(_ fd: Int32, read: Bool, deadline: Deadline) -> Bool {
        guard fd >= 0 else { return false }
        var p = pollfd(fd: fd, events: Int16(read ? POLLIN : POLLOUT), revents: 0)
        while true {
            let remaining = deadline.remainingMilliseconds
            if remaining <= 0 { return false }
            let rc = poll(&p, 1, remaining)
            if rc > 0 { return true }
            if rc == 0 { return false }
            if errno != EINTR { return false }
        }
    }
}

extension PostgresConnection {
    /// The state `whatifctl status` shows.
    package struct Overview: Sendable, Equatable {
        package var serverVersion: String
        package var databaseSizeBytes: Int64
        package var connections: Int
        package var maxConnections: Int
        package var inRecovery: Bool
    }

    package func overview(deadline: Deadline) throws(PostgresError) -> Overview {
        let r = try query(
            """
            SELECT pg_database_size(current_database()) AS size,
                   (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend') AS connections,
                   current_setting('max_connections')::int AS max_connections,
                   pg_is_in_recovery() AS in_recovery
            """, deadline: deadline)
        guard r.rows.count == 1 else {
            throw PostgresError(kind: .protocolViolation, message: "unexpected answer to the status query")
        }
        return Overview(
            serverVersion: serverVersion,
            databaseSizeBytes: Int64(r.value(0, "size") ?? "") ?? 0,
            connections: Int(r.value(0, "connections") ?? "") ?? 0,
            maxConnections: Int(r.value(0, "max_connections") ?? "") ?? 0,
            inRecovery: r.value(0, "in_recovery") == "t")
    }
}
