import Foundation
import Testing
import WhatIfAgentTesting
import WhatIfCore
import WhatIfProtocol
import WhatIfRedis
import WhatIfTesting

/// Redis backups of a private Redis 7: BGSAVE, the RDB copied and read back by redis-check-rdb, verify,
/// the drill loading it into a scratch redis-server, a maintenance window's backup:redis step.
@Suite(.serialized) struct RedisBackupTests {
    func seed(_ port: Int, keys: Int) throws {
        let conn = try RedisConnection(
            RedisConfig(endpoint: RedisEndpoint(transport: .tcp(host: "127.0.0.1", port: port)), timeout: 10))
        defer { conn.close() }
        _ = try conn.pipeline((0..<keys).map { ["SET", "scenario:\($0)", String(repeating: "x", count: $0 % 50)] })
        _ = try conn.command("HSET", "user:1", "name", "ada", "plan", "pro")
    }

    func config(_ stack: PrivateStack, _ location: TempDir, extra: String = "") -> TestConfig {
        var c = TestConfig()
        c.redis = "  url: redis://127.0.0.1:\(stack.info.redisPort)/0\n"
        c.backups = "  location: \(location.path)\n  redis:\n    enabled: true\n" + extra
        c.maintenance = """
              windows:
                - name: nightly
                  when: sun:05:00-sun:06:00
                  jobs: [backup:redis, restore-drill]

            """
        return c
    }

    @Test func bgsaveCopyVerifyAndDrill() throws {
        let stack = try Stack.startPrivate(["redis"])
        try seed(stack.info.redisPort, keys: 500)
        let location = TempDir("whatif-backups")
        let a = try AgentProcess(config(stack, location))
        let r = try a.ctl(["backup", "redis"])
        #expect(r.status == 0, "\(r.output)")
        let e = try #require(try a.client.backups().backups.first { $0.kind == .redis })
        // The count is what redis-check-rdb read from the copy.
        #expect(e.manifest.items == 501 && e.manifest.files.map(\.path) == ["dump.rdb"], "\(e.manifest)")
        #expect(e.manifest.method == "bgsave" && e.manifest.serverVersion?.hasPrefix("7.") == true)
        #expect(try a.ctl(["backups", "verify", e.id]).status == 0)
        let drill = try a.ctl(["maintenance", "drill", "--json"])
        #expect(drill.status == 0, "\(drill.output)")
        let result = try #require(try decodeJSON(JobInfo.self, drill).result(as: JobSpecs.RestoreDrill.self))
        let part = try #require(result.parts.first { $0.kind == .redis })
        #expect(part.ok && part.restored == 501 && part.expected == 501, "\(part)")
        let scratch = try FileManager.default.contentsOfDirectory(atPath: location.path).filter {
            $0.hasPrefix(".restore-")
        }
        #expect(scratch.isEmpty, "the drill's folder is removed: \(scratch)")

        // A damaged copy is found and named.
        let dump = "\(location.path)/redis/\(e.id)/dump.rdb"
        var bytes = try Data(contentsOf: URL(fileURLWithPath: dump))
        bytes[bytes.count / 2] ^= 0xFF
        try bytes.write(to: URL(fileURLWithPath: dump))
        let v = try a.ctl(["backups", "verify", e.id])
        #expect(v.status == 1 && v.output.contains("dump.rdb"), "\(v.output)")
    }

    @Test func anRDBTheAgentCannotReadIsNamed() throws {
        let stack = try Stack.startPrivate(["redis"])
        let location = TempDir("whatif-backups")
        let a = try AgentProcess(config(stack, location, extra: "    rdb_path: /nonexistent/dump.rdb\n"))
        let r = try a.ctl(["backup", "redis"])
        #expect(r.status == 1)
        #expect(
            r.output.contains("cannot read Redis's RDB /nonexistent/dump.rdb") && r.output.contains("rdb_path"),
            "\(r.output)")
        #expect(try a.client.backups().backups.isEmpty)
    }

    @Test func notConfiguredUnlessAsked() throws {
        let stack = try Stack.startPrivate(["redis"])
        var c = config(stack, TempDir("whatif-backups"))
        c.backups = "  location: \(TempDir().path)\n"
        c.maintenance = nil
        let a = try AgentProcess(c)
        let r = try a.ctl(["backup", "redis"])
        #expect(r.status == 78 && r.output.contains("configure redis: and backups.redis"), "\(r.output)")
    }
}
