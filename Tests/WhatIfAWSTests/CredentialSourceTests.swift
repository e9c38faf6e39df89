import Foundation
import Testing
import WhatIfAWS
import WhatIfCore
import WhatIfHTTP
import WhatIfTesting

/// The chain's other sources, each against a fake of what serves it (moto's STS: StsMotoTests).
@Suite struct CredentialSourceTests {
    let dir = TempDir()

    func chain(
        _ env: [String: String], profile: String? = nil, sts: String? = nil, containerBase: String? = nil,
        now: @escaping @Sendable () -> Date = { Date() }
    ) -> AWSCredentialChain {
        var e = env
        e["HOME"] = dir.path
        e["AWS_EC2_METADATA_DISABLED"] = "true"
        var settings = AWSCredentialChain.Settings(
            environment: e, explicitProfile: profile,
            sts: AWSSettings(region: "eu-west-1", endpoint: sts, maxAttempts: 1, timeout: 5))
        if let containerBase { settings.containerBase = containerBase }
        return AWSCredentialChain(settings: settings, http: HTTPClient(connectTimeout: 1), now: now)
    }

    func expectError(_ c: AWSCredentialChain, _ parts: String..., sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(sourceLocation: sourceLocation) {
            try c.credentials()
        } throws: { e in
            let text = "\((e as? AWSCredentialsError)?.message ?? "\(e)") \((e as? AWSCredentialsError)?.hint ?? "")"
            return parts.allSatisfy { text.contains($0) }
        }
    }

    // MARK: Environment

    @Test func environmentWithSessionTokenAndExpiration() throws {
        let c = try chain([
            "AWS_ACCESS_KEY_ID": "ASIAENV", "AWS_SECRET_ACCESS_KEY": "s", "AWS_SESSION_TOKEN": "tok",
            "AWS_CREDENTIAL_EXPIRATION": "2030-01-02T03:04:05Z",
        ]).credentials()
        #expect(c.sessionToken == "tok" && c.source == "environment")
        #expect(c.expiration == Date(timeIntervalSince1970: 1_893_553_445))
    }

    @Test func halfTheKeysInTheEnvironmentIsAnError() {
        expectError(chain(["AWS_ACCESS_KEY_ID": "AKIA"]), "AWS_SECRET_ACCESS_KEY is not", "set both")
    }

    // MARK: Profiles with roles

    func config(_ text: String) throws { _ = try dir.write(".aws/config", text, mode: 0o600) }

