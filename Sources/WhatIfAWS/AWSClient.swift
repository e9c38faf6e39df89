import Logging
import WhatIfCore
import WhatIfCrypto
import WhatIfHTTP

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// An AWS service as the client signs and addresses it.
package struct AWSService: Sendable, Hashable {
    /// The SigV4 signing name and endpoint prefix: `dynamodb`, `monitoring`, `s3`, `rds`, `elasticache`.
    package var name: String
    package var displayName: String

    // memberwise-init: package

    package static let dynamodb = AWSService(name: "dynamodb", displayName: "DynamoDB")
    package static let cloudwatch = AWSService(name: "monitoring", displayName: "CloudWatch")
    package static let s3 = AWSService(name: "s3", displayName: "S3")
    package static let rds = AWSService(name: "rds", displayName: "RDS")
    package static let elasticache = AWSService(name: "elasticache", displayName: "ElastiCache")
    package static let sts = AWSService(name: "sts", displayName: "STS")
    package static let kms = AWSService(name: "kms", displayName: "KMS")
}

package struct AWSSettings: Sendable {
    package var region: String
    /// One endpoint for every service (moto_server, LocalStack), e.g. `http://127.0.0.1:5000`.
    package var endpoint: String?
    /// Per-service endpoints, by signing name (`dynamodb`: DynamoDB Local at http://localhost:8000).
    package var serviceEndpoints: [String: String] = [:]
    /// Attempts per call, the first included.
    package var maxAttempts: Int = 5
    /// Seconds an attempt may go without sending or receiving a byte (botocore's read_timeout): an
    /// object transfer that keeps moving is not cut off, however large.
    package var timeout: Double = 15
    package var backoff: Backoff = Backoff(base: 0.05, cap: 10)

    // memberwise-init: package
}

/// One finished AWS call, for the agent's own request counters.
package struct AWSCallRecord: Sendable {
    package var service: String
    package var operation: String
    package var status: Int
    package var errorCode: String?
    package var attempts: Int
    package var seconds: Double
}

