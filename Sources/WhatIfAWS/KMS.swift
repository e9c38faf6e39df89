#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// KMS (JSON 1.1): the key checks and data keys backups need. moto lets a disabled key encrypt and
/// generate data keys; AWS refuses, so `requireEnabled` is called before a key is used.
package struct KMS: Sendable {
    package let client: AWSClient
    package init(client: AWSClient) { self.client = client }

    package struct KeyMetadata: Decodable, Sendable, Equatable {
        package var keyId: String
        package var arn: String?
        /// `Enabled`, `Disabled`, `PendingDeletion`, `PendingImport`, `Unavailable`, ...
        package var keyState: String?
        package var enabled: Bool?
        package var keyUsage: String?
        // coding-keys: PascalCase
    }

    private func call<Res: Decodable>(_ operation: String, _ body: [String: String], as: Res.Type) throws -> Res {
        try client.json(.kms, target: "TrentService", operation: operation, body, as: Res.self, version: "1.1")
    }

    package func describeKey(_ keyId: String) throws -> KeyMetadata {
        // swift-format-ignore: AlwaysUseLowerCamelCase
        struct Res: Decodable { var KeyMetadata: KeyMetadata }
        return try call("DescribeKey", ["KeyId": keyId], as: Res.self).KeyMetadata
    }

    /// The key's metadata once it is found, enabled and for encryption; otherwise an error naming the
    /// key, its state and `setting` (the config key that names it).
    package func requireEnabled(_ keyId: String, setting: String) throws -> KeyMetadata {
        let k: KeyMetadata
        do { k = try describeKey(keyId) } catch let e as AWSError {
            switch e.code {
            case "NotFoundException":
                throw AWSCredentialsError(
                    "the KMS key \(keyId) (\(setting)) does not exist in \(client.settings.region)",
                    hint: "check \(setting): a key id, key ARN or alias/NAME of this region")
            case "AccessDeniedException":
                throw AWSCredentialsError(
                    "the agent may not use the KMS key \(keyId) (\(setting)): \(e.message)",
                    hint: "allow kms:DescribeKey, kms:GenerateDataKey and kms:Decrypt on it for the agent's role")
            default: throw e
            }
        }
        guard k.keyState == nil || k.keyState == "Enabled", k.enabled != false else {
            throw AWSCredentialsError(
                "the KMS key \(keyId) (\(setting)) is \(k.keyState ?? "disabled"), so nothing can be encrypted with it",
                hint: "enable it (aws kms enable-key --key-id \(k.keyId)) or name another key in \(setting)")
        }
        if let usage = k.keyUsage, usage != "ENCRYPT_DECRYPT" {
            throw AWSCredentialsError(
                "the KMS key \(keyId) (\(setting)) is for \(usage), not ENCRYPT_DECRYPT",
                hint: "name a symmetric encryption key in \(setting)")
        }
        return k
    }

    /// A new 256-bit data key: its plaintext (keep it in memory only) and the blob KMS wraps it in.
    package func generateDataKey(_ keyId: String) throws -> (plaintext: [UInt8], wrapped: [UInt8], keyArn: String) {
        // swift-format-ignore: AlwaysUseLowerCamelCase
        struct Res: Decodable {
            var Plaintext: String
            var CiphertextBlob: String
            var KeyId: String
        }
        let r = try call("GenerateDataKey", ["KeyId": keyId, "KeySpec": "AES_256"], as: Res.self)
        guard let p = Data(base64Encoded: r.Plaintext), let w = Data(base64Encoded: r.CiphertextBlob), p.count == 32
        else {
            throw AWSError(
                service: "kms", operation: "GenerateDataKey", status: 200, code: "MalformedResponse",
                serviceMessage: "the data key is not 32 bytes of base64")
        }
        return (Array(p), Array(w), r.KeyId)
    }

    /// Unwraps a data key KMS generated.
    package func decrypt(_ wrapped: [UInt8], keyId: String?) throws -> [UInt8] {
        // swift-format-ignore: AlwaysUseLowerCamelCase
        struct Res: Decodable { var Plaintext: String }
        var body = ["CiphertextBlob": Data(wrapped).base64EncodedString()]
        if let keyId { body["KeyId"] = keyId }
        let r = try call("Decrypt", body, as: Res.self)
        guard let p = Data(base64Encoded: r.Plaintext) else {
            throw AWSError(
                service: "kms", operation: "Decrypt", status: 200, code: "MalformedResponse",
                serviceMessage: "the plaintext is not base64")
        }
        return Array(p)
    }
}
