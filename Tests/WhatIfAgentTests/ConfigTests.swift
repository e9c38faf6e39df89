import Foundation
import Testing
import WhatIfProtocol
import WhatIfRedis
import WhatIfTesting

@testable import WhatIfAgent

@Suite struct ConfigTests {
    let dir = TempDir("whatif-config")

    func load(_ yaml: String, env: [String: String] = [:]) -> Result<AgentConfig, ConfigError> {
        let path = try! dir.write("agent.yaml", yaml)
        return ConfigLoader.load(path: path, environment: env)
    }

    func problems(_ yaml: String, env: [String: String] = [:]) -> [ConfigProblem] {
        switch load(yaml, env: env) {
        case .success: return []
        case .failure(let e): return e.problems
        }
    }

    @Test func developmentDefaultsFollowTheMigrationGuide() throws {
        let c = try load("environment: development\n").get()
        #expect(c.postgres?.connection.host == "localhost" && c.postgres?.connection.database == "what_if_users")
        #expect(c.postgres?.connection.sslMode == .prefer)
        #expect(
            c.dynamodb?.table == "what-if-generator-scenarios-development"
                && c.dynamodb?.endpoint == "http://localhost:8000")
        #expect(c.redis?.url == "redis://localhost:6379/0")
        #expect(c.socket.path == "/run/whatif/agent.sock" && c.socket.mode == 0o666)
        #expect(c.status.timeout == 3)
    }

    /// A duration over its limit is refused naming the limit as the config writes durations.
    @Test func aDurationOverItsLimitNamesTheLimitInTheConfigsUnits() {
        let p = problems("environment: development\naws:\n  timeout: 11m\n")
        #expect(
            p.count == 1 && p[0].line == 3 && p[0].message.contains("aws.timeout")
                && p[0].message.contains("(at most 10m), not '11m'"), "\(p)")
    }

    @Test func productionDefaultsToVerifiedTLSAndAWS() throws {
        let secret = try dir.write("pg-password", "pw\n", mode: 0o640)
        let ca = try dir.write("rds-ca.pem", "-----BEGIN CERTIFICATE-----\n")
        let c = try load(
            """
            environment: production
            postgres:
              host: db.abc.us-east-1.rds.amazonaws.com
              password_file: \(secret)
              sslrootcert: \(ca)
            redis:
              url: rediss://master.cache.use1.cache.amazonaws.com:6379
            """
        ).get()
        #expect(c.postgres?.connection.sslMode == .verifyFull && c.postgres?.connection.password == "pw")
        #expect(c.dynamodb?.endpoint == nil && c.dynamodb?.table == "what-if-generator-scenarios-production")
        // The RDS instance and the replication group are read off the endpoints for the status view.
        #expect(c.rds?.instanceId == "db")
        #expect(c.elasticache?.replicationGroupId == "cache")
    }

    @Test func awsResourceNamesFromEndpoints() throws {
        #expect(
            ConfigLoader.rdsInstanceID(fromHost: "what-if-db.abc123xyz.us-east-1.rds.amazonaws.com") == "what-if-db")
        #expect(ConfigLoader.rdsInstanceID(fromHost: "localhost") == nil)
        let master = try RedisEndpoint.parse("rediss://master.what-if-cache.abc123.use1.cache.amazonaws.com:6379")
        #expect(ConfigLoader.replicationGroupID(fromEndpoint: master) == "what-if-cache")
        let node = try RedisEndpoint.parse("rediss://what-if-cache.abc123.ng.0001.use1.cache.amazonaws.com:6379")
        #expect(ConfigLoader.replicationGroupID(fromEndpoint: node) == "what-if-cache")
        #expect(ConfigLoader.replicationGroupID(fromEndpoint: try RedisEndpoint.parse("redis://localhost")) == nil)
    }

    @Test func theGuidesEnvironmentVariablesOverrideTheFile() throws {
        let c = try load(
            "environment: development\npostgres:\n  host: filehost\n  port: 1111\n",
            env: [
                "RDS_POSTGRES_HOST": "envhost", "RDS_POSTGRES_PORT": "6543", "RDS_POSTGRES_DB": "envdb",
                "RDS_POSTGRES_USER": "envuser",
                "RDS_POSTGRES_PASSWORD": "envpw",
            ]
        ).get()
        let p = try #require(c.postgres)
        #expect(p.connection.host == "envhost" && p.connection.port == 6543 && p.connection.database == "envdb")
        #expect(
            p.connection.user == "envuser" && p.connection.password == "envpw"
                && p.passwordSource == "RDS_POSTGRES_PASSWORD")
    }

    @Test func relativePathsAreRelativeToTheFile() throws {
        let c = try load("environment: development\nstate_dir: ./state\nsocket:\n  path: ../run/agent.sock\n").get()
        #expect(c.stateDirectory == dir.path + "/state")
        #expect(c.socket.path == (dir.path as NSString).deletingLastPathComponent + "/run/agent.sock")
    }

    // MARK: One test per kind of problem: file:line, what is wrong, how to fix.

    @Test func unknownKeysAreNamedWithASuggestion() {
        let p = problems("environment: development\npostgres:\n  hots: x\n")
        #expect(p.count == 1)
        #expect(p[0].description == "\(dir.path)/agent.yaml:3: unknown key 'postgres.hots'; did you mean 'host'?")
    }

    @Test func wrongTypes() {
        let p = problems("environment: development\npostgres:\n  port: abc\nsocket:\n  max_connections: [1]\n")
        #expect(p.count == 2)
        #expect(p.contains { $0.line == 3 && $0.message.contains("postgres.port must be a whole number") })
        #expect(
            p.contains {
                $0.line == 5 && $0.message.contains("socket.max_connections must be a whole number, not a list")
            })
    }

    @Test func badChoicesAndDurations() {
        let p = problems("environment: staging\nstatus:\n  timeout: soon\nlog:\n  level: loud\n")
        #expect(p.count == 3)
        #expect(p.contains { $0.line == 1 && $0.message.contains("development, test, production") })
        #expect(p.contains { $0.line == 3 && $0.message.contains("duration") })
        #expect(p.contains { $0.line == 5 && $0.hint.contains("pick one") })
    }

    @Test func yamlSyntaxErrorsGiveTheLine() {
        let p = problems("environment: development\npostgres:\n  host: [unclosed\n  port: 1\n")
        #expect(p.count == 1)
        #expect(p[0].message.hasPrefix("YAML syntax error") && p[0].line != nil)
    }

    @Test func duplicateKeys() {
        let p = problems("environment: development\nregion: us-east-1\nregion: eu-west-1\n")
        #expect(p.contains { $0.line == 3 && $0.message.contains("duplicate key 'region'") })
    }

    @Test func missingSecretsInProduction() {
        let p = problems(
            "environment: production\npostgres:\n  host: db\n  sslrootcert: /etc/hostname\nredis:\n  url: rediss://c:6379\n"
        )
        #expect(p.count == 1)
        #expect(p[0].message.contains("no PostgreSQL password") && p[0].hint.contains("password_file"))
    }

    @Test func secretFilesReadableByOthersAreRefused() throws {
        let secret = try dir.write("pw", "x\n", mode: 0o644)
        let p = problems("environment: development\npostgres:\n  password_file: \(secret)\n")
        #expect(p.count == 1)
        #expect(p[0].line == 3 && p[0].message.contains("readable by others") && p[0].hint.contains("chmod o-rwx"))
    }

    @Test func unreadableAndMissingFiles() throws {
        let p = problems(
            "environment: development\npostgres:\n  password_file: \(dir.path)/nope\n  sslrootcert: \(dir.path)/no-ca.pem\nredis:\n  ca_file: \(dir.path)/no-redis-ca.pem\n"
        )
        #expect(p.count == 3)
        #expect(p.contains { $0.line == 3 && $0.message.contains("does not exist") })
        #expect(p.contains { $0.line == 4 && $0.message.contains("cannot be read") })
        #expect(p.contains { $0.line == 6 && $0.message.contains("cannot be read") })
        switch ConfigLoader.load(path: "\(dir.path)/missing.yaml", environment: [:]) {
        case .success: Issue.record("expected a failure")
        case .failure(let e): #expect(e.problems.first?.hint.contains("--config") == true)
        }
    }

    @Test func productionRefusesUnverifiedTLSAndPlaintextRedis() {
        let p = problems(
            "environment: test\npostgres:\n  host: db\n  sslmode: require\n  password_file: /etc/hostname\nredis:\n  url: redis://c:6379\n"
        )
        #expect(p.contains { $0.line == 4 && $0.message.contains("would not be checked") })
        #expect(p.contains { $0.line == 7 && $0.message.contains("no TLS") })
        #expect(p.contains { $0.message.contains("readable by others") || $0.message.contains("sslrootcert") })
    }

    @Test func secretsInURLsAndBadEnvironmentVariables() {
        let p = problems(
            "environment: development\nredis:\n  url: redis://u:hunter2@h:6379\n", env: ["RDS_POSTGRES_PORT": "http"])
        #expect(p.contains { $0.line == 3 && $0.message.contains("contains a password") })
        #expect(
            p.contains { $0.location == "env:RDS_POSTGRES_PORT" && $0.description.hasPrefix("env:RDS_POSTGRES_PORT: ") }
        )
    }

    @Test func missingGroupsWhenNamed() {
        let p = problems("environment: development\nsocket:\n  admin_group: no-such-group-whatif\n")
        #expect(p.count == 1 && p[0].line == 3 && p[0].hint.contains("groupadd"))
    }

    @Test func everyProblemIsReportedAtOnce() {
        let p = problems("environment: nope\nfoo: 1\npostgres:\n  port: x\nredis:\n  url: ftp://x\n")
        #expect(p.count == 4)
        #expect(p.allSatisfy { $0.description.contains("agent.yaml:") && $0.description.contains("; ") })
    }

    @Test func theShippedDevelopmentConfigIsValid() throws {
        // Its secrets come from the local stack; only the file's own structure is checked here.
        let text = try String(contentsOfFile: "\(TestPaths.repository)/etc/whatif/agent.dev.yaml", encoding: .utf8)
        let p = ConfigLoader.parse(
            text: text, path: "\(TestPaths.repository)/etc/whatif/agent.dev.yaml", environment: [:])
        if case .failure(let e) = p {
            #expect(
                e.problems.allSatisfy { $0.message.contains("secret file") || $0.message.contains("cannot be read") },
                "\(e)")
        }
    }
}