    @Test func roleProfilesResolveToAChainEndingInCredentials() throws {
        try config(
            """
            [profile base]
            aws_access_key_id = AKIABASE
            aws_secret_access_key = base-secret
            [profile ops]
            role_arn = arn:aws:iam::123456789012:role/ops
            source_profile = base
            external_id = ext-1
            role_session_name = night-shift
            duration_seconds = 1800
            [profile admin]
            role_arn = arn:aws:iam::999999999999:role/admin
            source_profile = ops
            [profile self]
            role_arn = arn:aws:iam::123456789012:role/self
            source_profile = self
            aws_access_key_id = AKIASELF
            aws_secret_access_key = self-secret
            [profile instance]
            role_arn = arn:aws:iam::123456789012:role/x
            credential_source = Ec2InstanceMetadata
            """)
        guard case .assumeRole(let s, _, let from, let profile) = try chain([:], profile: "admin").plan(),
            case .assumeRole(let s2, _, let from2, _) = from, case .keys(let keys) = from2
        else {
            Issue.record("admin should assume admin from ops, which assumes ops from base's keys")
            return
        }
        #expect(profile == "admin" && s.roleArn.hasSuffix("role/admin") && s.sessionName.hasPrefix("whatifd-"))
        #expect(
            s2
                == STS.RoleSession(
                    roleArn: "arn:aws:iam::123456789012:role/ops", sessionName: "night-shift", externalId: "ext-1",
                    durationSeconds: 1800))
        #expect(keys.accessKeyId == "AKIABASE")
        guard case .assumeRole(_, _, .keys(let own), _) = try chain([:], profile: "self").plan() else {
            Issue.record("a profile that is its own source uses its static keys")
            return
        }
        #expect(own.accessKeyId == "AKIASELF")
        guard case .assumeRole(_, _, .instanceRole, _) = try chain([:], profile: "instance").plan() else {
            Issue.record("credential_source Ec2InstanceMetadata")
            return
        }
    }

    @Test func roleProfilesThatCannotWorkSayWhy() throws {
        try config(
            """
            [profile a]
            role_arn = arn:aws:iam::1:role/a
            source_profile = b
            [profile b]
            role_arn = arn:aws:iam::1:role/b
            source_profile = a
            [profile mfa]
            role_arn = arn:aws:iam::1:role/m
            source_profile = a
            mfa_serial = arn:aws:iam::1:mfa/me
            [profile both]
            role_arn = arn:aws:iam::1:role/x
            source_profile = a
            credential_source = Environment
            [profile neither]
            role_arn = arn:aws:iam::1:role/x
            [profile long]
            role_arn = arn:aws:iam::1:role/x
            credential_source = Environment
            duration_seconds = 86400
            [profile weird]
            role_arn = arn:aws:iam::1:role/x
            credential_source = Laptop
            [profile dangling]
            role_arn = arn:aws:iam::1:role/x
            source_profile = gone
            [profile envsrc]
            role_arn = arn:aws:iam::1:role/x
            credential_source = Environment
            """)
        expectError(chain([:], profile: "a"), "loops back to a")
        // A chain of 40 roles is refused before it is followed (the files are outside input).
        let long = (0..<40).map { "[r\($0)]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = r\($0 + 1)\n" }
        _ = try dir.write(".aws/credentials", long.joined(), mode: 0o600)
        expectError(chain([:], profile: "r0"), "more than 32 profiles long")
        expectError(chain([:], profile: "mfa"), "MFA code", "cannot type")
        expectError(chain([:], profile: "both"), "both source_profile and credential_source")
        expectError(chain([:], profile: "neither"), "neither source_profile nor credential_source")
        expectError(chain([:], profile: "long"), "duration_seconds '86400'", "900 to 43200")
        expectError(chain([:], profile: "weird"), "credential_source 'Laptop'")
        expectError(chain([:], profile: "dangling"), "source_profile gone", "not in")
        expectError(chain([:], profile: "envsrc"), "from the environment, which has none")
    }

    // MARK: Web identity

    /// A fake STS that answers AssumeRoleWithWebIdentity (and records what it was sent).
    static func fakeSTS(expiresIn: Double = 3600) throws -> TinyHTTPServer {
        try TinyHTTPServer { req in
            let form = String(decoding: req.body, as: UTF8.self)
            let expires = ISO8601DateFormatter().string(from: Date().addingTimeInterval(expiresIn))
            guard form.contains("Action=AssumeRoleWithWebIdentity") else { return .text(400, "unexpected \(form)") }
            return .text(
                200,
                """
                <AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
                <AssumeRoleWithWebIdentityResult><Credentials><AccessKeyId>ASIAWEB</AccessKeyId>
                <SecretAccessKey>web-secret</SecretAccessKey><SessionToken>web-token</SessionToken>
                <Expiration>\(expires)</Expiration></Credentials></AssumeRoleWithWebIdentityResult>
                </AssumeRoleWithWebIdentityResponse>
                """, contentType: "text/xml")
        }
    }

    @Test func webIdentityFromTheEnvironmentIsUnsignedAndReadsTheTokenEachTime() throws {
        let sts = try Self.fakeSTS()
        let token = try dir.write("token", "eyJ.first\n")
        let c = chain(
            [
                "AWS_WEB_IDENTITY_TOKEN_FILE": token, "AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/irsa",
                "AWS_ROLE_SESSION_NAME": "pod-1",
            ], sts: "http://127.0.0.1:\(sts.port)")
        let creds = try c.credentials()
        #expect(creds.accessKeyId == "ASIAWEB" && creds.sessionToken == "web-token")
        #expect(creds.source.contains("web identity arn:aws:iam::123456789012:role/irsa"))
        let sent = try #require(sts.requests.value.last)
        let form = String(decoding: sent.body, as: UTF8.self)
        #expect(sent.header("authorization") == nil)
        #expect(form.contains("WebIdentityToken=eyJ.first") && form.contains("RoleSessionName=pod-1"))
        #expect(form.contains("RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Firsa"))
        // The kubelet rotates the token: the next fetch sends the new one.
        _ = try dir.write("token", "eyJ.second")
        c.invalidate()
        _ = try c.credentials()
        #expect(String(decoding: sts.requests.value.last!.body, as: UTF8.self).contains("WebIdentityToken=eyJ.second"))
    }

    @Test func webIdentityWithoutARoleOrTokenSaysWhich() throws {
        expectError(chain(["AWS_WEB_IDENTITY_TOKEN_FILE": dir.file("t")]), "AWS_ROLE_ARN is not")
        let sts = try Self.fakeSTS()
        expectError(
            chain(
                ["AWS_WEB_IDENTITY_TOKEN_FILE": dir.file("missing"), "AWS_ROLE_ARN": "arn:aws:iam::1:role/r"],
                sts: "http://127.0.0.1:\(sts.port)"), "cannot read the web identity token", "missing")
    }

    // MARK: Container

    static func fakeContainer(
        token: String?, expires: @escaping @Sendable () -> Date, failing: Locked<Bool> = Locked(false)
    ) throws -> TinyHTTPServer {
        try TinyHTTPServer { req in
            if failing.value { return .text(500, "down") }
            if let token, req.header("authorization") != token { return .text(403, "bad token") }
            let n = UUID().uuidString.prefix(6)
            let e = ISO8601DateFormatter().string(from: expires())
            return .text(
                200,
                #"{"AccessKeyId":"ASIA\#(n)","SecretAccessKey":"s","Token":"t","Expiration":"\#(e)","RoleArn":"arn:aws:iam::1:role/task"}"#,
                contentType: "application/json")
        }
    }

    @Test func containerCredentialsFullURIWithATokenFile() throws {
        let server = try Self.fakeContainer(token: "secret-auth", expires: { Date().addingTimeInterval(3600) })
        let tokenFile = try dir.write("auth", "secret-auth\n", mode: 0o600)
        let c = try chain([
            "AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://127.0.0.1:\(server.port)/v1/credentials",
            "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": tokenFile, "AWS_CONTAINER_AUTHORIZATION_TOKEN": "ignored",
        ]).credentials()
        #expect(c.accessKeyId.hasPrefix("ASIA") && c.sessionToken == "t" && c.source.contains("container"))
        #expect(server.requests.value.last?.target == "/v1/credentials")
    }

    @Test func containerCredentialsRelativeURIAndRefusedHosts() throws {
        let server = try Self.fakeContainer(token: nil, expires: { Date().addingTimeInterval(3600) })
        let c = try chain(
            ["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/credentials/abc"],
            containerBase: "http://127.0.0.1:\(server.port)"
        ).credentials()
        #expect(c.accessKeyId.hasPrefix("ASIA"))
        #expect(server.requests.value.last?.target == "/v2/credentials/abc")
        expectError(chain(["AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://example.com/creds"]), "neither https nor")
    }

    // MARK: Refreshing

    @Test func temporaryCredentialsAreRefreshedBeforeTheyExpire() throws {
        let clock = Locked(Date())
        // Credentials good for 20 s: fetched again half-way, before they expire.
        let server = try Self.fakeContainer(token: nil, expires: { clock.value.addingTimeInterval(20) })
        let c = chain(
            ["AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://127.0.0.1:\(server.port)/c"], now: { clock.value })
        let first = try c.credentials()
        clock.withLock { $0 += 9 }
        #expect(try c.credentials() == first)
        #expect(server.requests.value.count == 1)
        clock.withLock { $0 += 2 }
        let second = try c.credentials()
        #expect(second.accessKeyId != first.accessKeyId && server.requests.value.count == 2)
        #expect(c.current?.expiration == second.expiration)
    }

    @Test func aFailedRefreshKeepsCredentialsThatAreStillValid() throws {
        let clock = Locked(Date())
        let failing = Locked(false)
        let server = try Self.fakeContainer(
            token: nil, expires: { clock.value.addingTimeInterval(900) }, failing: failing)
        let c = chain(
            ["AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://127.0.0.1:\(server.port)/c"], now: { clock.value })
        let first = try c.credentials()
        failing.set(true)
        clock.withLock { $0 += 700 }  // past the 5-minute margin, 200 s left
        #expect(try c.credentials() == first)
        let calls = server.requests.value.count
        #expect(try c.credentials() == first)
        #expect(server.requests.value.count == calls)  // waits 10 s before trying again
        clock.withLock { $0 += 200 }  // expired: the error shows
        expectError(c, "container endpoint", "HTTP 500")
    }

    // MARK: credential_process

    @Test func credentialProcessVersion1() throws {
        let script = try dir.write(
            "creds.sh",
            """
            #!/bin/sh
            [ "$1" = "--role" ] && [ "$2" = "ops team" ] || { echo "bad args: $*" >&2; exit 3; }
            echo '{"Version": 1, "AccessKeyId": "ASIAPROC", "SecretAccessKey": "p", "SessionToken": "pt", "Expiration": "2030-01-01T00:00:00Z"}'
            """, mode: 0o700)
        try config("[profile proc]\ncredential_process = \(script) --role \"ops team\"\n")
        let c = try chain([:], profile: "proc").credentials()
        #expect(c.accessKeyId == "ASIAPROC" && c.sessionToken == "pt" && c.expiration != nil)
        #expect(c.source == "credential_process (profile proc)")
    }

    @Test func credentialProcessFailuresAreNamed() throws {
        let fail = try dir.write("fail.sh", "#!/bin/sh\necho 'token expired, run sso login' >&2\nexit 2\n", mode: 0o700)
        let v2 = try dir.write("v2.sh", "#!/bin/sh\necho '{\"Version\": 2, \"AccessKeyId\": \"a\"}'\n", mode: 0o700)
        try config("[profile fail]\ncredential_process = \(fail)\n[profile v2]\ncredential_process = \(v2)\n")
        expectError(chain([:], profile: "fail"), "credential_process of profile fail failed", "token expired")
        expectError(chain([:], profile: "v2"), "Version 2", "only Version 1")
    }

    @Test func commandsSplitLikeAShell() throws {
        #expect(
            try CredentialSources.splitCommand(#"/bin/tool --name 'a b' "c \"d\"" e\ f"#)
                == ["/bin/tool", "--name", "a b", #"c "d""#, "e f"])
        #expect(throws: Failure.self) { try CredentialSources.splitCommand("tool 'open") }
    }

    // MARK: IAM Identity Center

    static func fakePortal() throws -> TinyHTTPServer {
        try TinyHTTPServer { req in
            guard req.header("x-amz-sso_bearer_token") == "cached-token" else { return .text(401, "no") }
            return .text(
                200,
                #"{"roleCredentials":{"accessKeyId":"ASIASSO","secretAccessKey":"sso-s","sessionToken":"sso-t","expiration":1893456000000}}"#,
                contentType: "application/json")
        }
    }

    @Test func ssoProfilesUseTheCachedTokenOfTheirSession() throws {
        let portal = try Self.fakePortal()
        try config(
            """
            [profile dev]
            sso_session = corp
            sso_account_id = 111122223333
            sso_role_name = WhatIfAgent
            [sso-session corp]
            sso_start_url = https://corp.awsapps.com/start
            sso_region = eu-west-1
            """)
        let sso = try #require(
            try CredentialSources.ssoProfile(
                "dev", ["sso_session": "corp", "sso_account_id": "111122223333", "sso_role_name": "WhatIfAgent"],
                SharedProfiles.load(configFile: dir.file(".aws/config"), credentialsFile: dir.file("none"))))
        // The cache file is named by the SHA-1 of the session name, as the CLI names it.
        #expect(sso.cacheKey == "ee0bfd2552fbd840c02cc48b6e823320543c450f")  // hashlib.sha1(b"corp")
        let env = ["AWS_ENDPOINT_URL_SSO": "http://127.0.0.1:\(portal.port)"]
        expectError(chain(env, profile: "dev"), "no cached SSO token for profile dev", "aws sso login --profile dev")
        let expired = #"{"accessToken":"cached-token","expiresAt":"2020-01-01T00:00:00Z"}"#
        _ = try dir.write(".aws/sso/cache/\(sso.cacheKey).json", expired, mode: 0o600)
        expectError(chain(env, profile: "dev"), "expired", "aws sso login --profile dev")
        _ = try dir.write(
            ".aws/sso/cache/\(sso.cacheKey).json",
            #"{"accessToken":"cached-token","expiresAt":"2099-01-01T00:00:00Z"}"#,
            mode: 0o600)
        let c = try chain(env, profile: "dev").credentials()
        #expect(c.accessKeyId == "ASIASSO" && c.expiration == Date(timeIntervalSince1970: 1_893_456_000))
        #expect(
            portal.requests.value.last?.target
                == "/federation/credentials?account_id=111122223333&role_name=WhatIfAgent")
    }
}
