import Foundation

/// Connection details of a stack started by `scripts/stack` (its `stack.env`).
package struct StackInfo: Sendable {
    package var directory: String
    package var pgHost: String
    package var pgPort: Int
    package var pgSocketDirectory: String
    package var pgPasswordFile: String
    package var redisPort: Int
    package var motoEndpoint: String
    package var motoPort: Int
    package var awsCredentialsFile: String
    package var awsProfile: String
    /// The first of a Redis Cluster's six ports (`--only redis-cluster`).
    package var redisClusterBase: Int = 0
    /// The streaming replica's port (`--only pg-replica`).
    package var pgReplicaPort: Int = 0

    package var pgPassword: String {
        ((try? String(contentsOfFile: pgPasswordFile, encoding: .utf8)) ?? "").trimmingCharacters(
            in: .whitespacesAndNewlines)
    }

    /// The access key pair of moto's IAM user.
    package var awsKeys: (id: String, secret: String) {
        let text = (try? String(contentsOfFile: awsCredentialsFile, encoding: .utf8)) ?? ""
        var id = ""
        var secret = ""
        for line in text.split(separator: "\n") {
            let kv = line.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if kv.count == 2, kv[0] == "aws_access_key_id" { id = kv[1] }
            if kv.count == 2, kv[0] == "aws_secret_access_key" { secret = kv[1] }
        }
        return (id, secret)
    }

    static func load(_ dir: String) throws -> StackInfo {
        let path = "\(dir)/stack.env"
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw TestFailure(
                "no stack at \(dir): start it with `scripts/stack start` (the README's test command does)")
        }
        var env: [String: String] = [:]
        for line in text.split(separator: "\n") {
            if let eq = line.firstIndex(of: "=") { env[String(line[..<eq])] = String(line[line.index(after: eq)...]) }
        }
        func v(_ k: String) -> String { env[k] ?? "" }
        var info = StackInfo(
            directory: dir, pgHost: v("WHATIF_PG_HOST"), pgPort: Int(v("WHATIF_PG_PORT")) ?? 0,
            pgSocketDirectory: v("WHATIF_PG_SOCKET_DIR"),
            pgPasswordFile: v("WHATIF_PG_PASSWORD_FILE"), redisPort: Int(v("WHATIF_REDIS_PORT")) ?? 0,
            motoEndpoint: v("WHATIF_MOTO_ENDPOINT"),
            motoPort: Int(v("WHATIF_MOTO_PORT")) ?? 0, awsCredentialsFile: v("WHATIF_AWS_CREDENTIALS_FILE"),
            awsProfile: v("WHATIF_AWS_PROFILE"))
        info.redisClusterBase = Int(v("WHATIF_REDIS_CLUSTER_BASE")) ?? 0
        info.pgReplicaPort = Int(v("WHATIF_PG_REPLICA_PORT")) ?? 0
        return info
    }
}

/// The shared stack (`scripts/stack start`, or WHATIF_STACK_DIR), and private ones for tests that stop
/// services.
package enum Stack {
    package static func shared() throws -> StackInfo {
        let dir = ProcessInfo.processInfo.environment["WHATIF_STACK_DIR"] ?? "\(TestPaths.repository)/.stack"
        return try StackInfo.load(dir)
    }

    /// Starts the named services (`pg`, `redis`, `moto`, `redis-cluster`) on free ports in a temporary
    /// folder.
    package static func startPrivate(_ services: [String]) throws -> PrivateStack {
        try PrivateStack(services: services)
    }
}

package final class PrivateStack: @unchecked Sendable {
    package let info: StackInfo
    let dir: TempDir
    let services: [String]

    init(services: [String]) throws {
        dir = TempDir("whatif-stack")
        self.services = services
        let r = try Run.command(
            [
                "\(TestPaths.repository)/scripts/stack", "start", "--dir", dir.path, "--only",
                services.joined(separator: ","),
                "--pg-port", String(freePort()), "--redis-port", String(freePort()), "--moto-port", String(freePort()),
            ], timeout: 180)
        guard r.status == 0 else { throw TestFailure("private stack did not start: \(r.output)") }
        info = try StackInfo.load(dir.path)
    }

    package func stop(_ service: String) throws {
        let r = try Run.command(
            ["\(TestPaths.repository)/scripts/stack", "stop", "--dir", dir.path, "--only", service], timeout: 60)
        guard r.status == 0 else { throw TestFailure("could not stop \(service): \(r.output)") }
    }

    package func start(_ service: String) throws {
        let r = try Run.command(
            [
                "\(TestPaths.repository)/scripts/stack", "start", "--dir", dir.path, "--only", service, "--pg-port",
                String(info.pgPort),
                "--redis-port", String(info.redisPort), "--moto-port", String(info.motoPort),
            ], timeout: 180)
        guard r.status == 0 else { throw TestFailure("could not start \(service): \(r.output)") }
    }

    deinit {
        _ = try? Run.command(
            [
                "\(TestPaths.repository)/scripts/stack", "stop", "--dir", dir.path, "--only",
                services.joined(separator: ","),
            ], timeout: 60)
    }
}