/// `config show`: every setting the file makes appears, and each says where it came from.
@Suite struct ConfigViewTests {
    let dir = TempDir("whatif-config-view")

    func report(_ yaml: String, env: [String: String] = [:]) throws -> (AgentConfig, ConfigReport) {
        let path = try dir.write("agent.yaml", yaml)
        let c = try ConfigLoader.load(path: path, environment: env).get()
        return (c, ConfigView.report(c))
    }

    @Test func sourcesAreFileEnvironmentDefaultOrDerived() throws {
        let pw = try dir.write("pg.pass", "file-secret\n", mode: 0o600)
        let (_, r) = try report(
            """
            environment: development
            postgres:
              host: filehost
              port: 6000
              password_file: \(pw)
            status:
              timeout: 2s
            backups:
              retention:
                keep_last: 3
                dynamodb:
                  daily: 2
            """,
            env: [
                "RDS_POSTGRES_HOST": "envhost", "RDS_POSTGRES_PASSWORD": "env-secret", "AWS_REGION": "eu-west-1",
                "STATE_DIRECTORY": "/var/lib/whatif-env", "RUNTIME_DIRECTORY": "/run/whatif-env",
            ])
        #expect(r.sources["postgres.host"] == "env RDS_POSTGRES_HOST", "the guide's variables win over the file")
        #expect(r.settings["postgres"]?["host"]?.stringValue == "envhost")
        #expect(r.sources["postgres.port"] == "file" && r.sources["postgres.database"] == "default")
        #expect(r.sources["postgres.password"] == "env RDS_POSTGRES_PASSWORD")
        #expect(r.settings["postgres"]?["password"]?.stringValue == "<redacted>")
        #expect(r.sources["region"] == "env AWS_REGION" && r.sources["state_dir"] == "env STATE_DIRECTORY")
        #expect(r.sources["socket.path"] == "env RUNTIME_DIRECTORY")
        #expect(r.settings["socket"]?["path"]?.stringValue == "/run/whatif-env/agent.sock")
        #expect(r.sources["status.timeout"] == "file" && r.sources["status.max_age"] == "default")
        #expect(r.settings["status"]?["timeout"]?.stringValue == "2s", "durations as the file writes them")
        #expect(r.sources["backups.retention.dynamodb.daily"] == "file")
        #expect(r.sources["backups.retention.postgres.keep_last"] == "file (backups.retention.keep_last)")
        #expect(r.sources["backups.location"] == "derived from state_dir")
        let text = String(decoding: try APICoding.encode(r), as: UTF8.self)
        #expect(!text.contains("env-secret") && !text.contains("file-secret"))

        // Where the file sets them, the systemd directories and the region stand back; the guide's
        // variables do not.
        let (_, f) = try report(
            "environment: development\nregion: us-west-2\nstate_dir: /srv/whatif\n",
            env: ["AWS_REGION": "eu-west-1", "STATE_DIRECTORY": "/var/lib/x"])
        #expect(f.sources["region"] == "file" && f.settings["region"]?.stringValue == "us-west-2")
        #expect(f.sources["state_dir"] == "file")
        #expect(f.sources["rds.instance_id"] == nil, "no RDS in development")
    }

