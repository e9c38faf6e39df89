import WhatIfCore
import WhatIfCrypto
import WhatIfHTTP
import WhatIfUnits

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The sources of the credential chain other than STS and the instance metadata service, each as
/// the AWS SDKs read it. Blocking.
package enum CredentialSources {
    /// `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY` (with `AWS_SESSION_TOKEN`, or the older
    /// `AWS_SECURITY_TOKEN`, and `AWS_CREDENTIAL_EXPIRATION`); nil when neither key is set, an error when
    /// only one is.
    package static func environment(_ env: [String: String]) throws -> AWSCredentials? {
        func v(_ k: String) -> String? { env[k].flatMap { $0.isEmpty ? nil : $0 } }
        switch (v("AWS_ACCESS_KEY_ID"), v("AWS_SECRET_ACCESS_KEY")) {
        case (nil, nil): return nil
        case (let id?, let secret?):
            return AWSCredentials(
                accessKeyId: id, secretAccessKey: secret,
                sessionToken: v("AWS_SESSION_TOKEN") ?? v("AWS_SECURITY_TOKEN"),
                expiration: v("AWS_CREDENTIAL_EXPIRATION").flatMap(AWSTime.parse), source: "environment")
        case (nil, _):
            throw AWSCredentialsError(
                "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not",
                hint: "set both in the unit's environment file, or neither")
        case (_, nil):
            throw AWSCredentialsError(
                "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not",
                hint: "set both in the unit's environment file, or neither")
        }
    }

    // MARK: Web identity

    /// AssumeRoleWithWebIdentity with the token in `tokenFile`, read at each call (EKS rotates it).
    package static func webIdentity(
        tokenFile: String, session: STS.RoleSession, sts: STS, origin: String
    ) throws -> AWSCredentials {
        let token: String
        do {
            token = String(decoding: try Files.read(tokenFile, limit: 64 << 10), as: UTF8.self).trimmingWhitespace()
        } catch {
            throw AWSCredentialsError(
                "cannot read the web identity token \(tokenFile) (\(origin)): \(error.message)",
                hint: "check the service account's projected token volume and the agent's access to it")
        }
        guard !token.isEmpty else {
            throw AWSCredentialsError("the web identity token \(tokenFile) (\(origin)) is empty")
        }
        do {
            return try sts.assumeRoleWithWebIdentity(
                session, token: token, source: "web identity \(session.roleArn) (\(origin))")
        } catch let e as AWSError {
            throw AWSCredentialsError(
                "STS refused the web identity token \(tokenFile) for \(session.roleArn): \(e.message)",
                hint: "check the role's trust policy (the OIDC provider and the service account's subject)")
        }
    }

    // MARK: Container

    /// Where ECS and EKS Pod Identity serve credentials from the environment: `(url, authorization)`,
    /// nil when neither URI variable is set.
    package static func containerEndpoint(_ env: [String: String], relativeBase: String) throws -> (
        url: String, authorization: String?
    )? {
        func v(_ k: String) -> String? { env[k].flatMap { $0.isEmpty ? nil : $0 } }
        let url: String
        if let rel = v("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") {
            url = relativeBase + (rel.hasPrefix("/") ? rel : "/" + rel)
        } else if let full = v("AWS_CONTAINER_CREDENTIALS_FULL_URI") {
            guard allowedFullURI(full) else {
                throw AWSCredentialsError(
                    "AWS_CONTAINER_CREDENTIALS_FULL_URI \(full) is neither https nor a loopback or the container credentials address",
                    hint: "use https, or http to 127.0.0.1, 169.254.170.2 or 169.254.170.23")
            }
            url = full
        } else {
            return nil
        }
        var authorization = v("AWS_CONTAINER_AUTHORIZATION_TOKEN")
        if let file = v("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE") {
            do {
                authorization = String(decoding: try Files.read(file, limit: 16 << 10), as: UTF8.self)
                    .trimmingWhitespace()
            } catch {
                throw AWSCredentialsError(
                    "cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE \(file): \(error.message)")
            }
        }
        if let a = authorization, a.contains("\r") || a.contains("\n") {
            throw AWSCredentialsError("the container authorization token holds a line break")
        }
        return (url, authorization)
    }

    /// What the SDKs accept for a full URI: https anywhere; http only to a loopback address or the
    /// ECS/EKS credential addresses.
    static func allowedFullURI(_ url: String) -> Bool {
        guard let parts = AWSClient.split(url) else { return false }
        if parts.scheme == "https" { return true }
        guard parts.scheme == "http" else { return false }
        var host = parts.hostHeader
        if host.hasPrefix("[") {
            host = String(host.dropFirst().prefix { $0 != "]" })
        } else if let colon = host.lastIndex(of: ":") {
            host = String(host[..<colon])
        }
        return host == "localhost" || host.hasPrefix("127.") || host == "::1" || host == "169.254.170.2"
            || host == "169.254.170.23" || host == "fd00:ec2::23"
    }

    package static func container(
        url: String, authorization: String?, http: HTTPClient, timeout: Double = 2
    ) throws -> AWSCredentials {
        var headers: [(name: String, value: String)] = [("Accept", "application/json")]
        if let authorization { headers.append(("Authorization", authorization)) }
        var last = ""
        for attempt in 1...3 {
            let r: HTTPResponse
            do {
                r = try http.send(HTTPRequest(method: "GET", url: url, headers: headers, timeout: .total(timeout)))
            } catch {
                last = "\(error)"
                if attempt < 3 { sleepThread(seconds: 0.2 * Double(attempt)) }
                continue
            }
            guard r.status == 200 else {
                last = "HTTP \(r.status): \(String(r.bodyText.prefix(200)))"
                if r.status >= 500, attempt < 3 {
                    sleepThread(seconds: 0.2 * Double(attempt))
                    continue
                }
                break
            }
            return try decodeKeys(r.body, source: "container credentials \(url)", what: "the container endpoint")
        }
        throw AWSCredentialsError(
            "no credentials from the container endpoint \(url): \(last)",
            hint: "check the task role (ECS) or the pod identity association (EKS)")
    }

    // MARK: credential_process

    /// Runs the profile's `credential_process` (split like a shell word list, run without a shell)
    /// and reads the JSON it prints (Version 1).
    package static func process(
        _ command: String, profile: String, environment: [String: String], timeout: Double = 60
    ) throws -> AWSCredentials {
        let words: [String]
        do { words = try splitCommand(command) } catch {
            throw AWSCredentialsError("credential_process of profile \(profile): \(error.message)")
        }
        guard let exe = words.first else {
            throw AWSCredentialsError("credential_process of profile \(profile) is empty")
        }
        var helper = HelperProcess(
            exe, arguments: Array(words.dropFirst()), environment: environment, name: "credential_process")
        helper.deadline = .after(seconds: timeout)
        helper.timeoutSetting = "the credential process's \(Units.duration(timeout))"
        let out: [UInt8]
        do { out = try helper.output(limit: 64 << 10) } catch let e as any OperatorError {
            throw AWSCredentialsError(
                "credential_process of profile \(profile) failed: \(e.message)", hint: e.hint)
        }
        struct Version: Decodable {
            // swift-format-ignore: AlwaysUseLowerCamelCase
            var Version: Int?
        }
        let version = (try? JSONDecoder().decode(Version.self, from: Data(out)))?.Version
        guard version == 1 else {
            throw AWSCredentialsError(
                "credential_process of profile \(profile) printed \(version.map { "Version \($0)" } ?? "no Version"); only Version 1 is defined",
                hint: "the process must print {\"Version\": 1, \"AccessKeyId\": ..., \"SecretAccessKey\": ...}")
        }
        return try decodeKeys(out, source: "credential_process (profile \(profile))", what: "credential_process")
    }

    /// A command line split as POSIX shells split words: blanks separate, single quotes keep
    /// everything, double quotes keep all but `\"` and `\\`, a backslash escapes the next character.
    package static func splitCommand(_ s: String) throws(Failure) -> [String] {
        var words: [String] = []
        var word = ""
        var inWord = false
        var quote: Character?
        var escaped = false
        for c in s {
            if escaped {
                word.append(c)
                escaped = false
                inWord = true
            } else if quote == "'" {
                if c == "'" { quote = nil } else { word.append(c) }
            } else if quote == "\"" {
                if c == "\"" { quote = nil } else if c == "\\" { escaped = true } else { word.append(c) }
            } else if c == "'" || c == "\"" {
                quote = c
                inWord = true
            } else if c == "\\" {
                escaped = true
            } else if c == " " || c == "\t" || c == "\n" {
                if inWord { words.append(word) }
                word = ""
                inWord = false
            } else {
                word.append(c)
                inWord = true
            }
        }
        guard quote == nil, !escaped else { throw Failure("unterminated quote or escape in \(s)") }
        if inWord { words.append(word) }
        return words
    }

    /// `{"AccessKeyId", "SecretAccessKey", "Token"/"SessionToken", "Expiration"}` (container endpoints and
    /// credential processes write these).
    static func decodeKeys(_ body: [UInt8], source: String, what: String) throws -> AWSCredentials {
        // swift-format-ignore: AlwaysUseLowerCamelCase
        struct Keys: Decodable {
            var AccessKeyId: String?
            var SecretAccessKey: String?
            var Token: String?
            var SessionToken: String?
            var Expiration: String?
        }
        guard let k = try? JSONDecoder().decode(Keys.self, from: Data(body)), let id = k.AccessKeyId,
            let secret = k.SecretAccessKey, !id.isEmpty, !secret.isEmpty
        else {
            throw AWSCredentialsError("\(what) answered without AccessKeyId and SecretAccessKey")
        }
        var expiration: Date?
        if let e = k.Expiration {
            guard let d = AWSTime.parse(e) else {
                throw AWSCredentialsError("\(what) answered an unreadable Expiration '\(e)'")
            }
            expiration = d
        }
        return AWSCredentials(
            accessKeyId: id, secretAccessKey: secret, sessionToken: k.SessionToken ?? k.Token, expiration: expiration,
            source: source)
    }

    // MARK: IAM Identity Center (SSO)

    /// What a profile's SSO settings say, its session's included.
    package struct SSOProfile: Sendable, Equatable {
        package var profile: String
        package var session: String?
        package var startURL: String
        package var region: String
        package var accountId: String
        package var roleName: String

        /// The token cache's file name: SHA-1 of the session name, or of the start URL (legacy profiles).
        package var cacheKey: String {
            var d = Digest(.sha1)
            d.update(session ?? startURL)
            return Hex.encode(d.finish())
        }
    }

    /// The profile's SSO settings, nil when it has none; an error naming what is missing.
    package static func ssoProfile(_ name: String, _ p: [String: String], _ files: SharedProfiles) throws
        -> SSOProfile?
    {
        guard p["sso_session"] != nil || p["sso_start_url"] != nil || p["sso_account_id"] != nil else { return nil }
        var settings = p
        let session = p["sso_session"]
        if let session {
            guard let s = files.ssoSessions[session] else {
                throw AWSCredentialsError(
                    "profile \(name) names sso_session \(session), which \(files.configFile) does not define",
                    hint: "add [sso-session \(session)] with sso_start_url and sso_region (aws configure sso)")
            }
            for (k, v) in s where settings[k] == nil { settings[k] = v }
        }
        var missing: [String] = []
        func need(_ k: String) -> String {
            if let v = settings[k], !v.isEmpty { return v }
            missing.append(k)
            return ""
        }
        let sso = SSOProfile(
            profile: name, session: session, startURL: need("sso_start_url"), region: need("sso_region"),
            accountId: need("sso_account_id"), roleName: need("sso_role_name"))
        guard missing.isEmpty else {
            throw AWSCredentialsError(
                "profile \(name) uses IAM Identity Center but lacks \(missing.joined(separator: ", "))",
                hint: "run aws configure sso --profile \(name)")
        }
        return sso
    }

    /// The role credentials for an SSO profile, from the token `aws sso login` cached.
    package static func sso(
        _ s: SSOProfile, cacheDirectory: String, portal: String, http: HTTPClient, now: Date
    ) throws -> AWSCredentials {
        let login = "run `aws sso login --profile \(s.profile)` as the agent's user"
        let path = "\(cacheDirectory)/\(s.cacheKey).json"
        // swift-format-ignore: AlwaysUseLowerCamelCase
        struct Token: Decodable {
            var accessToken: String?
            var expiresAt: String?
        }
        guard Files.exists(path) else {
            throw AWSCredentialsError("there is no cached SSO token for profile \(s.profile) (\(path))", hint: login)
        }
        guard let bytes = try? Files.read(path, limit: 1 << 20),
            let t = try? JSONDecoder().decode(Token.self, from: Data(bytes)), let token = t.accessToken,
            let expires = t.expiresAt.flatMap(AWSTime.parse)
        else {
            throw AWSCredentialsError(
                "the cached SSO token \(path) for profile \(s.profile) is unreadable", hint: login)
        }
        guard expires > now else {
            throw AWSCredentialsError(
                "the cached SSO token for profile \(s.profile) expired at \(AWSTime.format(expires))", hint: login)
        }
        var base = portal
        while base.hasSuffix("/") { base.removeLast() }
        let url =
            "\(base)/federation/credentials?account_id=\(SigV4.uriEncode(s.accountId))&role_name=\(SigV4.uriEncode(s.roleName))"
        let r: HTTPResponse
        do {
            r = try http.send(
                HTTPRequest(method: "GET", url: url, headers: [("x-amz-sso_bearer_token", token)], timeout: .total(10)))
        } catch {
            throw AWSCredentialsError("cannot reach IAM Identity Center at \(base): \(error)")
        }
        guard r.status == 200 else {
            throw AWSCredentialsError(
                "IAM Identity Center refused role \(s.roleName) in account \(s.accountId) (HTTP \(r.status))",
                hint: r.status == 401 || r.status == 403 ? login : nil)
        }
        // swift-format-ignore: AlwaysUseLowerCamelCase
        struct Answer: Decodable {
            struct Role: Decodable {
                var accessKeyId: String
                var secretAccessKey: String
                var sessionToken: String?
                var expiration: Double?
            }
            var roleCredentials: Role
        }
        guard let a = try? JSONDecoder().decode(Answer.self, from: Data(r.body)) else {
            throw AWSCredentialsError("IAM Identity Center answered without role credentials")
        }
        let c = a.roleCredentials
        return AWSCredentials(
            accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey, sessionToken: c.sessionToken,
            expiration: c.expiration.map { Date(timeIntervalSince1970: $0 / 1000) },
            source: "IAM Identity Center role \(s.roleName) in \(s.accountId) (profile \(s.profile))")
    }
}

/// The credential chain's parsers of outside input, for the fuzz package: what a container endpoint, a
/// credential_process or IAM Identity Center's token cache holds, a `credential_process` command line,
/// an AWS timestamp, a shared config file with roles and sessions.
public enum CredentialInputs {
    /// Parses `bytes` every way the chain parses outside input; any input is accepted.
    public static func parse(_ bytes: [UInt8]) {
        let text = String(decoding: bytes, as: UTF8.self)
        _ = try? CredentialSources.decodeKeys(bytes, source: "fuzz", what: "fuzz")
        _ = try? CredentialSources.splitCommand(text)
        _ = AWSTime.parse(text)
        var files = SharedProfiles(configFile: "config", credentialsFile: "credentials")
        for (section, keys) in SharedConfigFile.parse(text) {
            if let name = SharedProfiles.named(section, "sso-session") {
                files.ssoSessions[name] = keys
            } else {
                files.profiles[SharedProfiles.named(section, "profile") ?? section] = keys
            }
        }
        let chain = AWSCredentialChain(settings: .init(environment: [:]), http: HTTPClient())
        for (name, p) in files.profiles { _ = try? chain.profilePlan(name, p, files, visited: []) }
    }
}
