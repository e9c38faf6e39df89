import Testing
import WhatIfAWS
import WhatIfCore
import WhatIfHTTP
import WhatIfTesting

/// An S3 client against a stand-in server (no signature checks), one attempt's timeout `timeout`.
func standInS3(_ server: TinyHTTPServer, timeout: Double, attempts: Int) -> S3 {
    S3(
        client: AWSClient(
            settings: AWSSettings(
                region: "us-east-1", endpoint: server.url, maxAttempts: attempts, timeout: timeout,
                backoff: Backoff(base: 0.01, cap: 0.05)),
            credentials: StaticCredentials(AWSCredentials(accessKeyId: "AKIA", secretAccessKey: "s", source: "test")),
            http: HTTPClient()))
}

/// `aws.timeout` bounds an attempt's time without a byte, as botocore's read_timeout does, not the whole
/// transfer: a backup file read back from S3 takes as long as its size needs.
@Suite struct TransferTimeoutTests {
    @Test func anObjectThatKeepsComingIsReadWholePastTheTimeout() throws {
        let object = (0..<30).map { UInt8($0) }
        let server = try TinyHTTPServer { _ in
            TinyResponse(status: 200, body: object, pace: .init(bytes: 3, every: 0.4))
        }
        var got: [UInt8] = []
        // The idle check runs about once a second: gaps of 0.4 s against a 2 s limit leave a wide margin.
        try standInS3(server, timeout: 2, attempts: 1).getObject(bucket: "b", key: "k") { got += $0 }
        #expect(got == object, "4 s of transfer under a 2 s timeout")
        #expect(server.requests.value.count == 1, "one attempt")
    }

    @Test func anObjectStalledBeforeItsFirstByteFailsAfterItsAttempts() throws {
        let server = try TinyHTTPServer { _ in
            TinyResponse(status: 200, body: Array("late".utf8), pace: .init(bytes: 4, every: 8))
        }
        do {
            try standInS3(server, timeout: 1, attempts: 2).getObject(bucket: "b", key: "k") { _ in }
            Issue.record("a stalled GetObject did not time out")
        } catch let e as HTTPError {
            #expect(e.kind == .timeout, "\(e)")
        }
        #expect(server.requests.value.count == 2, "retried once, from the start (nothing was delivered)")
    }
}

/// A streamed read that breaks off goes on from the first byte the sink has not had, from the same
/// version of the object: the sink sees each byte once.
@Suite struct StreamResumeTests {
    static let object = (0..<30).map { UInt8(65 + $0) }

    /// 200 with ETag "v1", 10 bytes, then a stall (past the 1 s timeout); a ranged request is answered by
    /// `ranged`.
    static func server(ranged: @escaping @Sendable (TinyRequest, Int) -> TinyResponse) throws -> TinyHTTPServer {
        try TinyHTTPServer { req in
            if let range = req.header("range"), range.hasPrefix("bytes="),
                let from = Int(range.dropFirst(6).prefix { $0 != "-" })
            {
                return ranged(req, from)
            }
            return TinyResponse(
                status: 200, headers: [("ETag", "\"v1\"")], body: object, pace: .init(bytes: 10, every: 8, first: 0))
        }
    }

    @Test func aBrokenOffReadGoesOnWhereItStopped() throws {
        let server = try Self.server { req, from in
            guard req.header("if-match") == "\"v1\"" else { return .text(412, "no If-Match") }
            return TinyResponse(
                status: 206, headers: [("ETag", "\"v1\""), ("Content-Range", "bytes \(from)-29/30")],
                body: Array(Self.object[from...]))
        }
        var got: [UInt8] = []
        try standInS3(server, timeout: 1, attempts: 3).getObject(bucket: "b", key: "k") { got += $0 }
        #expect(got == Self.object)
        let asked = server.requests.value.map { "\($0.header("range") ?? "-") \($0.header("if-match") ?? "-")" }
        #expect(asked == ["- -", "bytes=10- \"v1\""])
    }