    /// Complete: every key a full file sets is in the view with a source (lists count whole), and the
    /// sections the old view left out (backups, retention, maintenance, migration) are there.
    @Test func everyKeyTheFileSetsIsShown() throws {
        let text = try String(contentsOfFile: "\(TestPaths.repository)/etc/whatif/agent.dev.yaml", encoding: .utf8)
        let path = try dir.write("agent.yaml", text)
        // Its secret files come from the local stack; give them here.
        let c: AgentConfig
        switch ConfigLoader.load(path: path, environment: [:]) {
        case .success(let loaded): c = loaded
        case .failure:
            let s = try dir.write("secret", "x\n", mode: 0o600)
            var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            for i in lines.indices where lines[i].contains("password_file:") || lines[i].contains("credentials_file:") {
                let indent = lines[i].prefix { $0 == " " }
                let key = lines[i].trimmingCharacters(in: .whitespaces).split(separator: ":")[0]
                lines[i] = "\(indent)\(key): \(s)"
            }
            c = try ConfigLoader.load(
                path: try dir.write("agent.yaml", lines.joined(separator: "\n")), environment: [:]
            )
            .get()
        }
        let r = ConfigView.report(c)
        let listed = c.listKeys
        for key in c.fileKeys where !listed.contains(where: { key.hasPrefix($0 + ".") }) {
            // A section is shown through its keys; redis's password file as its redacted password.
            let shown =
                r.sources[key] != nil || r.sources.keys.contains { $0.hasPrefix(key + ".") }
                || (key == "redis.password_file" && r.sources["redis.password"] != nil)
                // A retention given for every kind shows under each kind, naming where it came from.
                || r.sources.values.contains("file (\(key))")
            #expect(shown, "\(key) is set in the file but not shown")
            if let s = r.sources[key] { #expect(s == "file", "\(key): \(s)") }
        }
        for section in ["backups", "maintenance", "metrics", "expiry", "socket", "status"] {
            #expect(r.settings[section] != nil, "\(section) missing")
        }
        #expect(r.settings["backups"]?["retention"]?["postgres"]?["daily"] != nil)
    }
}
