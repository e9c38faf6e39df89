import Testing
import WhatIfAWS
import WhatIfHTTP
import WhatIfTesting

/// `aws.timeout` bounds an attempt's time without a byte, as botocore's read_timeout does, not the whole
/// transfer: a backup file read back from S3 takes as long as its size needs.
@Suite struct TransferTimeoutTests {
    func s3(_ server: TinyHTTPServer, timeout: Double, attempts: Int) -> S3 {
        S3(
            client: AWSClient(
                settings: AWSSettings(
                    region: "us-east-1", endpoint: server.url, maxAttempts: attempts, timeout: timeout),
                credentials: StaticCredentials(
                    AWSCredentials(accessKeyId: "AKIA", secretAccessKey: "s", source: "test")),
                http: HTTPClient()))
    }

    @Test func anObjectThatKeepsComingIsReadWholePastTheTimeout() throws {
        let object = (0..<30).map { UInt8($0) }
        let server = try TinyHTTPServer { _ in
            TinyResponse(status: 200, body: object, pace: .init(bytes: 2, every: 0.2))
        }
        var got: [UInt8] = []
        try s3(server, timeout: 1, attempts: 1).getObject(bucket: "b", key: "k") { got += $0 }
        #expect(got == object, "3 s of transfer under a 1 s timeout")
        #expect(server.requests.value.count == 1, "one attempt")
    }

    @Test func aStalledObjectFailsAfterItsAttempts() throws {
        let server = try TinyHTTPServer { _ in
            TinyResponse(status: 200, body: Array("late".utf8), pace: .init(bytes: 4, every: 8))
        }
        do {
            try s3(server, timeout: 1, attempts: 2).getObject(bucket: "b", key: "k") { _ in }
            Issue.record("a stalled GetObject did not time out")
        } catch let e as HTTPError {
            #expect(e.kind == .timeout, "\(e)")
        }
        #expect(server.requests.value.count == 2, "retried once")
    }
}
