import WhatIfCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// STS (query protocol, 2011-06-15): the calls behind role credentials. AssumeRoleWithWebIdentity is
/// sent unsigned, as the SDKs send it: the web identity token is the proof.
package struct STS: Sendable {
    package let client: AWSClient
    package init(client: AWSClient) { self.client = client }

    static let version = "2011-06-15"

    /// What AssumeRole and AssumeRoleWithWebIdentity take besides the role.
    package struct RoleSession: Sendable, Equatable {
        package var roleArn: String
        package var sessionName: String
        package var externalId: String?
        /// 900 to the role's maximum (43200); AWS's default (3600) when nil.
        package var durationSeconds: Int?

        package init(roleArn: String, sessionName: String, externalId: String? = nil, durationSeconds: Int? = nil) {
            self.roleArn = roleArn
            self.sessionName = sessionName
            self.externalId = externalId
            self.durationSeconds = durationSeconds
        }

        var parameters: [(String, String)] {
            var p = [("RoleArn", roleArn), ("RoleSessionName", sessionName)]
            if let d = durationSeconds { p.append(("DurationSeconds", String(d))) }
            return p
        }
    }

    /// AssumeRole with the client's own credentials.
    package func assumeRole(_ s: RoleSession, source: String) throws -> AWSCredentials {
        var p = s.parameters
        if let e = s.externalId { p.append(("ExternalId", e)) }
        let root = try client.query(.sts, action: "AssumeRole", version: Self.version, parameters: p)
        return try Self.credentials(root, action: "AssumeRole", source: source)
    }

    /// AssumeRoleWithWebIdentity with a token (an OIDC JWT: EKS service accounts, GitHub Actions).
    package func assumeRoleWithWebIdentity(_ s: RoleSession, token: String, source: String) throws -> AWSCredentials {
        let unsigned = AWSClient(
            settings: client.settings, credentials: NoCredentials(), http: client.http, logger: client.logger)
        let root = try unsigned.query(
            .sts, action: "AssumeRoleWithWebIdentity", version: Self.version,
            parameters: s.parameters + [("WebIdentityToken", token)])
        return try Self.credentials(root, action: "AssumeRoleWithWebIdentity", source: source)
    }

    /// The ARN the client's credentials stand for.
    package func callerIdentity() throws -> String {
        let root = try client.query(.sts, action: "GetCallerIdentity", version: Self.version, parameters: [])
        return root.first("Arn")?.text ?? ""
    }

    static func credentials(_ root: XMLElement, action: String, source: String) throws -> AWSCredentials {
        guard let c = root.first("Credentials"), let id = c["AccessKeyId"], let secret = c["SecretAccessKey"],
            !id.isEmpty, !secret.isEmpty
        else {
            throw AWSCredentialsError("STS \(action) answered without credentials")
        }
        return AWSCredentials(
            accessKeyId: id, secretAccessKey: secret, sessionToken: c["SessionToken"],
            expiration: c["Expiration"].flatMap(AWSTime.parse), source: source)
    }
}

/// Timestamps as AWS writes them: ISO 8601 in UTC, with or without fractional seconds (of any
/// precision), `Z` or an offset.
package enum AWSTime {
    private static let withFraction = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
    private static let withoutFraction = Date.ISO8601FormatStyle()

    /// `2026-12-01T02:00:00Z`, as AWS's query APIs take times.
    package static func format(_ d: Date) -> String { withoutFraction.format(d) }

    package static func parse(_ s: String) -> Date? {
        var text = s.trimmingWhitespace()
        // Keep at most three fractional digits (moto writes microseconds).
        if let dot = text.firstIndex(of: ".") {
            let digits = text[text.index(after: dot)...].prefix { $0.isNumber }
            if digits.count > 3 {
                let cut = text.index(text.index(after: dot), offsetBy: 3)
                text.removeSubrange(cut..<text.index(cut, offsetBy: digits.count - 3))
            }
        }
        if let d = try? withFraction.parse(text) { return d }
        if let d = try? withoutFraction.parse(text) { return d }
        // Epoch seconds (some credential endpoints write a number).
        return Double(text).map { Date(timeIntervalSince1970: $0) }
    }
}
