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

    package init(
        accessKeyId: String, secretAccessKey: String, sessionToken: String? = nil, expiration: Date? = nil,
        source: String
    ) {
        self.accessKeyId = accessKeyId
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
        self.expiration = expiration
        self.source = source
    }

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

/// Static keys from a named profile in the shared credentials file, then the config file.
package struct ProfileCredentials: AWSCredentialProvider {
    package let profile: String
    package let credentialsFile: String
    package let configFile: String

    package init(profile: String, credentialsFile: String, configFile: String) {
        self.profile = profile
        self.credentialsFile = credentialsFile
        self.configFile = configFile
    }

    /// nil when neither file has the profile's keys.
    package func load() throws -> AWSCredentials? {
        let files: [(path: String, section: String)] = [
            (credentialsFile, profile), (configFile, profile == "default" ? "default" : "profile \(profile)"),
        ]
        for (path, section) in files where Files.exists(path) {
            let text: String
            do { text = String(decoding: try Files.read(path, limit: 1 << 20), as: UTF8.self) } catch {
                throw AWSCredentialsError(error.message, hint: "make \(path) readable by the agent's user")
            }
            guard let keys = SharedConfigFile.parse(text)[section] else { continue }
            if let id = keys["aws_access_key_id"], let secret = keys["aws_secret_access_key"], !id.isEmpty,
                !secret.isEmpty
            {
                return AWSCredentials(
                    accessKeyId: id, secretAccessKey: secret, sessionToken: keys["aws_session_token"],
                    source: "profile \(profile) (\(path))")
            }
            for unsupported in [
                "role_arn", "sso_session", "sso_start_url", "credential_process", "web_identity_token_file",
            ]
            where keys[unsupported] != nil {
                throw AWSCredentialsError(
                    "profile \(profile) in \(path) uses \(unsupported), which whatifd does not support",
                    hint:
                        "use an EC2 instance role, static keys in the profile, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
                )
            }
        }
        return nil
    }

    package func credentials() throws -> AWSCredentials {
        guard let c = try load() else {
            throw AWSCredentialsError(
                "profile \(profile) has no aws_access_key_id/aws_secret_access_key in \(credentialsFile) or \(configFile)"
            )
        }
        return c
    }

    /// The profile's `region`, from the config file (or the credentials file).
    package func region() -> String? {
        for (path, section) in [
            (configFile, profile == "default" ? "default" : "profile \(profile)"), (credentialsFile, profile),
        ]
        where Files.exists(path) {
            if let text = try? Files.read(path, limit: 1 << 20),
                let r = SharedConfigFile.parse(String(decoding: text, as: UTF8.self))[section]?["region"], !r.isEmpty
            {
                return r
            }
        }
        return nil
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
                    headers: [("X-aws-ec2-metadata-token-ttl-seconds", "21600")], timeout: timeout))
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
                    timeout: timeout))
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

/// The credential chain in the AWS SDKs' order: environment variables, then the shared credentials
/// and config files (profile from config, AWS_PROFILE, or `default`), then the EC2 instance role
/// through IMDSv2. A profile named in the agent's config (not through AWS_PROFILE) skips the
/// environment, as botocore does. Resolved credentials are cached and refreshed before they expire.
package final class AWSCredentialChain: AWSCredentialProvider {
    package struct Settings: Sendable {
        package var environment: [String: String]
        /// A profile named in the agent's config.
        package var explicitProfile: String?
        package var credentialsFile: String?
        package var configFile: String?
        package var imdsEndpoint: String?

        package init(
            environment: [String: String], explicitProfile: String? = nil, credentialsFile: String? = nil,
            configFile: String? = nil, imdsEndpoint: String? = nil
        ) {
            self.environment = environment
            self.explicitProfile = explicitProfile
            self.credentialsFile = credentialsFile
            self.configFile = configFile
            self.imdsEndpoint = imdsEndpoint
        }

        var home: String { environment["HOME"] ?? "/root" }
        package var profileName: String { explicitProfile ?? environment["AWS_PROFILE"] ?? "default" }
        package var resolvedCredentialsFile: String {
            credentialsFile ?? environment["AWS_SHARED_CREDENTIALS_FILE"] ?? "\(home)/.aws/credentials"
        }
        package var resolvedConfigFile: String { configFile ?? environment["AWS_CONFIG_FILE"] ?? "\(home)/.aws/config" }
        package var imdsDisabled: Bool { environment["AWS_EC2_METADATA_DISABLED"]?.lowercased() == "true" }
        package var resolvedIMDSEndpoint: String {
            imdsEndpoint ?? environment["AWS_EC2_METADATA_SERVICE_ENDPOINT"] ?? "http://169.254.169.254"
        }
    }

    package let settings: Settings
    private let http: HTTPClient
    private let cached = Locked<AWSCredentials?>(nil)
    /// Refresh this many seconds before expiry.
    private let refreshMargin: Double = 300

    package init(settings: Settings, http: HTTPClient) {
        self.settings = settings
        self.http = http
    }

    package var profile: ProfileCredentials {
        ProfileCredentials(
            profile: settings.profileName, credentialsFile: settings.resolvedCredentialsFile,
            configFile: settings.resolvedConfigFile)
    }

    package func credentials() throws -> AWSCredentials {
        if let c = cached.value, !c.expiresSoon(margin: refreshMargin) { return c }
        let c = try resolve()
        cached.set(c)
        return c
    }

    /// Drops cached credentials (after the service rejected them, for example).
    package func invalidate() { cached.set(nil) }

    private func resolve() throws -> AWSCredentials {
        let env = settings.environment
        if settings.explicitProfile == nil, let id = env["AWS_ACCESS_KEY_ID"],
            let secret = env["AWS_SECRET_ACCESS_KEY"],
            !id.isEmpty, !secret.isEmpty
        {
            return AWSCredentials(
                accessKeyId: id, secretAccessKey: secret,
                sessionToken: env["AWS_SESSION_TOKEN"].flatMap { $0.isEmpty ? nil : $0 },
                source: "environment")
        }
        if let c = try profile.load() { return c }
        if settings.explicitProfile != nil || env["AWS_PROFILE"] != nil {
            throw AWSCredentialsError(
                "profile \(settings.profileName) has no credentials in \(settings.resolvedCredentialsFile) or \(settings.resolvedConfigFile)",
                hint:
                    "add aws_access_key_id and aws_secret_access_key to the profile, or remove aws.profile to use the instance role"
            )
        }
        guard !settings.imdsDisabled else {
            throw AWSCredentialsError(
                "no AWS credentials: none in the environment or profile \(settings.profileName), and AWS_EC2_METADATA_DISABLED is set",
                hint: "set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or configure aws.profile")
        }
        do {
            return try IMDSCredentials(endpoint: settings.resolvedIMDSEndpoint, http: http).credentials()
        } catch let e as AWSCredentialsError {
            throw AWSCredentialsError(
                "no AWS credentials: none in the environment, none in profile \(settings.profileName), and no instance role (\(e.message))",
                hint:
                    "set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY in the unit's environment file, configure aws.profile, or attach an instance role"
            )
        }
    }
}
