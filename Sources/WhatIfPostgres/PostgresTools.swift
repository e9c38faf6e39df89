import WhatIfCore

#if canImport(Glibc)
    import Glibc
#endif

/// pg_dump and pg_restore: found, version-checked, and given a connection through the environment and
/// a 0600 password file only (never argv, never a log).
package struct PostgresTools: Sendable {
    package var pgDump: String
    package var pgRestore: String
    /// `15.18`.
    package var version: String
    package var major: Int

    /// Finds the tools: in `binDirectory` when configured, else the newest /usr/lib/postgresql/*/bin
    /// (Debian's layout), else PATH.
    package static func find(binDirectory: String?, environment: [String: String]) throws -> PostgresTools {
        var dir = binDirectory
        if dir == nil {
            let versions = Files.list("/usr/lib/postgresql").compactMap { v -> (Int, String)? in
                guard let n = Int(v), access("/usr/lib/postgresql/\(v)/bin/pg_dump", X_OK) == 0 else { return nil }
                return (n, "/usr/lib/postgresql/\(v)/bin")
            }
            dir = versions.max { $0.0 < $1.0 }?.1
        }
        let dump: String
        let restore: String
        if let dir {
            dump = "\(dir)/pg_dump"
            restore = "\(dir)/pg_restore"
            for tool in [dump, restore] where access(tool, X_OK) != 0 {
                throw Failure(
                    "\(tool) is missing or not executable",
                    hint: binDirectory != nil
                        ? "fix backups.postgres.bin_dir" : "install postgresql-client (pg_dump and pg_restore)")
            }
        } else {
            let path = environment["PATH"] ?? "/usr/bin:/bin"
            guard let d = Subprocess.resolve("pg_dump", path: path),
                let r = Subprocess.resolve("pg_restore", path: path)
            else {
                throw Failure(
                    "pg_dump and pg_restore are not installed",
                    hint: "install postgresql-client, or set backups.postgres.bin_dir")
            }
            dump = d
            restore = r
        }
        var probe = HelperProcess(
            dump, arguments: ["--version"], environment: baseEnvironment(environment), name: "\(dump) --version")
        probe.deadline = .after(seconds: 30)
        probe.failureHint = "check the installation"
        let text = String(decoding: try probe.output(limit: 64 << 10), as: UTF8.self)
        guard let (version, major) = parseVersion(text) else {
            throw Failure("cannot tell \(dump)'s version from '\(text.prefix(200))'", hint: "check the installation")
        }
        return PostgresTools(pgDump: dump, pgRestore: restore, version: version, major: major)
    }

    /// `pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)` -> ("15.18", 15); 9.6.24 -> ("9.6.24", 96).
    static func parseVersion(_ text: String) -> (String, Int)? {
        guard let r = text.find("(PostgreSQL) ") else { return nil }
        let version = String(text[r.upperBound...].prefix { $0.isNumber || $0 == "." })
        let parts = version.split(separator: ".").compactMap { Int($0) }
        guard let first = parts.first else { return nil }
        if first >= 10 { return (version, first) }
        guard parts.count >= 2 else { return nil }
        return (version, first * 10 + parts[1])
    }

    /// server_version_num 150018 -> 15; 90624 -> 96 (the same scale as `major`).
    package static func serverMajor(versionNum: Int) -> Int {
        versionNum >= 100_000 ? versionNum / 10000 : versionNum / 1000
    }

    static func majorText(_ m: Int) -> String { m >= 10 ? "\(m)" : "\(m / 10).\(m % 10)" }

    /// Refuses a pg_dump older than the server (it cannot dump it faithfully).
    package func checkCanDump(serverMajor: Int, serverVersion: String) throws {
        guard major >= serverMajor else {
            throw Failure(
                "pg_dump \(version) (\(pgDump)) is older than the server (PostgreSQL \(serverVersion)): it cannot dump it",
                hint:
                    "install postgresql-client-\(Self.majorText(serverMajor)) or newer, or point backups.postgres.bin_dir at a pg_dump \(Self.majorText(serverMajor))+"
            )
        }
    }

    /// PATH and a fixed message language: what every helper is started with.
    package static func baseEnvironment(_ env: [String: String]) -> [String: String] {
        ["PATH": env["PATH"] ?? "/usr/bin:/bin", "LC_ALL": "C.UTF-8", "LC_MESSAGES": "C"]
    }

    /// A 0600 password file for libpq (`*:*:*:*:password`), removed by `remove()`.
    package final class PasswordFile: Sendable {
        package let path: String

        package init(directory: String, password: String?) throws {
            guard let password else {
                path = "/dev/null"
                return
            }
            try Files.makeDirectories(directory, mode: 0o700)
            path = "\(directory)/pgpass-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            var escaped = ""
            for c in password {
                if c == ":" || c == "\\" { escaped.append("\\") }
                escaped.append(c)
            }
            let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            guard fd >= 0 else { throw Failure("cannot create \(path): \(Files.errnoText())") }
            let bytes = Array("*:*:*:*:\(escaped)\n".utf8)
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            close(fd)
            guard n == bytes.count else {
                unlink(path)
                throw Failure("cannot write \(path)")
            }
        }

        package func remove() {
            if path != "/dev/null" { unlink(path) }
        }
    }

    /// The environment a tool connects with: libpq's PG* variables for `config` and the password file.
    package static func environment(
        for config: PostgresConfig, database: String? = nil, passfile: PasswordFile, base: [String: String]
    ) -> [String: String] {
        var env = baseEnvironment(base)
        env["PGHOST"] = config.host
        env["PGPORT"] = String(config.port)
        env["PGUSER"] = config.user
        env["PGDATABASE"] = database ?? config.database
        env["PGSSLMODE"] = config.sslMode.rawValue
        if let ca = config.sslRootCert { env["PGSSLROOTCERT"] = ca }
        env["PGPASSFILE"] = passfile.path
        env["PGCONNECT_TIMEOUT"] = "10"
        env["PGAPPNAME"] = "whatifd-backup"
        return env
    }
}
