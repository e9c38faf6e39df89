import WhatIfCore
import WhatIfHTTP
import WhatIfJSON

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

package struct AWSCredentials: Sendable, Equatable {
    package var accessKeyId: String
    package var secretAccessKey: String
    package var sessionToken: String?
    package var expiration: Date?
    /// Where they came from: "environment", "profile default (~/.aws/credentials)", "instance role web".
    package var source: String

    // memberwise-init: package

    /// True when they expire within `margin` seconds.
    package func expiresSoon(margin: Double, now: Date = Date()) -> Bool {
        guard let expiration else { return false }
        return expiration.timeIntervalSince(now) < margin
    }
}

package struct AWSCredentialsError: OperatorError, Sendable {
    package var message: String
    package var hint: String?
    package init(_ message: String, hint: String? = nil) {
        self.message = message
        self.hint = hint
    }
}

package protocol AWSCredentialProvider: Sendable {
    /// Blocking: may call the instance metadata service.
    func credentials() throws -> AWSCredentials
}

/// Fixed credentials (tests, or already resolved).
package struct StaticCredentials: AWSCredentialProvider {
    package let value: AWSCredentials
    package init(_ value: AWSCredentials) { self.value = value }
    package func credentials() throws -> AWSCredentials { value }
}

/// No credentials: the client sends its requests unsigned (STS AssumeRoleWithWebIdentity).
package struct NoCredentials: AWSCredentialProvider {
    package init() {}
    package func credentials() throws -> AWSCredentials {
        throw AWSCredentialsError("this client sends unsigned requests only")
    }
}

/// The AWS shared config and credentials files: INI sections of `key = value`.
public enum SharedConfigFile {
    /// Parses INI text into section -> key -> value. Indented lines (sub-sections such as `s3 =`)
    /// and comments are skipped; it accepts any input (it has a fuzz target).
    public static func parse(_ text: String) -> [String: [String: String]] {
        var sections: [String: [String: String]] = [:]
        var current: String?
        for rawLine in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            var line = Substring(rawLine)
            if line.last == "\r" { line = line.dropLast() }
            if let f = line.first, f == " " || f == "\t" { continue }
            let t = String(line).trimmingWhitespace()
            if t.isEmpty || t.hasPrefix("#") || t.hasPrefix(";") { continue }
            if t.hasPrefix("[") {
                guard let close = t.firstIndex(of: "]") else {
                    current = nil
                    continue
                }
                let name = String(t[t.index(after: t.startIndex)..<close]).trimmingWhitespace()
                current = name
                if sections[name] == nil { sections[name] = [:] }
                continue
            }
            guard let section = current, let eq = t.firstIndex(of: "=") else { continue }
            let key = String(t[..<eq]).trimmingWhitespace().lowercased()
            var value = String(t[t.index(after: eq)...]).trimmingWhitespace()
            // Inline comments need a space before them.
            if let hash = value.find(" #") { value = String(value[..<hash.lowerBound]).trimmingWhitespace() }
            if let semi = value.find(" ;") { value = String(value[..<semi.lowerBound]).trimmingWhitespace() }
            if !key.isEmpty { sections[section]?[key] = value }
        }
        return sections
    }
}

/// Instance-role credentials from the EC2 instance metadata service, version 2 (session tokens).
package final class IMDSCredentials: AWSCredentialProvider {
    package let endpoint: String
    private let http: HTTPClient
    private let timeout: Double
    private let token = Locked<(value: String, expires: ContinuousClock.Instant)?>(nil)

    package init(endpoint: String = "http://169.254.169.254", http: HTTPClient, timeout: Double = 1) {
        var e = endpoint
        while e.hasSuffix("/") { e.removeLast() }
        self.endpoint = e
        self.http = http
        self.timeout = timeout
    }

    private func sessionToken(refresh: Bool) throws -> String {
        if !refresh, let t = token.withLock({ $0 }), t.expires > .now { return t.value }
        let r: HTTPResponse
        do {
            r = try http.send(
                HTTPRequest(
                    method: "PUT", url: "\(endpoint)/latest/api/token",
                    headers: [("X-aws-ec2-metadata-token-ttl-seconds", "21600")], timeout: .total(timeout)))
        } catch {
            throw AWSCredentialsError(
                "no instance metadata service at \(endpoint): \(error)",
                hint: "outside EC2, give credentials through the environment or a profile")
        }
        guard r.status == 200, !r.body.isEmpty else {
            throw AWSCredentialsError(
                "instance metadata service refused a session token (HTTP \(r.status))",
                hint: "check the instance's metadata options (IMDSv2, hop limit)")
        }
        let value = r.bodyText.trimmingWhitespace()
        // Renew well before the 6-hour TTL.
        token.set((value, .now + .seconds(21600 - 300)))
        return value
    }

    private func get(_ path: String) throws -> HTTPResponse {
        var t = try sessionToken(refresh: false)
        for attempt in 0..<2 {
            let r = try http.send(
                HTTPRequest(
                    method: "GET", url: "\(endpoint)\(path)", headers: [("X-aws-ec2-metadata-token", t)],
                    timeout: .total(timeout)))
            if r.status == 401, attempt == 0 {
                t = try sessionToken(refresh: true)
                continue
            }
            return r
        }
        throw AWSCredentialsError("instance metadata service keeps refusing our session token")
    }

    package func credentials() throws -> AWSCredentials {
        let roles = try get("/latest/meta-data/iam/security-credentials/")
        guard roles.status == 200, let role = roles.bodyText.split(separator: "\n").first.map(String.init),
            !role.isEmpty
        else {
            throw AWSCredentialsError(
                "this instance has no IAM role (instance metadata answered HTTP \(roles.status))",
                hint: "attach an instance profile with the agent's policy")
        }
        let r = try get("/latest/meta-data/iam/security-credentials/\(role)")
        guard r.status == 200 else {
            throw AWSCredentialsError("instance metadata has no credentials for role \(role) (HTTP \(r.status))")
        }
        // Names are AWS's wire format.
        // swift-format-ignore: AlwaysUseLowerCamelCase
        struct Body: Decodable {
            var Code: String?
            var AccessKeyId: String
            var SecretAccessKey: String
            var Token: String?
            var Expiration: String?
        }
        let body: Body
        do { body = try JSONDecoder().decode(Body.self, from: Data(r.body)) } catch {
            throw AWSCredentialsError("instance metadata returned unreadable credentials for role \(role): \(error)")
        }
        if let code = body.Code, code != "Success" {
            throw AWSCredentialsError("instance metadata reports \(code) for role \(role)")
        }
        var expiration: Date?
        if let e = body.Expiration { expiration = try? Date.ISO8601FormatStyle().parse(e) }
        return AWSCredentials(
            accessKeyId: body.AccessKeyId, secretAccessKey: body.SecretAccessKey, sessionToken: body.Token,
            expiration: expiration, source: "instance role \(role)")
    }

    /// The instance's region, from metadata.
    package func region() throws -> String? {
        let r = try get("/latest/meta-data/placement/region")
        return r.status == 200 ? r.bodyText.trimmingWhitespace() : nil
    }
}
