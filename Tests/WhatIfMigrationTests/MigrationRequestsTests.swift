import Testing
import WhatIfCore
import WhatIfMigration
import WhatIfProtocol

/// What the migration's jobs check before they start, and how a run that found differences fails.
@Suite struct MigrationRequestsTests {
    let s = MigrationRequests.Setting(configPath: "/etc/whatif/agent.yaml", environment: "test", table: "my-table")

    @Test func theAgentsOwnEnvironmentUsesTheConfiguredTableOthersTheGuidesName() throws {
        #expect(try MigrationRequests.table(nil, s) == "my-table")
        #expect(try MigrationRequests.table("test", s) == "my-table")
        #expect(try MigrationRequests.table("production", s) == "what-if-generator-scenarios-production")
    }

    @Test func anUnknownEnvironmentOrNoDynamoDBIsRefused() {
        #expect {
            try MigrationRequests.table("staging", s)
        } throws: { e in
            (e as! APIError).code == .unprocessable && (e as! APIError).message == "unknown environment 'staging'"
        }
        var none = s
        none.table = nil
        #expect {
            try MigrationRequests.table(nil, none)
        } throws: { e in
            (e as! APIError).code == .notConfigured
                && (e as! APIError).hint == "configure dynamodb: in /etc/whatif/agent.yaml"
        }
    }

    @Test func theDumpPathMustBeAbsoluteAndTheLimitsInRange() throws {
        #expect(try MigrationRequests.check(StartScenarioMigrationRequest(from: "/data/dump.bson"), s) == "my-table")
        for bad in [
            StartScenarioMigrationRequest(from: "dump.bson"),
            StartScenarioMigrationRequest(from: "/d", batchSize: 0),
            StartScenarioMigrationRequest(from: "/d", batchSize: 10_001),
            StartScenarioMigrationRequest(from: "/d", workers: 65),
        ] {
            #expect(throws: APIError.self) { try MigrationRequests.check(bad, s) }
        }
    }

    @Test func onlyTheConfiguredTableIsBackedUp() throws {
        try MigrationRequests.checkBackup(of: "my-table", s)
        #expect(throws: Failure.self) { try MigrationRequests.checkBackup(of: "other", s) }
    }

    @Test func aTableThatDiffersFailsTheJobWithTheReportKept() throws {
        func report(_ outcome: String, _ diffs: [String]) -> TablesReport {
            TablesReport(
                table: "my-table", region: "eu-west-1", outcome: outcome, differences: diffs, billingMode: nil,
                indexes: [], backupId: nil, seconds: 0)
        }
        #expect(try MigrationRequests.outcome(report("exists", []), table: "my-table", .init(), s).outcome == "exists")
        #expect {
            try MigrationRequests.outcome(
                report("differs", ["index userId-createdAt-index is missing"]), table: "my-table", .init(), s)
        } throws: { e in
            let f = e as! JobFailed
            return f.hint?.contains("whatifctl tables setup test --add-missing") == true && f.result != nil
        }
        #expect {
            try MigrationRequests.outcome(
                report("differs", ["key schema differs"]), table: "my-table", .init(environment: "production"), s)
        } throws: { e in (e as! JobFailed).hint?.contains("--force --yes") == true }
    }
}