    @Test func aResumedReadAnsweredFromTheStartIsRefused() throws {
        let server = try Self.server { _, _ in
            TinyResponse(status: 200, headers: [("ETag", "\"v1\"")], body: Self.object)
        }
        var got: [UInt8] = []
        do {
            try standInS3(server, timeout: 1, attempts: 3).getObject(bucket: "b", key: "k") { got += $0 }
            Issue.record("a whole answer to a ranged request was taken")
        } catch let e as HTTPError {
            #expect(e.message.contains("resumed at byte 10") && e.message.contains("200"), "\(e)")
        }
        #expect(got == Array(Self.object.prefix(10)), "no byte twice")
        #expect(server.requests.value.count == 2, "not retried: the answer would be the same")
    }

    @Test func anObjectChangedMeanwhileIsAnError() throws {
        let server = try Self.server { _, _ in
            TinyResponse(
                status: 412, headers: [("Content-Type", "application/xml")],
                body: Array(
                    "<Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message></Error>"
                        .utf8))
        }
        var got: [UInt8] = []
        do {
            try standInS3(server, timeout: 1, attempts: 3).getObject(bucket: "b", key: "k") { got += $0 }
            Issue.record("a changed object was read on")
        } catch let e as AWSError {
            #expect(e.status == 412 && e.code == "PreconditionFailed", "\(e)")
        }
        #expect(got.count == 10 && server.requests.value.count == 2)
    }

    @Test func withoutAnETagABrokenOffReadIsNotResumed() throws {
        let server = try TinyHTTPServer { _ in
            TinyResponse(status: 200, body: Self.object, pace: .init(bytes: 10, every: 8, first: 0))
        }
        #expect(throws: HTTPError.self) {
            try standInS3(server, timeout: 1, attempts: 3).getObject(bucket: "b", key: "k") { _ in }
        }
        #expect(server.requests.value.count == 1)
    }

    @Test func contentRangeStart() {
        #expect(StreamResume.start(ofContentRange: "bytes 100-199/1000") == 100)
        #expect(StreamResume.start(ofContentRange: "bytes */1000") == nil)
        #expect(StreamResume.start(ofContentRange: "") == nil)
    }
}

/// ListMultipartUploads pages (1,000 uploads each on S3), followed by their markers.
@Suite struct MultipartListingTests {
    static func page(_ uploads: [(String, String)], next: (String, String)?) -> TinyResponse {
        var xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><ListMultipartUploadsResult><Bucket>b</Bucket>"
        xml += "<IsTruncated>\(next != nil)</IsTruncated>"
        if let next {
            xml += "<NextKeyMarker>\(next.0)</NextKeyMarker><NextUploadIdMarker>\(next.1)</NextUploadIdMarker>"
        }
        for (k, u) in uploads { xml += "<Upload><Key>\(k)</Key><UploadId>\(u)</UploadId></Upload>" }
        return .text(200, xml + "</ListMultipartUploadsResult>", contentType: "application/xml")
    }

    @Test func everyPageIsRead() throws {
        let server = try TinyHTTPServer { req in
            req.target.contains("key-marker=p%2Fa&")
                ? Self.page([("p/b", "u3")], next: nil)
                : Self.page([("p/a", "u1"), ("p/a", "u2")], next: ("p/a", "u2"))
        }
        let uploads = try standInS3(server, timeout: 5, attempts: 1).listMultipartUploads(bucket: "b", prefix: "p/")
        #expect(uploads.map { "\($0.key) \($0.uploadId)" } == ["p/a u1", "p/a u2", "p/b u3"])
        let asked = server.requests.value.map(\.target)
        #expect(asked.count == 2 && asked[1].contains("upload-id-marker=u2"), "\(asked)")
    }

    @Test func aPageNamingTheSameMarkersAgainEndsTheListing() throws {
        let server = try TinyHTTPServer { _ in Self.page([("p/a", "u1")], next: ("p/a", "u1")) }
        let uploads = try standInS3(server, timeout: 5, attempts: 1).listMultipartUploads(bucket: "b", prefix: "p/")
        #expect(uploads.count == 2 && server.requests.value.count == 2)
    }
}
