import Testing
import WhatIfBackup
import WhatIfProtocol

/// What backup jobs lock and refuse before they start, from the configured targets alone.
@Suite struct BackupTargetsTests {
    let both = BackupTargets(postgresDatabase: "app", dynamoTable: "scenarios", configPath: "/etc/whatif/agent.yaml")
    let pgOnly = BackupTargets(postgresDatabase: "app", dynamoTable: nil, configPath: "/etc/whatif/agent.yaml")
    let none = BackupTargets(postgresDatabase: nil, dynamoTable: nil, configPath: "/etc/whatif/agent.yaml")

    @Test func noKindsAskedMeansEveryConfiguredOneInOrder() throws {
        #expect(try both.kinds([]) == [.postgres, .dynamodb])
        #expect(try pgOnly.kinds([]) == [.postgres])
    }

    @Test func askedKindsAreTakenOnceEachInTheOrderAsked() throws {
        #expect(try both.kinds([.dynamodb, .postgres, .dynamodb]) == [.dynamodb, .postgres])
    }

    @Test func anUnconfiguredKindIsRefusedNamingItAndTheFile() {
        #expect {
            try pgOnly.kinds([.postgres, .dynamodb])
        } throws: { e in
            let e = e as! APIError
            return e.code == .notConfigured && e.message.contains("dynamodb is not configured")
                && e.hint == "configure dynamodb: in /etc/whatif/agent.yaml"
        }
    }

    @Test func nothingConfiguredIsRefusedInTheJobsOwnWords() {
        #expect {
            try none.kinds([], what: "drill")
        } throws: { e in
            (e as! APIError).message == "nothing to drill: neither postgres, dynamodb nor backups.redis is configured"
        }
    }

    @Test func resourcesNameTheConfiguredDatabaseAndTable() {
        #expect(both.resource(.postgres) == .postgres(database: "app"))
        #expect(both.resource(.dynamodb) == .dynamodb(table: "scenarios"))
    }

    @Test func aRestoreLocksItsTargetAndTheBackupItReads() throws {
        let id = BackupID.make(kind: .postgres)
        let r = try BackupTargets.resources(of: RestoreRequest(kind: .postgres, id: id, targetDatabase: "copy"))
        #expect(r == [.postgres(database: "copy"), .backup(id: id)])
        let d = BackupID.make(kind: .dynamodb)
        #expect(
            try BackupTargets.resources(of: RestoreRequest(kind: .dynamodb, id: d, targetTable: "t2"))
                == [.dynamodb(table: "t2"), .backup(id: d)])
    }

    @Test func aRestoreWithoutATargetOrWithABadIdIsRefused() {
        let id = BackupID.make(kind: .dynamodb)
        #expect {
            try BackupTargets.resources(of: RestoreRequest(kind: .dynamodb, id: id, targetTable: ""))
        } throws: { e in
            let e = e as! APIError
            return e.code == .unprocessable && e.message == "restore dynamodb needs a target table"
                && e.hint == "--target-table NAME"
        }
        #expect {
            try BackupTargets.resources(of: RestoreRequest(kind: .postgres, id: "../etc", targetDatabase: "x"))
        } throws: { e in (e as! APIError).code == .notFound }
    }
}
