import WhatIfCore
import WhatIfHTTP

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The AWS SDKs' credential chain, in botocore's order:
/// 1. environment: `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY` (skipped when the agent's config names a
///    profile, as botocore skips it for an explicit profile);
/// 2. the profile (`aws.profile`, `AWS_PROFILE` or `default`) of the shared config and credentials files:
///    `role_arn` with `source_profile` (chained, to any depth) or `credential_source`, then
///    `web_identity_token_file`, IAM Identity Center (`sso_session`/`sso_*`, from `aws sso login`'s
///    cached token), static keys, `credential_process`;
/// 3. web identity from the environment (`AWS_WEB_IDENTITY_TOKEN_FILE` + `AWS_ROLE_ARN`: EKS IRSA);
/// 4. container credentials (`AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`/`_FULL_URI`: ECS, EKS Pod Identity);
/// 5. the EC2 instance role through IMDSv2.
/// Temporary credentials are cached and fetched again before they expire: five minutes before, or
/// half-way through their life when that is shorter. A refresh that fails while the old credentials
/// are still valid keeps them (and tries again ten seconds later).
package final class AWSCredentialChain: AWSCredentialProvider {
    package struct Settings: Sendable {
        package var environment: [String: String]
        /// A profile named in the agent's config.
        package var explicitProfile: String?
        package var credentialsFile: String?
        package var configFile: String?
        package var imdsEndpoint: String?
        /// Where STS is called for roles: the region, and the endpoint override (moto) if any.
        package var sts: AWSSettings = AWSSettings(region: "us-east-1")
        /// The container credentials address for a relative URI (tests point it elsewhere).
        package var containerBase: String = "http://169.254.170.2"

        // memberwise-init: package

        var home: String { environment["HOME"] ?? "/root" }
        func env(_ k: String) -> String? { environment[k].flatMap { $0.isEmpty ? nil : $0 } }
        package var profileName: String { explicitProfile ?? env("AWS_PROFILE") ?? "default" }
        /// A profile was asked for by name (so its absence is an error, not a reason to go on).
        var profileNamed: Bool { explicitProfile != nil || env("AWS_PROFILE") != nil }
        package var resolvedCredentialsFile: String {
            credentialsFile ?? env("AWS_SHARED_CREDENTIALS_FILE") ?? "\(home)/.aws/credentials"
        }
        package var resolvedConfigFile: String { configFile ?? env("AWS_CONFIG_FILE") ?? "\(home)/.aws/config" }
        package var imdsDisabled: Bool { env("AWS_EC2_METADATA_DISABLED")?.lowercased() == "true" }
        package var resolvedIMDSEndpoint: String {
            imdsEndpoint ?? env("AWS_EC2_METADATA_SERVICE_ENDPOINT") ?? "http://169.254.169.254"
        }
        var ssoCacheDirectory: String { "\(home)/.aws/sso/cache" }
        /// The IAM Identity Center portal of a region (`AWS_ENDPOINT_URL_SSO` overrides it, as in the SDKs).
        func ssoPortal(_ region: String) -> String {
            env("AWS_ENDPOINT_URL_SSO") ?? "https://portal.sso.\(region).amazonaws.com"
        }
        /// STS as configured, with `AWS_ENDPOINT_URL_STS` taking precedence, in `region` when given.
        func stsSettings(region: String?) -> AWSSettings {
            var s = sts
            if let r = region { s.region = r }
            if let e = env("AWS_ENDPOINT_URL_STS") { s.serviceEndpoints["sts"] = e }
            return s
        }
    }

    /// What the chain fetches, resolved from the settings and files; fetched again at each refresh.
    package indirect enum Plan: Sendable {
        case environment
        case keys(AWSCredentials)
        case assumeRole(STS.RoleSession, region: String?, from: Plan, profile: String)
        case webIdentity(tokenFile: String, STS.RoleSession, region: String?, origin: String)
        case process(String, profile: String)
        case sso(CredentialSources.SSOProfile)
        case container(url: String, authorization: String?)
        case instanceRole
    }

    package let settings: Settings
    private let http: HTTPClient
    private let now: @Sendable () -> Date
    private let cached = Locked<(credentials: AWSCredentials, fetchedAt: Date, retryAt: Date?)?>(nil)
    /// Serializes fetches: threads that find the credentials due wait for one fetch, not one each.
    private let fetching = Locked<Void>(())
    /// The longest chain of `source_profile`s followed (the files are outside input).
    static let maxRoleChain = 32
    /// At most this many seconds before expiry.
    static let refreshMargin: Double = 300

    package init(settings: Settings, http: HTTPClient, now: @escaping @Sendable () -> Date = { Date() }) {
        self.settings = settings
        self.http = http
        self.now = now
    }

    /// The credentials, fetched when there are none yet or they are due for a refresh.
    package func credentials() throws -> AWSCredentials {
        if let c = fresh() { return c }
        return try fetching.withLock { _ in
            if let c = fresh() { return c }
            let t = now()
            do {
                let c = try fetch(try plan())
                cached.set((c, t, nil))
                return c
            } catch {
                // A failed refresh keeps credentials that are still valid for a while.
                if let old = cached.value, let e = old.credentials.expiration, e.timeIntervalSince(t) > 10 {
                    cached.set((old.credentials, old.fetchedAt, t.addingTimeInterval(10)))
                    return old.credentials
                }
                throw error
            }
        }
    }

    /// The cached credentials while they need no refresh.
    private func fresh() -> AWSCredentials? {
        guard let c = cached.value else { return nil }
        let t = now()
        if let retry = c.retryAt, t < retry { return c.credentials }
        guard let e = c.credentials.expiration else { return c.credentials }
        let margin = min(Self.refreshMargin, max(0, e.timeIntervalSince(c.fetchedAt)) / 2)
        return t < e.addingTimeInterval(-margin) ? c.credentials : nil
    }

    /// Drops cached credentials (after the service rejected them, for example).
    package func invalidate() { cached.set(nil) }

    /// The credentials in use (no secret): where they come from and when they expire; nil before the
    /// first fetch.
    package var current: (source: String, expiration: Date?)? {
        cached.value.map { ($0.credentials.source, $0.credentials.expiration) }
    }

    /// The profile's `region`, from the shared files (nil when they cannot be read).
    package func profileRegion() -> String? {
        (try? SharedProfiles.load(
            configFile: settings.resolvedConfigFile, credentialsFile: settings.resolvedCredentialsFile))?
            .region(settings.profileName)
    }

    // MARK: Resolving

    /// Which source the chain uses now.
    package func plan() throws -> Plan {
        let s = settings
        if s.explicitProfile == nil, try CredentialSources.environment(s.environment) != nil { return .environment }
        let files = try SharedProfiles.load(
            configFile: s.resolvedConfigFile, credentialsFile: s.resolvedCredentialsFile)
        let name = s.profileName
        if let p = files[name] {
            if let plan = try profilePlan(name, p, files, visited: []) { return plan }
            if s.profileNamed {
                throw AWSCredentialsError(
                    "profile \(name) in \(files.files) has no credentials",
                    hint:
                        "give it aws_access_key_id and aws_secret_access_key, role_arn with source_profile or credential_source, sso_session, or credential_process"
                )
            }
        } else if s.profileNamed {
            throw AWSCredentialsError(
                "there is no profile \(name) in \(files.files)",
                hint: s.explicitProfile != nil
                    ? "fix aws.profile in the agent's config, or add the profile"
                    : "fix AWS_PROFILE, or add the profile")
        }
        if let file = s.env("AWS_WEB_IDENTITY_TOKEN_FILE") {
            guard let role = s.env("AWS_ROLE_ARN") else {
                throw AWSCredentialsError(
                    "AWS_WEB_IDENTITY_TOKEN_FILE is set but AWS_ROLE_ARN is not",
                    hint: "set AWS_ROLE_ARN to the role the service account may assume")
            }
            return .webIdentity(
                tokenFile: file,
                STS.RoleSession(roleArn: role, sessionName: s.env("AWS_ROLE_SESSION_NAME") ?? Self.sessionName()),
                region: nil, origin: "AWS_WEB_IDENTITY_TOKEN_FILE")
        }
        if let c = try CredentialSources.containerEndpoint(s.environment, relativeBase: s.containerBase) {
            return .container(url: c.url, authorization: c.authorization)
        }
        guard !s.imdsDisabled else {
            throw AWSCredentialsError(
                "no AWS credentials: none in the environment or profile \(name), and AWS_EC2_METADATA_DISABLED is set",
                hint: "set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or configure aws.profile")
        }
        return .instanceRole
    }

    /// A profile's own source, in botocore's order; nil when it has none.
    func profilePlan(_ name: String, _ p: [String: String], _ files: SharedProfiles, visited: Set<String>) throws
        -> Plan?
    {
        let region = p["region"]
        if let role = p["role_arn"], p["web_identity_token_file"] == nil {
            return try assumeRolePlan(name, role, p, files, visited: visited)
        }
        if let file = p["web_identity_token_file"] {
            guard let role = p["role_arn"] else {
                throw AWSCredentialsError(
                    "profile \(name) has web_identity_token_file but no role_arn", hint: "add role_arn to the profile")
            }
            return .webIdentity(
                tokenFile: file,
                STS.RoleSession(roleArn: role, sessionName: p["role_session_name"] ?? Self.sessionName()),
                region: region, origin: "profile \(name)")
        }
        if let sso = try CredentialSources.ssoProfile(name, p, files) { return .sso(sso) }
        if let keys = Self.staticKeys(name, p, files) { return .keys(keys) }
        if let command = p["credential_process"], !command.isEmpty { return .process(command, profile: name) }
        return nil
    }

    static func staticKeys(_ name: String, _ p: [String: String], _ files: SharedProfiles) -> AWSCredentials? {
        guard let id = p["aws_access_key_id"], let secret = p["aws_secret_access_key"], !id.isEmpty, !secret.isEmpty
        else { return nil }
        return AWSCredentials(
            accessKeyId: id, secretAccessKey: secret,
            sessionToken: p["aws_session_token"].flatMap { $0.isEmpty ? nil : $0 },
            source: "profile \(name) (\(files.files))")
    }

    func assumeRolePlan(
        _ name: String, _ role: String, _ p: [String: String], _ files: SharedProfiles, visited: Set<String>
    ) throws -> Plan {
        if p["mfa_serial"] != nil {
            throw AWSCredentialsError(
                "profile \(name) needs an MFA code (mfa_serial) to assume \(role), which an agent cannot type",
                hint: "give the agent a role whose trust policy does not require MFA, or another profile")
        }
        var session = STS.RoleSession(
            roleArn: role, sessionName: p["role_session_name"] ?? Self.sessionName(), externalId: p["external_id"])
        if let d = p["duration_seconds"] {
            guard let n = Int(d), (900...43200).contains(n) else {
                throw AWSCredentialsError(
                    "duration_seconds '\(d)' of profile \(name) is not a number of seconds from 900 to 43200",
                    hint: "AWS accepts 900 (15 minutes) up to the role's maximum session duration (at most 43200)")
            }
            session.durationSeconds = n
        }
        let from: Plan
        switch (p["source_profile"], p["credential_source"]) {
        case (.some, .some):
            throw AWSCredentialsError(
                "profile \(name) has both source_profile and credential_source", hint: "keep one of them")
        case (nil, nil):
            throw AWSCredentialsError(
                "profile \(name) has role_arn but neither source_profile nor credential_source",
                hint: "name the profile whose credentials assume the role (source_profile), or credential_source")
        case (let source?, nil):
            guard visited.count < Self.maxRoleChain else {
                throw AWSCredentialsError(
                    "the source_profile chain of profile \(name) is more than \(Self.maxRoleChain) profiles long",
                    hint: "shorten the chain of roles")
            }
            guard !visited.contains(source) else {
                throw AWSCredentialsError(
                    "the source_profile chain of profile \(name) loops back to \(source)",
                    hint: "end the chain in a profile with credentials of its own")
            }
            guard let sp = files[source] else {
                throw AWSCredentialsError(
                    "profile \(name) names source_profile \(source), which is not in \(files.files)")
            }
            // A profile that is its own source uses its static keys (botocore does the same).
            if source == name {
                guard let keys = Self.staticKeys(name, sp, files) else {
                    throw AWSCredentialsError("profile \(name) is its own source_profile but has no static keys")
                }
                from = .keys(keys)
            } else {
                let next = visited.union([name])
                guard let plan = try profilePlan(source, sp, files, visited: next) else {
                    throw AWSCredentialsError(
                        "source_profile \(source) of profile \(name) has no credentials",
                        hint: "give it aws_access_key_id and aws_secret_access_key, or its own role_arn")
                }
                from = plan
            }
        case (nil, let source?):
            switch source {
            case "Environment":
                guard try CredentialSources.environment(settings.environment) != nil else {
                    throw AWSCredentialsError(
                        "profile \(name) takes its credentials from the environment, which has none",
                        hint: "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
                }
                from = .environment
            case "Ec2InstanceMetadata": from = .instanceRole
            case "EcsContainer":
                guard
                    let c = try CredentialSources.containerEndpoint(
                        settings.environment, relativeBase: settings.containerBase)
                else {
                    throw AWSCredentialsError(
                        "profile \(name) takes its credentials from the container, but AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and _FULL_URI are unset"
                    )
                }
                from = .container(url: c.url, authorization: c.authorization)
            default:
                throw AWSCredentialsError(
                    "credential_source '\(source)' of profile \(name) is not one of Environment, Ec2InstanceMetadata, EcsContainer"
                )
            }
        }
        return .assumeRole(session, region: p["region"], from: from, profile: name)
    }

    /// `whatifd-<unix time>`, as the SDKs name sessions `botocore-session-<time>`.
    static func sessionName() -> String { "whatifd-\(Int(Date().timeIntervalSince1970))" }

    // MARK: Fetching

    func fetch(_ plan: Plan) throws -> AWSCredentials {
        let s = settings
        switch plan {
        case .environment:
            guard let c = try CredentialSources.environment(s.environment) else {
                throw AWSCredentialsError("the environment has no AWS credentials any more")
            }
            return c
        case .keys(let c): return c
        case .assumeRole(let session, let region, let from, let profile):
            let source = try fetch(from)
            let sts = STS(
                client: AWSClient(
                    settings: s.stsSettings(region: region), credentials: StaticCredentials(source), http: http))
            do {
                return try sts.assumeRole(
                    session, source: "role \(session.roleArn) (profile \(profile), from \(source.source))")
            } catch let e as AWSError {
                throw AWSCredentialsError(
                    "cannot assume \(session.roleArn) for profile \(profile) with \(source.source): \(e.message)",
                    hint: e.code == "AccessDenied"
                        ? "check the role's trust policy\(session.externalId == nil ? "" : " and its sts:ExternalId condition")"
                        : e.hint)
            }
        case .webIdentity(let file, let session, let region, let origin):
            let sts = STS(
                client: AWSClient(settings: s.stsSettings(region: region), credentials: NoCredentials(), http: http))
            return try CredentialSources.webIdentity(tokenFile: file, session: session, sts: sts, origin: origin)
        case .process(let command, let profile):
            return try CredentialSources.process(command, profile: profile, environment: s.environment)
        case .sso(let sso):
            return try CredentialSources.sso(
                sso, cacheDirectory: s.ssoCacheDirectory, portal: s.ssoPortal(sso.region), http: http, now: now())
        case .container(let url, let authorization):
            return try CredentialSources.container(url: url, authorization: authorization, http: http)
        case .instanceRole:
            do {
                return try IMDSCredentials(endpoint: s.resolvedIMDSEndpoint, http: http).credentials()
            } catch let e as AWSCredentialsError {
                throw AWSCredentialsError(
                    "no AWS credentials: none in the environment, none in profile \(s.profileName), and no instance role (\(e.message))",
                    hint:
                        "set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY in the unit's environment file, configure aws.profile, or attach an instance role"
                )
            }
        }
    }
}
