import Foundation
import Testing
import WhatIfAWS
import WhatIfCore
import WhatIfHTTP
import WhatIfTesting

/// The KMS client against moto: key checks stricter than moto (which lets a disabled key encrypt),
/// data keys that unwrap.
@Suite struct KMSMotoTests {
    let kms: KMS

    init() throws {
        let stack = try Stack.shared()
        let keys = stack.awsKeys
        kms = KMS(
            client: AWSClient(
                settings: AWSSettings(region: "us-east-1", endpoint: stack.motoEndpoint),
                credentials: StaticCredentials(
                    AWSCredentials(accessKeyId: keys.id, secretAccessKey: keys.secret, source: "test")),
                http: HTTPClient()))
    }

    func newKey() throws -> String {
        let bytes = try kms.client.json(
            .kms, target: "TrentService", operation: "CreateKey", body: Array(#"{"Description":"whatif test"}"#.utf8),
            version: "1.1")
        let json = try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: [String: Any]]
        return try #require(json?["KeyMetadata"]?["KeyId"] as? String)
    }

    @Test func enabledDisabledAndMissingKeys() throws {
        let key = try newKey()
        #expect(try kms.requireEnabled(key, setting: "x.kms_key_id").keyState == "Enabled")
        _ = try kms.client.json(
            .kms, target: "TrentService", operation: "DisableKey", body: Array(#"{"KeyId":"\#(key)"}"#.utf8),
            version: "1.1")
        #expect {
            try kms.requireEnabled(key, setting: "x.kms_key_id")
        } throws: { e in
            let e = e as? AWSCredentialsError
            return e?.message == "the KMS key \(key) (x.kms_key_id) is Disabled, so nothing can be encrypted with it"
                && e?.hint?.contains("aws kms enable-key --key-id \(key)") == true
        }
        #expect {
            try kms.requireEnabled("alias/whatif-missing", setting: "x.kms_key_id")
        } throws: { e in
            (e as? AWSCredentialsError)?.message.contains("alias/whatif-missing (x.kms_key_id) does not exist") == true
        }
    }

    @Test func dataKeysUnwrap() throws {
        let key = try newKey()
        let dk = try kms.generateDataKey(key)
        #expect(dk.plaintext.count == 32 && dk.wrapped != dk.plaintext && dk.keyArn.hasSuffix(key))
        #expect(try kms.decrypt(dk.wrapped, keyId: key) == dk.plaintext)
    }
}
