import Foundation
import Testing
import WhatIfAgentTesting
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
        let both = await eventually(timeout: 30) { server.requests.value.count >= 2 }
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

    /// The hooks are a service of their own: with `metrics: enabled: false` job outcomes still reach
    /// them (they used to live inside monitoring, and went silent with it), and a reload that changes
    /// them takes effect.
    @Test func hooksRunWithMetricsOff() async throws {
        let server = try TinyHTTPServer { _ in .text(200, "ok") }
        defer { server.stop() }
        var config = TestConfig()
        config.metrics = "  enabled: false\n"
        config.hooks = "  webhooks:\n    - url: \(server.url)/first\n"
        let a = try await InProcessAgent(config)
        defer { Task { await a.stop() } }
        #expect(a.daemon.core.monitoring == nil)
        let client = a.client
        _ = try await offPool { try client.startJob(kind: "test.fail") }
        #expect(await eventually(timeout: 15) { server.requests.value.count >= 1 })
        #expect(server.requests.value.first?.target == "/first")
        let firstBody = String(decoding: server.requests.value.first?.body ?? [], as: UTF8.self)
        #expect(firstBody.contains("test.fail"))

        config.hooks = "  webhooks:\n    - url: \(server.url)/second\n"
        try config.render(socket: a.socket, stateDir: a.dir.file("state")).write(
            toFile: a.configPath, atomically: true, encoding: .utf8)
        #expect(await a.daemon.core.reload().reloaded)
        _ = try await offPool { try client.startJob(kind: "test.count", params: .object(["to": .number(1)])) }
        #expect(await eventually(timeout: 15) { server.requests.value.contains { $0.target == "/second" } })
    }
}
