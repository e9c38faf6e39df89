import Foundation
import Testing
import WhatIfAgent
import WhatIfAgentTesting
import WhatIfClient
import WhatIfProtocol
import WhatIfTesting

@Suite struct StatusTests {
    let stack: StackInfo
    init() throws { stack = try Stack.shared() }

    func seedTable(_ name: String) throws {
        let r = try Run.command(
            [
                "python3", "-c",
                """
                import boto3, os
                os.environ["AWS_SHARED_CREDENTIALS_FILE"] = "\(stack.awsCredentialsFile)"
                c = boto3.Session(profile_name="\(stack.awsProfile)").client("dynamodb", endpoint_url="\(stack.motoEndpoint)", region_name="us-east-1")
                if "\(name)" not in c.list_tables()["TableNames"]:
                    c.create_table(TableName="\(name)", BillingMode="PAY_PER_REQUEST",
                      AttributeDefinitions=[{"AttributeName": "scenarioId", "AttributeType": "S"}, {"AttributeName": "userId", "AttributeType": "S"}, {"AttributeName": "createdAt", "AttributeType": "S"}],
                      KeySchema=[{"AttributeName": "scenarioId", "KeyType": "HASH"}],
                      GlobalSecondaryIndexes=[{"IndexName": "userId-createdAt-index", "KeySchema": [{"AttributeName": "userId", "KeyType": "HASH"}, {"AttributeName": "createdAt", "KeyType": "RANGE"}], "Projection": {"ProjectionType": "ALL"}}])
                    for i in range(7):
                        c.put_item(TableName="\(name)", Item={"scenarioId": {"S": f"s{i}"}, "userId": {"S": "u"}, "createdAt": {"S": "2026-01-01T00:00:00.000Z"}})
                """,
            ])
        try #require(r.status == 0, "\(r.output)")
    }

    @Test func allThreeServices() async throws {
        let table = "whatif-status-\(UUID().uuidString.prefix(6).lowercased())"
        try await offPool { [self] in try seedTable(table) }
        let a = try await InProcessAgent(TestConfig.forStack(stack, table: table))
        defer { Task { await a.stop() } }
        let r = try await a.call { try $0.status(fresh: true) }
        #expect(r.services.map(\.service) == [.postgres, .redis, .dynamodb])
        #expect(r.allReachable, "\(r.services.map { "\($0.service): \($0.error ?? "ok")" })")
        let pg = try #require(r.services[0].postgres)
        #expect(pg.serverVersion.hasPrefix("15.") && pg.maxConnections > 0 && pg.connections >= 1 && !pg.sslInUse)
        let redis = try #require(r.services[1].redis)
        #expect(
            r.services[1].version?.hasPrefix("7.") == true && redis.role == "master" && !redis.tlsInUse
                && redis.maxMemoryPolicy != "unknown")
        let d = try #require(r.services[2].dynamodb)
        #expect(
            d.table == table && d.tableStatus == "ACTIVE" && d.itemCount == 7
                && d.indexes.map(\.name) == ["userId-createdAt-index"])
        #expect(r.services.allSatisfy { ($0.rttMs ?? -1) >= 0 })
        #expect(r.agent.version == WhatIfVersion.string && r.agent.environment == "development")
    }

    @Test func aServiceDownIsReportedAndTheOthersStillAnswer() async throws {
        var config = TestConfig.forStack(stack)
        config.postgres = config.postgres!.replacingOccurrences(
            of: "port: \(stack.pgPort)", with: "port: \(freePort())")
        let a = try await InProcessAgent(config)
        defer { Task { await a.stop() } }
        let r = try await a.call { try $0.status(fresh: true) }
        let pg = try #require(r.services.first { $0.service == .postgres })
        #expect(
            pg.health == .down && !pg.reachable && pg.error?.contains("refused") == true
                && pg.hint?.contains("running") == true)
        #expect(r.services.first { $0.service == .redis }?.health == .ok)
        // The table does not exist here: DynamoDB answers, with the error and the fix.
        let d = try #require(r.services.first { $0.service == .dynamodb })
        #expect(d.error?.contains("ResourceNotFoundException") == true || d.health == .ok)
    }

    /// Against a whatifd process of its own, so the bound measured is the agent's: inside this test
    /// process the agent's timers share Swift's cooperative threads (two on a two-core machine) with
    /// every suite of this pass, and one CI run saw 8.3 s there.
    @Test func aHangingServiceIsBoundedByTheTimeout() async throws {
        let silent = SilentListener()
        var config = TestConfig.forStack(stack)
        config.status = "  timeout: 700ms\n  max_age: 1s\n"
        // Redis's own timeout is 30 s: only the status timeout can cut the answer short.
        config.redis = "  url: redis://127.0.0.1:\(silent.port)/0\n  timeout: 30s\n"
        let settings = config
        let a = try await offPool { try AgentProcess(settings) }
        let client = a.client
        // Timed on the thread that makes the call: the test's cooperative threads (busy with other
        // suites' blocking tests) would add their own delay to resuming this task.
        let (r, elapsed) = try await offPool { () throws -> (StatusReport, Double) in
            let started = Date()
            let r = try client.status(fresh: true)
            return (r, Date().timeIntervalSince(started))
        }
        #expect(elapsed < 5, "status took \(elapsed) s with a 700 ms timeout and a 30 s Redis timeout")
        let redis = try #require(r.services.first { $0.service == .redis })
        #expect(redis.health == .timeout && redis.error != nil)
        #expect(r.services.first { $0.service == .postgres }?.health == .ok)
    }

    @Test func reportsAreCachedForMaxAgeAndFreshBypassesTheCache() async throws {
        var config = TestConfig.forStack(stack)
        config.status = "  timeout: 3s\n  max_age: 30s\n"
        config.dynamodb = nil
        let a = try await InProcessAgent(config)
        defer { Task { await a.stop() } }
        let first = try await a.call { try $0.status() }
        let second = try await a.call { try $0.status() }
        #expect(first.checkedAt == second.checkedAt)
        let fresh = try await a.call { try $0.status(fresh: true) }
        #expect(fresh.checkedAt > first.checkedAt)
    }
}
