import Foundation
import Testing
import WhatIfAWS
import WhatIfHTTP
import WhatIfTesting

@Suite struct CredentialChainTests {
    let dir = TempDir()

    func chain(_ env: [String: String], profile: String? = nil, imds: String? = nil) -> AWSCredentialChain {
        var e = env
        e["HOME"] = dir.path
        return AWSCredentialChain(
            settings: .init(
                environment: e, explicitProfile: profile, imdsEndpoint: imds ?? "http://127.0.0.1:\(freePort())"),
            http: HTTPClient(connectTimeout: 0.5))
    }

    func writeProfiles() throws {
        try dir.write(
            ".aws/credentials",
            "[default]\naws_access_key_id = AKIAFILE\naws_secret_access_key = file-secret\n[ops]\naws_access_key_id = AKIAOPS\naws_secret_access_key = ops-secret\naws_session_token = ops-token\n",
            mode: 0o600)
        try dir.write(
            ".aws/config",
            "[profile sso]\nsso_start_url = https://example.awsapps.com/start\n[profile cfg]\naws_access_key_id = AKIACFG\naws_secret_access_key = cfg-secret\nregion = eu-north-1\n",
            mode: 0o600)
    }

    @Test func environmentComesFirst() throws {
        try writeProfiles()
        let c = try chain([
            "AWS_ACCESS_KEY_ID": "AKIAENV", "AWS_SECRET_ACCESS_KEY": "env-secret", "AWS_SESSION_TOKEN": "tok",
        ]).credentials()
        #expect(c.accessKeyId == "AKIAENV" && c.sessionToken == "tok" && c.source == "environment")
    }

    @Test func thenTheDefaultProfile() throws {
        try writeProfiles()
        let c = try chain([:]).credentials()
        #expect(c.accessKeyId == "AKIAFILE" && c.source.contains("default"))
    }

    @Test func awsProfileSelectsAProfileButEnvironmentStillWins() throws {
        try writeProfiles()
        #expect(try chain(["AWS_PROFILE": "ops"]).credentials().sessionToken == "ops-token")
        #expect(
            try chain(["AWS_PROFILE": "ops", "AWS_ACCESS_KEY_ID": "AKIAENV", "AWS_SECRET_ACCESS_KEY": "x"])
                .credentials().accessKeyId == "AKIAENV")
    }

    @Test func aProfileNamedInTheConfigSkipsTheEnvironment() throws {
        try writeProfiles()
        let c = try chain(["AWS_ACCESS_KEY_ID": "AKIAENV", "AWS_SECRET_ACCESS_KEY": "x"], profile: "ops").credentials()
        #expect(c.accessKeyId == "AKIAOPS")
    }

    @Test func configFileProfilesWork() throws {
        try writeProfiles()
        let c = try chain([:], profile: "cfg").credentials()
        #expect(c.accessKeyId == "AKIACFG")
        #expect(chain([:], profile: "cfg").profileRegion() == "eu-north-1")
    }

    @Test func incompleteOrMissingProfilesSayWhat() throws {
        try writeProfiles()
        #expect { try chain([:], profile: "sso").credentials() } throws: {
            ($0 as? AWSCredentialsError)?.message.contains("lacks sso_region, sso_account_id, sso_role_name") == true
        }
        #expect { try chain([:], profile: "nope").credentials() } throws: {
            ($0 as? AWSCredentialsError)?.message.contains("there is no profile nope") == true
        }
    }

    @Test func instanceRoleThroughIMDSv2() throws {
        let expiry = Date().addingTimeInterval(3600)
        let imds = try FakeIMDS(
            accessKeyId: "ASIAROLE", secretAccessKey: "role-secret", sessionToken: "role-token", expiration: expiry)
        let ch = chain([:], imds: imds.endpoint)
        let c = try ch.credentials()
        #expect(c.accessKeyId == "ASIAROLE" && c.sessionToken == "role-token" && c.source.contains(imds.role))
        #expect(abs((c.expiration ?? .distantPast).timeIntervalSince(expiry)) < 1)
        // A session token was fetched with PUT before any GET, and every GET carried it.
        let reqs = imds.server.requests.value
        #expect(reqs.first?.method == "PUT")
        #expect(reqs.dropFirst().allSatisfy { $0.header("x-aws-ec2-metadata-token") != nil })
        // Cached: no further metadata calls while the credentials are fresh.
        _ = try ch.credentials()
        #expect(imds.server.requests.value.count == reqs.count)
    }

    @Test func expiringRoleCredentialsAreRefreshedAndExpiredTokensRenewed() throws {
        let imds = try FakeIMDS(
            accessKeyId: "ASIAROLE", secretAccessKey: "s", sessionToken: "t", expiration: Date().addingTimeInterval(60))
        let provider = IMDSCredentials(endpoint: imds.endpoint, http: HTTPClient())
        _ = try provider.credentials()
        imds.expireTokens()
        // The next call gets a 401, fetches a new token, and succeeds.
        #expect(try provider.credentials().accessKeyId == "ASIAROLE")
        // Credentials at their expiry are fetched again by the chain at each call (the refresh
        // margins are CredentialSourceTests.temporaryCredentialsAreRefreshedBeforeTheyExpire).
        let now = try FakeIMDS(accessKeyId: "ASIANOW", secretAccessKey: "s", sessionToken: "t", expiration: Date())
        let ch = chain([:], imds: now.endpoint)
        _ = try ch.credentials()
        let before = now.server.requests.value.count
        _ = try ch.credentials()
        #expect(now.server.requests.value.count > before)
    }

    @Test func noCredentialsAnywhereSaysWhatToDo() throws {
        #expect {
            try chain([:]).credentials()
        } throws: { e in
            guard let e = e as? AWSCredentialsError else { return false }
            return e.message.contains("no AWS credentials") && (e.hint ?? "").contains("AWS_ACCESS_KEY_ID")
        }
    }
}
