import WhatIfCore
import WhatIfHTTP

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// An error answer from an AWS service, decoded from its JSON, query-XML or S3-XML body.
public struct AWSError: OperatorError, Sendable {
    package var service: String
    package var operation: String
    public var status: Int
    /// The service's error code: `ResourceNotFoundException`, `Throttling`, `NoSuchKey`, ...
    public var code: String
    package var serviceMessage: String
    package var requestId: String?

    public var message: String {
        "\(service) \(operation) failed: \(code)" + (serviceMessage.isEmpty ? "" : ": \(serviceMessage)")
            + " (HTTP \(status))"
    }

    public var hint: String? {
        switch code {
        case "UnrecognizedClientException", "InvalidClientTokenId", "InvalidAccessKeyId":
            "the access key is not known to AWS: check the credentials the agent uses (whatifctl status shows their source)"
        case "SignatureDoesNotMatch", "IncompleteSignature":
            "the secret key does not match the access key, or the host's clock is off (check timedatectl)"
        case "ExpiredToken", "ExpiredTokenException", "RequestExpired":
            "the credentials or the request expired: refresh the session token, or check the clock"
        case "AccessDenied", "AccessDeniedException", "UnauthorizedOperation":
            "the agent's IAM identity lacks \(AWSService(name: service, displayName: service).iamAction(operation) ?? operation): add it to the role's policy (/usr/share/doc/whatif-agent/iam.md has one per feature)"
        case "ResourceNotFoundException":
            service == "dynamodb"
                ? "the table does not exist in this region: create it with `whatifctl tables setup`" : nil
        case "NoSuchBucket":
            "the bucket does not exist in this region: create it, or fix backups.s3.bucket"
        case "DBInstanceNotFound", "DBInstanceNotFoundFault":
            "no RDS instance by that name in this region: fix rds.instance_id"
        case "ReplicationGroupNotFoundFault":
            "no ElastiCache replication group by that name in this region: fix elasticache.replication_group_id"
        default:
            isThrottling
                ? "AWS is throttling: the agent backed off and retried; lower the rate or raise the capacity" : nil
        }
    }

    static let throttlingCodes: Set<String> = [
        "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException", "TransactionInProgressException", "RequestLimitExceeded",
        "BandwidthLimitExceeded", "LimitExceededException", "RequestThrottled", "SlowDown", "PriorRequestNotComplete",
        "EC2ThrottledException", "ThrottlingError",
    ]
    static let transientCodes: Set<String> = [
        "RequestTimeout", "RequestTimeoutException", "InternalError", "InternalFailure", "InternalServerError",
        "ServiceUnavailable", "ServiceUnavailableException",
    ]
    /// The credentials were refused: expired, or unknown (rotated keys). They are resolved again, once.
    static let staleCredentialCodes: Set<String> = [
        "ExpiredToken", "ExpiredTokenException", "RequestExpired", "UnrecognizedClientException",
        "InvalidClientTokenId",
        "InvalidAccessKeyId",
    ]

    package var isThrottling: Bool { Self.throttlingCodes.contains(code) || status == 429 }
    /// Throttling and server-side (5xx) failures: retried with backoff.
    package var isRetryable: Bool { isThrottling || Self.transientCodes.contains(code) || (500...599).contains(status) }

    /// Decodes an error body of any of the three AWS wire formats.
    public static func decode(service: String, operation: String, response: HTTPResponse) -> AWSError {
        let requestId = response.header("x-amzn-requestid") ?? response.header("x-amz-request-id")
        var code = ""
        var msg = ""
        let body = response.body
        if let first = body.first(where: { $0 != 32 && $0 != 10 && $0 != 13 && $0 != 9 }) {
            if first == UInt8(ascii: "{") {
                // Names are AWS's wire format.
                // swift-format-ignore: AlwaysUseLowerCamelCase
                struct JSONError: Decodable {
                    var __type: String?
                    var code: String?
                    var Code: String?
                    var message: String?
                    var Message: String?
                }
                if let e = try? JSONDecoder().decode(JSONError.self, from: Data(body)) {
                    code = e.__type ?? e.code ?? e.Code ?? ""
                    msg = e.message ?? e.Message ?? ""
                }
            } else if first == UInt8(ascii: "<"), let root = try? XMLReader.parse(body) {
                code = root.first("Code")?.text ?? ""
                msg = root.first("Message")?.text ?? ""
            } else {
                msg = String(decoding: body.prefix(200), as: UTF8.self)
            }
        }
        if code.isEmpty, let t = response.header("x-amzn-errortype") { code = t }
        // "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException" and "Code:Description" forms.
        if let hash = code.lastIndex(of: "#") { code = String(code[code.index(after: hash)...]) }
        if let colon = code.firstIndex(of: ":") { code = String(code[..<colon]) }
        if code.isEmpty {
            code =
                switch response.status {
                case 400: "BadRequest"
                case 403: "AccessDenied"
                case 404: "NotFound"
                case 500...599: "ServiceUnavailable"
                default: "HTTP\(response.status)"
                }
        }
        return AWSError(
            service: service, operation: operation, status: response.status, code: code, serviceMessage: msg,
            requestId: requestId)
    }
}
