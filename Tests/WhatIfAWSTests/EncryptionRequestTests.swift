import Foundation
import Testing
import WhatIfAWS
import WhatIfHTTP
import WhatIfTesting

/// What the agent asks of S3 and DynamoDB for encryption, and how it reads S3's answers.
@Suite struct EncryptionRequestTests {
    func reported(_ algorithm: String?, _ key: String? = nil) -> S3Encryption.Reported {
        S3Encryption.Reported(algorithm: algorithm, kmsKeyId: key)
    }

    @Test func s3AnswersAreComparedWithWhatWasAsked() {
        let arn = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
        #expect(S3Encryption.s3.matches(reported("AES256")))
        #expect(!S3Encryption.s3.matches(reported(nil)))
        #expect(!S3Encryption.s3.matches(reported("aws:kms", arn)))
        // A key id or ARN is compared with the ARN S3 reports; an alias cannot be, so only the algorithm is.
        #expect(S3Encryption.kms(keyId: "1234abcd-12ab-34cd-56ef-1234567890ab").matches(reported("aws:kms", arn)))
        #expect(S3Encryption.kms(keyId: arn).matches(reported("aws:kms", arn)))
        #expect(!S3Encryption.kms(keyId: "other-key").matches(reported("aws:kms", arn)))
        #expect(S3Encryption.kms(keyId: "alias/backups").matches(reported("aws:kms", arn)))
        #expect(S3Encryption.kms(keyId: nil).matches(reported("aws:kms", arn)))
        #expect(!S3Encryption.kms(keyId: "alias/backups").matches(reported("AES256")))
    }

    @Test func exportsAskForTheSameEncryption() throws {
        let server = try TinyHTTPServer { _ in
            .text(
                200,
                #"{"ExportDescription":{"ExportArn":"arn:aws:dynamodb:us-east-1:1:table/t/export/e","ExportStatus":"IN_PROGRESS"}}"#,
                contentType: "application/x-amz-json-1.0")
        }
        let ddb = DynamoDB(
            client: AWSClient(
                settings: AWSSettings(region: "us-east-1", endpoint: "http://127.0.0.1:\(server.port)", maxAttempts: 1),
                credentials: StaticCredentials(
                    AWSCredentials(accessKeyId: "AKIA", secretAccessKey: "s", source: "test")),
                http: HTTPClient()))
        func sent(_ e: S3Encryption?) throws -> [String: String] {
            _ = try ddb.exportTableToPointInTime(
                tableArn: "arn:aws:dynamodb:us-east-1:1:table/t", bucket: "b", prefix: "p", clientToken: "c",
                encryption: e)
            let body = try #require(server.requests.value.last).body
            let json = try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] ?? [:]
            return json.compactMapValues { $0 as? String }
        }
        let kms = try sent(.kms(keyId: "alias/backups"))
        #expect(kms["S3SseAlgorithm"] == "KMS" && kms["S3SseKmsKeyId"] == "alias/backups")
        let s3 = try sent(.s3)
        #expect(s3["S3SseAlgorithm"] == "AES256" && s3["S3SseKmsKeyId"] == nil)
        #expect(try sent(nil)["S3SseAlgorithm"] == nil)
    }

    @Test func awsTimestampsOfAnyPrecision() {
        let t = Date(timeIntervalSince1970: 1_893_553_445)
        #expect(AWSTime.parse("2030-01-02T03:04:05Z") == t)
        #expect(AWSTime.parse("2030-01-02T03:04:05.000Z") == t)
        #expect(AWSTime.parse("2030-01-02T03:04:05.000000+00:00") == t)
        #expect(AWSTime.parse("2030-01-02T05:04:05+02:00") == t)
        #expect(AWSTime.parse("soon") == nil)
    }
}
