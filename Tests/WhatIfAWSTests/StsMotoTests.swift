import Foundation
import Testing
import WhatIfAWS
import WhatIfCore
import WhatIfHTTP
import WhatIfTesting

/// Role profiles against moto's STS (signature checking on): the chain assumes the role with the
/// source profile's keys, the assumed credentials work for DynamoDB, chains of roles work, and
/// credentials are assumed again before they expire.
@Suite struct StsMotoTests {
    let stack: StackInfo
    let dir = TempDir()
    let roleArn: String

    init() throws {
        stack = try Stack.shared()
        let keys = stack.awsKeys
        let iam = AWSClient(
            settings: AWSSettings(region: "us-east-1", endpoint: stack.motoEndpoint),
            credentials: StaticCredentials(
                AWSCredentials(accessKeyId: keys.id, secretAccessKey: keys.secret, source: "test")),
            http: HTTPClient())
        let service = AWSService(name: "iam", displayName: "IAM")
        let name = "whatif-sts-\(UUID().uuidString.prefix(8).lowercased())"
        let trust =
            #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}"#
        let created = try iam.query(
            service, action: "CreateRole", version: "2010-05-08",
            parameters: [("RoleName", name), ("AssumeRolePolicyDocument", trust)])
        roleArn = try #require(created.first("Arn")?.text)
        let all = #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#
        _ = try iam.query(
            service, action: "PutRolePolicy", version: "2010-05-08",
            parameters: [("RoleName", name), ("PolicyName", "all"), ("PolicyDocument", all)])
        _ = try dir.write(
            "credentials", "[moto-user]\naws_access_key_id = \(keys.id)\naws_secret_access_key = \(keys.secret)\n",
            mode: 0o600)
        _ = try dir.write(
            "config",
            """
            [profile ops]
            role_arn = \(roleArn)
            source_profile = moto-user
            external_id = whatif-ext
            role_session_name = whatif-test
            duration_seconds = 900
            [profile chained]
            role_arn = \(roleArn)
            source_profile = ops
            role_session_name = second-hop
            """, mode: 0o600)
    }

    func chain(_ profile: String, now: @escaping @Sendable () -> Date = { Date() }) -> AWSCredentialChain {
        AWSCredentialChain(
            settings: .init(
                environment: ["HOME": dir.path, "AWS_EC2_METADATA_DISABLED": "true"], explicitProfile: profile,
                credentialsFile: dir.file("credentials"), configFile: dir.file("config"),
                sts: AWSSettings(region: "us-east-1", endpoint: stack.motoEndpoint)),
            http: HTTPClient(), now: now)
    }

    func client(_ c: AWSCredentialChain) -> AWSClient {
        AWSClient(
            settings: AWSSettings(region: "us-east-1", endpoint: stack.motoEndpoint), credentials: c, http: HTTPClient()
        )
    }

    @Test func aRoleProfileAssumesTheRoleAndItsCredentialsWork() throws {
        let c = chain("ops")
        let creds = try c.credentials()
        #expect(creds.accessKeyId.hasPrefix("ASIA") && creds.sessionToken != nil)
        #expect(creds.source.contains("role \(roleArn) (profile ops"))
        // duration_seconds = 900 reached STS.
        let left = try #require(creds.expiration).timeIntervalSinceNow
        #expect(left > 800 && left <= 901)
        let arn = try STS(client: client(c)).callerIdentity()
        #expect(arn.contains(":assumed-role/") && arn.hasSuffix("/whatif-test"))
        _ = try DynamoDB(client: client(c)).listTables()
    }

    @Test func aRoleAssumedFromAnotherRole() throws {
        let c = chain("chained")
        let arn = try STS(client: client(c)).callerIdentity()
        #expect(arn.hasSuffix("/second-hop"))
        #expect(c.current?.source.contains("profile chained, from role") == true)
    }

    @Test func roleCredentialsAreAssumedAgainBeforeTheyExpire() throws {
        let clock = Locked(Date())
        let c = chain("ops", now: { clock.value })
        let first = try c.credentials()
        clock.withLock { $0 += 500 }
        #expect(try c.credentials().accessKeyId == first.accessKeyId)
        clock.withLock { $0 += 101 }  // 601 s of 900: inside the 5-minute margin
        let second = try c.credentials()
        #expect(second.accessKeyId != first.accessKeyId)
        _ = try DynamoDB(client: client(c)).listTables()
    }
}
