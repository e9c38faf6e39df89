import Foundation
import Testing
import WhatIfTesting

@testable import WhatIfAgent

@Suite struct MigrationConfigTests {
    let dir = TempDir("whatif-config")

    func load(_ yaml: String, env: [String: String] = [:]) -> Result<AgentConfig, ConfigError> {
        let path = try! dir.write("agent.yaml", "environment: development\n" + yaml)
        return ConfigLoader.load(path: path, environment: env)
    }

    @Test func targetIsRDSWithVerifyFullByDefault() throws {
        let ca = try dir.write("rds-ca.pem", "-----BEGIN CERTIFICATE-----\n")
        let secret = try dir.write("pw", "s3cret\n", mode: 0o600)
        let c = try load(
            """
            migration:
              postgres_target:
                host: users.abc.us-east-1.rds.amazonaws.com
                database: what_if_users
                user: whatif
                password_file: \(secret)
                sslrootcert: \(ca)
            """
        ).get()
        let t = try #require(c.postgresTarget)
        #expect(t.connection.sslMode == .verifyFull)
        #expect(t.connection.password == "s3cret")
        #expect(t.connection.host == "users.abc.us-east-1.rds.amazonaws.com")
        // The agent's own postgres keeps development's defaults.
        #expect(c.postgres?.connection.sslMode == .prefer)
    }

    /// RDS_POSTGRES_* override `postgres:` only: the target keeps its own host, database, user and password
    /// (they used to override the target too, making the source its own target).
    @Test func environmentOverridesApplyToTheSourceOnly() throws {
        let ca = try dir.write("rds-ca.pem", "-----BEGIN CERTIFICATE-----\n")
        let secret = try dir.write("pw", "target-pw\n", mode: 0o600)
        let env = [
            "RDS_POSTGRES_HOST": "source.example", "RDS_POSTGRES_DB": "srcdb", "RDS_POSTGRES_USER": "srcuser",
            "RDS_POSTGRES_PASSWORD": "src-pw", "RDS_POSTGRES_PORT": "6543",
        ]
        let c = try load(
            """
            postgres:
              host: localhost
            migration:
              postgres_target:
                host: users.abc.us-east-1.rds.amazonaws.com
                database: what_if_users
                user: whatif
                password_file: \(secret)
                sslrootcert: \(ca)
            """, env: env
        ).get()
        let s = try #require(c.postgres?.connection)
        #expect(s.host == "source.example" && s.database == "srcdb" && s.user == "srcuser" && s.port == 6543)
        #expect(s.password == "src-pw")
        let t = try #require(c.postgresTarget)
        #expect(t.connection.host == "users.abc.us-east-1.rds.amazonaws.com" && t.connection.port == 5432)
        #expect(t.connection.database == "what_if_users" && t.connection.user == "whatif")
        #expect(t.connection.password == "target-pw")
        #expect(t.passwordSource.hasPrefix("migration.postgres_target.password_file"))
        // A target without a host is refused even when RDS_POSTGRES_HOST is set.
        guard case .failure(let e) = load("migration:\n  postgres_target:\n    database: x\n", env: env) else {
            Issue.record("a target without a host was accepted")
            return
        }
        #expect(e.problems.contains { $0.message.contains("migration.postgres_target.host is not set") })
    }

    @Test func aTargetWithoutHostPasswordOrCAIsRefusedWithThePlace() throws {
        guard case .failure(let e) = load("migration:\n  postgres_target:\n    database: x\n") else {
            Issue.record("accepted")
            return
        }
        let p = e.problems.map(\.description)
        #expect(p.contains { $0.contains("migration.postgres_target.host is not set") }, "\(p)")
        #expect(p.contains { $0.contains("needs migration.postgres_target.sslrootcert") }, "\(p)")
        #expect(p.contains { $0.contains("no PostgreSQL password") }, "\(p)")
        #expect(p.allSatisfy { $0.contains("agent.yaml:") }, "\(p)")
        guard case .failure(let u) = load("migration:\n  target: {}\n") else {
            Issue.record("an unknown key was accepted")
            return
        }
        #expect(u.problems.map(\.description).contains { $0.contains("target") })
    }
}
