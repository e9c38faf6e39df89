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