/// Signs, sends and retries AWS calls. Blocking; safe to share between threads.
package final class AWSClient: Sendable {
    package let settings: AWSSettings
    package let credentials: any AWSCredentialProvider
    package let http: HTTPClient
    let logger: Logger
    private let now: @Sendable () -> Date
    private let sleep: @Sendable (Double) -> Void
    private let observer: (@Sendable (AWSCallRecord) -> Void)?

    package init(
        settings: AWSSettings, credentials: any AWSCredentialProvider, http: HTTPClient,
        logger: Logger = Logger(label: "whatif.aws"), now: @escaping @Sendable () -> Date = { Date() },
        sleep: @escaping @Sendable (Double) -> Void = { sleepThread(seconds: $0) },
        observer: (@Sendable (AWSCallRecord) -> Void)? = nil
    ) {
        self.settings = settings
        self.credentials = credentials
        self.http = http
        self.logger = logger
        self.now = now
        self.sleep = sleep
        self.observer = observer
    }

    /// The same client for another region.
    package func with(region: String) -> AWSClient {
        var s = settings
        s.region = region
        return AWSClient(
            settings: s, credentials: credentials, http: http, logger: logger, now: now, sleep: sleep,
            observer: observer)
    }

    /// The base URL for a service: the override, or the regional AWS endpoint.
    package func baseURL(for service: AWSService) -> String {
        var url =
            settings.serviceEndpoints[service.name] ?? settings.endpoint
            ?? {
                let suffix = settings.region.hasPrefix("cn-") ? "amazonaws.com.cn" : "amazonaws.com"
                return "https://\(service.name).\(settings.region).\(suffix)"
            }()
        while url.hasSuffix("/") { url.removeLast() }
        return url
    }

    package func isOverridden(_ service: AWSService) -> Bool {
        settings.serviceEndpoints[service.name] != nil || settings.endpoint != nil
    }

    /// Splits `scheme://host[:port][/base]` into its parts.
    static func split(_ url: String) -> (scheme: String, hostHeader: String, basePath: String)? {
        guard let r = url.find("://") else { return nil }
        let scheme = String(url[..<r.lowerBound]).lowercased()
        let rest = url[r.upperBound...]
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        var host = String(rest[..<slash])
        if scheme == "https", host.hasSuffix(":443") { host.removeLast(4) }
        if scheme == "http", host.hasSuffix(":80") { host.removeLast(3) }
        return (scheme, host, String(rest[slash...]))
    }

    package struct Call: Sendable {
        package var service: AWSService
        package var operation: String
        package var method: String = "POST"
        /// Path relative to the service's base, already percent-encoded (S3 keys).
        package var path: String = "/"
        /// Query string without `?`, already encoded.
        package var query: String = ""
        package var headers: [(name: String, value: String)] = []
        package var body: [UInt8] = []
        /// S3 signs without path normalization and with x-amz-content-sha256.
        package var s3: Bool = false
        /// Virtual-hosted S3: prepended to the host.
        package var hostPrefix: String?

        // memberwise-init: package
    }

    /// Sends a call, retrying throttling, 5xx and transport failures with exponential backoff and full
    /// jitter. Returns a 2xx response; throws `AWSError` for error answers and `HTTPError` for transport
    /// failures that outlasted the retries. A body streamed to `onBody` that breaks off is resumed where
    /// it stopped (`StreamResume`): the sink sees each byte once, in order.
    package func send(_ call: Call, onBody: ((UnsafeRawBufferPointer) throws -> Void)? = nil) throws -> HTTPResponse {
        let watch = Stopwatch()
        var attempt = 0
        var refreshedCredentials = false
        var generator = SystemRandomNumberGenerator()
        let stream = onBody.map { (sink: $0, resume: StreamResume()) }
        while true {
            attempt += 1
            let outcome: Result<HTTPResponse, any Error>
            do {
                let request = try signedRequest(stream?.resume.next(call) ?? call)
                outcome = .success(
                    try http.send(
                        request, onHead: stream?.resume.check,
                        onBody: stream.map { s in { try s.resume.pass($0, to: s.sink) } }))
            } catch {
                outcome = .failure(error)
            }
            var retryable = false
            var failure: (any Error)?
            switch outcome {
            case .success(let r) where (200..<300).contains(r.status):
                logCall(call, status: r.status, attempt: attempt)
                observer?(
                    AWSCallRecord(
                        service: call.service.name, operation: call.operation, status: r.status, errorCode: nil,
                        attempts: attempt,
                        seconds: watch.elapsedSeconds))
                return r
            case .success(let r):
                let e = AWSError.decode(service: call.service.name, operation: call.operation, response: r)
                if AWSError.staleCredentialCodes.contains(e.code), !refreshedCredentials,
                    let chain = credentials as? AWSCredentialChain
                {
                    chain.invalidate()
                    refreshedCredentials = true
                    retryable = true
                } else {
                    retryable = e.isRetryable
                }
                failure = e
            case .failure(let e as HTTPError):
                retryable = e.isTransient
                failure = e
            case .failure(let e):
                failure = e
            }
            if !retryable || attempt >= settings.maxAttempts || stream?.resume.canResume == false {
                let e = failure!
                logCall(call, status: (e as? AWSError)?.status ?? 0, attempt: attempt, error: (e as? AWSError)?.code)
                observer?(
                    AWSCallRecord(
                        service: call.service.name, operation: call.operation, status: (e as? AWSError)?.status ?? 0,
                        errorCode: (e as? AWSError)?.code ?? "Transport", attempts: attempt,
                        seconds: watch.elapsedSeconds))
                throw e
            }
            let delay = settings.backoff.delay(retry: attempt - 1, using: &generator)
            logger.debug(
                "retrying AWS call",
                metadata: [
                    "service": "\(call.service.name)", "operation": "\(call.operation)", "attempt": "\(attempt)",
                    "delay_ms": "\(Int(delay * 1000))", "error": "\(failure!)",
                ])
            sleep(delay)
        }
    }

    /// One line per finished call at debug level, with the IAM action it needed (what to put in a
    /// policy; docs/iam.md).
    private func logCall(_ call: Call, status: Int, attempt: Int, error: String? = nil) {
        logger.debug(
            "AWS call",
            metadata: [
                "service": "\(call.service.name)", "operation": "\(call.operation)",
                "iam_action": "\(call.service.iamAction(call.operation) ?? "none")", "status": "\(status)",
                "attempts": "\(attempt)", "error": "\(error ?? "")",
            ])
    }

    /// The request `send` would make, signed (for tests that compare with other signers).
    package func signedRequestForTesting(_ call: Call) throws -> HTTPRequest { try signedRequest(call) }

    func signedRequest(_ call: Call) throws -> HTTPRequest {
        let base = baseURL(for: call.service)
        guard let parts = Self.split(base) else {
            throw AWSCredentialsError("bad endpoint URL \(base)", hint: "use http://host:port or https://host")
        }
        let host = (call.hostPrefix.map { "\($0)." } ?? "") + parts.hostHeader
        let path = (parts.basePath == "/" ? "" : parts.basePath) + call.path
        let url = "\(parts.scheme)://\(host)\(path.isEmpty ? "/" : path)" + (call.query.isEmpty ? "" : "?\(call.query)")
        if credentials is NoCredentials {
            return HTTPRequest(
                method: call.method, url: url, headers: call.headers + [("host", host)], body: call.body,
                timeout: .idle(settings.timeout))
        }
        let creds = try credentials.credentials()
        let amzDate = SigV4.amzDate(now())
        let payloadHash = Digest.sha256Hex(call.body)
        var headers = call.headers
        headers.append(("host", host))
        headers.append(("x-amz-date", amzDate))
        if call.s3 { headers.append(("x-amz-content-sha256", payloadHash)) }
        if let token = creds.sessionToken { headers.append(("x-amz-security-token", token)) }
        let signed = SigV4.authorization(
            SigV4.Request(
                method: call.method, path: path.isEmpty ? "/" : path, query: call.query, headers: headers,
                payloadHash: payloadHash),
            accessKeyId: creds.accessKeyId, secretAccessKey: creds.secretAccessKey, amzDate: amzDate,
            region: settings.region,
            service: call.service.name, s3: call.s3)
        headers.append(("Authorization", signed.authorization))
        return HTTPRequest(
            method: call.method, url: url, headers: headers, body: call.body, timeout: .idle(settings.timeout))
    }

    // MARK: Protocols

    /// AWS JSON 1.0 (DynamoDB) or 1.1 (KMS): POST / with X-Amz-Target.
    package func json(
        _ service: AWSService, target: String, operation: String, body: [UInt8], version: String = "1.0"
    ) throws -> [UInt8] {
        try send(
            Call(
                service: service, operation: operation,
                headers: [
                    ("content-type", "application/x-amz-json-\(version)"), ("x-amz-target", "\(target).\(operation)"),
                ],
                body: body)
        ).body
    }

    /// An AWS JSON call with an Encodable request and a Decodable answer (an unreadable answer is a
    /// `MalformedResponse` error naming the operation).
    package func json<Req: Encodable, Res: Decodable>(
        _ service: AWSService, target: String, operation: String, _ request: Req, as: Res.Type, version: String = "1.0"
    ) throws -> Res {
        let bytes = try json(
            service, target: target, operation: operation, body: Array(try JSONEncoder().encode(request)),
            version: version)
        do { return try JSONDecoder().decode(Res.self, from: Data(bytes)) } catch {
            throw AWSError(
                service: service.name, operation: operation, status: 200, code: "MalformedResponse",
                serviceMessage: "unreadable answer: \(error)")
        }
    }

    /// AWS query protocol (CloudWatch, RDS, ElastiCache): form-encoded POST, XML answer.
    package func query(_ service: AWSService, action: String, version: String, parameters: [(String, String)]) throws
        -> XMLElement
    {
        var form = "Action=\(SigV4.uriEncode(action))&Version=\(SigV4.uriEncode(version))"
        for (k, v) in parameters { form += "&\(SigV4.uriEncode(k))=\(SigV4.uriEncode(v))" }
        let r = try send(
            Call(
                service: service, operation: action,
                headers: [("content-type", "application/x-www-form-urlencoded; charset=utf-8")], body: Array(form.utf8))
        )
        do {
            return try XMLReader.parse(r.body)
        } catch {
            throw AWSError(
                service: service.name, operation: action, status: r.status, code: "MalformedResponse",
                serviceMessage: "unreadable XML: \(error.description)")
        }
    }
}
