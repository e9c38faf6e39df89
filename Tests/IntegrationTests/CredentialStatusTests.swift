import Foundation
import Testing
import WhatIfAgentTesting
import WhatIfCore
import WhatIfProtocol
import WhatIfTesting

/// `whatifctl status` names the AWS credentials' source and expiry, never a key, with the built
/// whatifd assuming a role through moto's STS.
@Suite struct CredentialStatusTests {
    /// A role in moto that may do anything, created with the stack's IAM user; its ARN.
    static func motoRole(_ stack: StackInfo) throws -> String {
        let keys = stack.awsKeys
        let name = "whatif-status-\(UUID().uuidString.prefix(8).lowercased())"
        let r = try Run.command([
            "python3", "-c",
            """
            import boto3, json
            iam = boto3.client('iam', endpoint_url='\(stack.motoEndpoint)', region_name='us-east-1', aws_access_key_id='\(keys.id)', aws_secret_access_key='\(keys.secret)')
            doc = lambda s: json.dumps({'Version': '2012-10-17', 'Statement': [s]})
            arn = iam.create_role(RoleName='\(name)', AssumeRolePolicyDocument=doc({'Effect': 'Allow', 'Principal': {'AWS': '*'}, 'Action': 'sts:AssumeRole'}))['Role']['Arn']
            iam.put_role_policy(RoleName='\(name)', PolicyName='all', PolicyDocument=doc({'Effect': 'Allow', 'Action': '*', 'Resource': '*'}))
            print(arn)
            """,
        ])
        try #require(r.status == 0, "\(r.output)")
        return r.stdout.trimmingWhitespace()
    }

    func agent(profile: String, configFile: String, _ stack: StackInfo) throws -> AgentProcess {
        var config = TestConfig.forStack(stack)
        config.postgres = nil
        config.redis = nil
        config.aws = """
              endpoint: \(stack.motoEndpoint)
              credentials_file: \(stack.awsCredentialsFile)
              config_file: \(configFile)
              profile: \(profile)
              max_attempts: 2

            """
        return try AgentProcess(config)
    }

    @Test func statusNamesTheAssumedRoleAndWhenItsCredentialsExpire() throws {
        let stack = try Stack.shared()
        let arn = try Self.motoRole(stack)
        let dir = TempDir()
        let file = try dir.write(
            "config", "[profile ops]\nrole_arn = \(arn)\nsource_profile = \(stack.awsProfile)\nduration_seconds = 900\n"
        )
        let agent = try agent(profile: "ops", configFile: file, stack)
        let r = try agent.ctl(["status", "--json"])
        let report = try APICoding.decode(StatusReport.self, from: Array(r.stdout.utf8))
        let c = try #require(report.credentials, "\(r.output)")
        #expect(c.source?.hasPrefix("role \(arn) (profile ops, from profile \(stack.awsProfile)") == true, "\(c)")
        let left = try #require(c.expiresAt).timeIntervalSinceNow
        #expect(left > 600 && left <= 900)
        let human = try agent.ctl(["status"]).stdout
        #expect(
            human.contains("aws credentials: role \(arn) (profile ops") && human.contains(", expire in "), "\(human)")
        // Nothing secret: neither the source profile's keys nor the session's.
        let keys = stack.awsKeys
        #expect(!r.stdout.contains(keys.secret) && !human.contains(keys.secret) && !r.stdout.contains("ASIA"))
    }

    @Test func statusSaysWhyThereAreNoCredentials() throws {
        let stack = try Stack.shared()
        let dir = TempDir()
        let file = try dir.write("config", "[profile other]\nregion = us-east-1\n")
        let agent = try agent(profile: "missing", configFile: file, stack)
        let r = try agent.ctl(["status", "--json"])
        let c = try #require(try APICoding.decode(StatusReport.self, from: Array(r.stdout.utf8)).credentials)
        #expect(c.source == nil && c.error?.contains("there is no profile missing") == true, "\(c)")
        #expect(c.hint?.contains("aws.profile") == true)
        #expect(try agent.ctl(["status"]).stdout.contains("aws credentials: error: there is no profile missing"))
    }
}

/// Session credentials that expire in the middle of a backup: AWS answers ExpiredToken, the agent
/// assumes the role again and the backup goes on; the copy is complete and verifies.
@Suite struct ExpiringCredentialsTests {
    @Test func aRoleSessionExpiringMidBackupIsRenewedAndTheBackupCompletes() throws {
        let fx = BackupFixture(stack: try Stack.shared())
        let stack = fx.stack
        let arn = try CredentialStatusTests.motoRole(stack)
        let table = try fx.seedTable(60)
        let bucket = "whatif-expiry-\(getpid())"
        _ = try fx.ddb(["mkbucket", fx.envFile, bucket])
        let dir = TempDir()
        let file = try dir.write(
            "config", "[profile ops]\nrole_arn = \(arn)\nsource_profile = \(stack.awsProfile)\nduration_seconds = 900\n"
        )
        let proxy = try FaultProxy(upstream: stack.motoEndpoint)
        var config = fx.config(
            db: nil, table: table,
            backups: "  location: \(TempDir("whatif-backups").path)\n  s3:\n    bucket: \(bucket)\n")
        config.aws = """
              endpoint: \(proxy.url)
              credentials_file: \(stack.awsCredentialsFile)
              config_file: \(file)
              profile: ops
              max_attempts: 3

            """
        config.logLevel = "debug"
        let a = try AgentProcess(config)
        // The session expires during the scan, and again during the S3 copy.
        proxy.add(.init(operation: "Scan", fault: .expiredCredentials, count: 1))
        proxy.add(.init(operation: "PUT", fault: .expiredCredentials, count: 1))
        let r = try a.ctl(["backup", "dynamodb"])
        #expect(r.status == 0, "\(r.output)")
        #expect(proxy.injected.value == 2)
        let assumed = a.process.log.matches(of: /iam_action=sts:AssumeRole\b/).count
        #expect(assumed >= 3, "the role is assumed at the start and again after each expiry: \(assumed)")
        let e = try #require(try a.client.backups().backups.first)
        #expect(e.locations == [.local, .s3] && e.manifest.items == 60)
        #expect(try a.ctl(["backups", "verify", e.id]).status == 0)
    }
}
