import Foundation
import Testing
import WhatIfClient
import WhatIfProtocol
import WhatIfTesting

@testable import WhatIfAgent

/// Job outcomes reach the alert hooks: a failed job fires, a succeeded one resolves.
@Suite struct JobHookTests {
    @Test func jobOutcomesReachTheWebhook() async throws {
        let server = try TinyHTTPServer { _ in .text(200, "ok") }
        defer { server.stop() }
        var config = TestConfig()
        config.hooks = "  webhooks:\n    - url: \(server.url)/hook\n"
        let a = try await InProcessAgent(config)
        defer { Task { await a.stop() } }
        let client = a.client
        _ = try await offPool { try client.startJob(kind: "test.fail") }
        _ = try await offPool { try client.startJob(kind: "test.count", params: .object(["to": .number(1)])) }
        let both = await eventually(timeout: 15) { server.requests.value.count >= 2 }
        #expect(both)
        let bodies = server.requests.value.map {
            (try? JSONSerialization.jsonObject(with: Data($0.body))) as? [String: Any] ?? [:]
        }
        let alerts = bodies.compactMap { ($0["alerts"] as? [[String: Any]])?.first }
        let failed = alerts.first { ($0["labels"] as? [String: String])?["job_kind"] == "test.fail" }
        let succeeded = alerts.first { ($0["labels"] as? [String: String])?["job_kind"] == "test.count" }
        #expect(failed?["status"] as? String == "firing")
        #expect((failed?["labels"] as? [String: String])?["state"] == "failed")
        #expect((failed?["annotations"] as? [String: String])?["description"]?.contains("failed as asked") == true)
        #expect(succeeded?["status"] as? String == "resolved")
    }
}
