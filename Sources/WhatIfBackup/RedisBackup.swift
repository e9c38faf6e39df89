import WhatIfCore
import WhatIfProtocol
import WhatIfRedis
import WhatIfUnits

#if canImport(Glibc)
    import Glibc
#endif
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// `backups.redis`: Redis backups of a local or self-managed server (BGSAVE, then its RDB copied).
package struct RedisBackupSettings: Sendable, Equatable {
    /// The RDB file to copy; nil: CONFIG GET dir and dbfilename.
    package var rdbPath: String?
    /// Longest the background save may take, in seconds.
    package var timeout: Double = 3600

    // memberwise-init: package
}

/// What the backup capability needs of Redis: a connection, and where the server is (for the manifest).
package struct RedisSource: Sendable {
    package var connect: @Sendable () throws -> RedisConnection
    package var host: String?
    package var port: Int?

    package init(connect: @escaping @Sendable () throws -> RedisConnection, host: String?, port: Int?) {
        self.connect = connect
        self.host = host
        self.port = port
    }
}

/// One Redis backup: BGSAVE, waited on until Redis reports it done and ok, the RDB copied through
/// SHA-256 into the partial folder, and the copy read back by redis-check-rdb, whose key count the
/// manifest records. Blocking.
struct RedisSnapshotter {
    let source: RedisSource
    let settings: RedisBackupSettings
    let environment: [String: String]
    let reporter: any JobReporter

    struct Output {
        var file: BackupFile
        var keys: Int64
        var serverVersion: String?
        var checker: String?
    }

    func run(into folder: String, deadline: Deadline) throws -> Output {
        let conn = try source.connect()
        defer { conn.close() }
        let version = try? conn.info("server")["redis_version"]
        try save(conn, deadline: deadline)
        let path = try rdbPath(conn)
        reporter.info("copying \(path)")
        let out = try HashedFile(path: "\(folder)/dump.rdb")
        do {
            try LocalFiles.stream(path) { try out.write($0) }
        } catch {
            throw Failure(
                "cannot read Redis's RDB \(path): \((error as? any OperatorError)?.message ?? "\(error)")",
                hint:
                    "run whatifd where it can read Redis's dir (add its user to Redis's group), or set backups.redis.rdb_path"
            )
        }
        let file = try out.finish(relativeTo: folder).file
        let (keys, checker) = try Self.check("\(folder)/dump.rdb", environment: environment)
        reporter.info("redis-check-rdb: \(keys) keys read, checksum OK")
        return Output(file: file, keys: keys, serverVersion: version, checker: checker)
    }

    /// BGSAVE (after any save already running), then INFO persistence until no save runs: the last one
    /// must be ok and not older than the request.
    func save(_ conn: RedisConnection, deadline: Deadline) throws {
        let asked = Int64(Date().timeIntervalSince1970)
        var started = false
        while !started {
            switch try conn.command("BGSAVE") {
            case .error(let e) where e.contains("in progress"):
                // A save (or an AOF rewrite) is running: wait for it, then ask for ours.
                try waitIdle(conn, deadline: deadline)
            case .error(let e):
                throw Failure("Redis refused BGSAVE: \(e)", hint: "BGSAVE may be renamed or disabled on this server")
            case let r:
                started = true
                reporter.info("BGSAVE: \(r.string ?? "started")")
            }
        }
        try waitIdle(conn, deadline: deadline)
        let p = try conn.info("persistence")
        guard p["rdb_last_bgsave_status"] == "ok" else {
            throw Failure(
                "Redis reports the background save failed (rdb_last_bgsave_status \(p["rdb_last_bgsave_status"] ?? "?"))",
                hint: "see Redis's log: usually no space or no permission in its dir")
        }
        guard let last = p["rdb_last_save_time"].flatMap({ Int64($0) }), last >= asked else {
            throw Failure(
                "Redis's last save (rdb_last_save_time \(p["rdb_last_save_time"] ?? "?")) is older than the BGSAVE")
        }
    }

    func waitIdle(_ conn: RedisConnection, deadline: Deadline) throws {
        let watch = Stopwatch()
        while true {
            let p = try conn.info("persistence")
            if p["rdb_bgsave_in_progress"] == "0", p["aof_rewrite_in_progress"] != "1" { return }
            try reporter.checkCancelled()
            guard !deadline.hasPassed else {
                throw Failure(
                    "Redis's background save is still running after \(Units.duration(settings.timeout))",
                    hint: "raise backups.redis.timeout")
            }
            reporter.progress(done: watch.elapsedSeconds, total: nil, unit: "seconds", phase: "BGSAVE")
            sleepThread(seconds: 0.1)
        }
    }

    func rdbPath(_ conn: RedisConnection) throws -> String {
        if let p = settings.rdbPath { return p }
        do {
            guard case .array(let d) = try conn.command("CONFIG", "GET", "dir"), d.count == 2,
                case .array(let f) = try conn.command("CONFIG", "GET", "dbfilename"), f.count == 2,
                let dir = d[1].string, let name = f[1].string
            else { throw Failure("CONFIG GET answered in an unexpected shape") }
            return name.hasPrefix("/") ? name : "\(dir)/\(name)"
        } catch {
            throw Failure(
                "cannot ask Redis where its RDB is (CONFIG GET dir): \(error)",
                hint: "set backups.redis.rdb_path (ElastiCache has no RDB to copy: it is snapshotted by AWS)")
        }
    }

    /// redis-check-rdb over a copy: the keys it read; fails unless it says the RDB looks OK.
    static func check(_ path: String, environment: [String: String]) throws -> (keys: Int64, tool: String) {
        var env = environment
        env["PATH"] = (environment["PATH"] ?? "/usr/bin:/bin") + ":/usr/bin:/usr/local/bin"
        let r = try Subprocess.run("redis-check-rdb", arguments: [path], environment: env, limit: 1 << 20)
        let text = String(decoding: r.stdout, as: UTF8.self) + r.stderr
        guard r.termination.succeeded, text.contains("RDB looks OK") else {
            let last = text.split(separator: "\n").suffix(3).joined(separator: "; ")
            throw Failure("redis-check-rdb finds \(path) damaged: \(last)", hint: "take a new Redis backup")
        }
        guard let m = text.firstMatch(of: /\[info\] (\d+) keys read/), let n = Int64(m.output.1) else {
            throw Failure("redis-check-rdb did not say how many keys it read")
        }
        return (n, "redis-check-rdb")
    }
}
