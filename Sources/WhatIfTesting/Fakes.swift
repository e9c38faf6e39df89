import Foundation
import WhatIfCore

/// A fake EC2 instance metadata service, version 2 only: a PUT /latest/api/token gives a session token;
/// every GET without a valid token gets 401, as IMDSv2 with HttpTokens=required answers.
package final class FakeIMDS: @unchecked Sendable {
    package let server: TinyHTTPServer
    package let role: String
    package let tokens = Locked<Set<String>>([])

    package init(
        role: String = "whatif-agent-role", accessKeyId: String, secretAccessKey: String, sessionToken: String,
        expiration: Date
    ) throws {
        self.role = role
        let tokens = self.tokens
        let expires = ISO8601DateFormatter().string(from: expiration)
        server = try TinyHTTPServer { req in
            if req.method == "PUT", req.target == "/latest/api/token" {
                guard let ttl = req.header("x-aws-ec2-metadata-token-ttl-seconds"), let t = Int(ttl),
                    (1...21600).contains(t)
                else {
                    return .text(400, "missing or bad X-aws-ec2-metadata-token-ttl-seconds")
                }
                let token = UUID().uuidString
                tokens.withLock { _ = $0.insert(token) }
                return .text(200, token)
            }
            guard req.method == "GET", let token = req.header("x-aws-ec2-metadata-token"), tokens.value.contains(token)
            else {
                return .text(401, "Unauthorized")
            }
            switch req.target {
            case "/latest/meta-data/iam/security-credentials/", "/latest/meta-data/iam/security-credentials":
                return .text(200, role)
            case "/latest/meta-data/iam/security-credentials/\(role)":
                return .text(
                    200,
                    """
                    {"Code":"Success","LastUpdated":"2026-11-24T00:00:00Z","Type":"AWS-HMAC","AccessKeyId":"\(accessKeyId)",\
                    "SecretAccessKey":"\(secretAccessKey)","Token":"\(sessionToken)","Expiration":"\(expires)"}
                    """, contentType: "application/json")
            case "/latest/meta-data/placement/region":
                return .text(200, "us-east-1")
            default:
                return .text(404, "Not Found")
            }
        }
    }

    package var endpoint: String { server.url }

    /// Forgets every session token (as if they had expired).
    package func expireTokens() { tokens.set([]) }
}

/// A certificate authority made with the openssl command, and server certificates it signs.
package final class TestCA: @unchecked Sendable {
    package let dir: TempDir
    package var caCert: String { dir.file("ca.pem") }

    package init(name: String = "whatif test CA") throws {
        dir = TempDir("whatif-ca")
        let r = try Run.command([
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=\(name)",
            "-keyout", dir.file("ca.key"), "-out", dir.file("ca.pem"),
        ])
        guard r.status == 0 else { throw TestFailure("openssl CA: \(r.output)") }
    }

    /// A key and a certificate for `names` (DNS names or IP addresses), signed by this CA.
    package func issue(_ base: String, names: [String]) throws -> (cert: String, key: String) {
        let san = names.map { $0.allSatisfy { $0.isNumber || $0 == "." } ? "IP:\($0)" : "DNS:\($0)" }.joined(
            separator: ",")
        try dir.write(
            "\(base).ext",
            "subjectAltName=\(san)\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n"
        )
        let steps: [[String]] = [
            [
                "openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=\(names[0])", "-keyout",
                dir.file("\(base).key"), "-out", dir.file("\(base).csr"),
            ],
            [
                "openssl", "x509", "-req", "-in", dir.file("\(base).csr"), "-CA", caCert, "-CAkey", dir.file("ca.key"),
                "-CAcreateserial",
                "-days", "2", "-extfile", dir.file("\(base).ext"), "-out", dir.file("\(base).pem"),
            ],
        ]
        for s in steps {
            let r = try Run.command(s)
            guard r.status == 0 else { throw TestFailure("openssl: \(r.output)") }
        }
        chmod(dir.file("\(base).key"), 0o644)
        return (dir.file("\(base).pem"), dir.file("\(base).key"))
    }
}

/// A private redis-server, optionally with TLS (`--tls-port`) and a Unix socket.
package final class RedisServer: @unchecked Sendable {
    package let dir: TempDir
    package let port: Int
    package let tlsPort: Int?
    package var unixSocket: String { dir.file("redis.sock") }
    let process: BackgroundProcess

    package init(tls: (cert: String, key: String, ca: String)? = nil, extra: [String] = []) throws {
        dir = TempDir("whatif-redis")
        port = freePort()
        var args = [
            "/usr/bin/redis-server", "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--dir", dir.path,
            "--unixsocket", dir.file("redis.sock"), "--unixsocketperm", "700",
        ]
        if let tls {
            let p = freePort()
            tlsPort = p
            args += [
                "--tls-port", String(p), "--tls-cert-file", tls.cert, "--tls-key-file", tls.key, "--tls-ca-cert-file",
                tls.ca,
                "--tls-auth-clients", "no",
            ]
        } else {
            tlsPort = nil
        }
        process = try BackgroundProcess(args + extra, logPath: dir.file("redis.log"))
        let ready = eventually(timeout: 10) { FileManager.default.fileExists(atPath: dir.file("redis.sock")) }
        guard ready else { throw TestFailure("redis-server did not start: \(process.log)") }
    }

    package func stop() {
        process.signal(SIGTERM)
        process.wait(timeout: 10)
    }

    package func cli(_ args: String...) throws -> CommandResult {
        try Run.command(["redis-cli", "-p", String(port)] + args)
    }
}
