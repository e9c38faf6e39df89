import Foundation
import Testing
import WhatIfAWS

struct SuiteCase: Decodable, CustomTestStringConvertible, Sendable {
    var name: String
    var method: String
    var uri: String
    var headers: [[String]]
    var body: String
    var creq: String
    var sts: String?
    var authz: String?
    var testDescription: String { name }
}

struct Suite: Decodable {
    struct Credentials: Decodable {
        var accessKeyId: String
        var secretAccessKey: String
        var region: String
        var service: String
    }
    var credentials: Credentials
    var cases: [SuiteCase]

    static let loaded: Suite = {
        let url = Bundle.module.url(forResource: "sigv4-testsuite", withExtension: "json", subdirectory: "Fixtures")!
        return try! JSONDecoder().decode(Suite.self, from: Data(contentsOf: url))
    }()
}

/// AWS's Signature Version 4 test suite: every case's canonical request, string to sign and
/// Authorization header, checked separately.
@Suite struct SigV4SuiteTests {
    @Test(arguments: Suite.loaded.cases)
    func vector(_ c: SuiteCase) throws {
        let creds = Suite.loaded.credentials
        let (path, query): (String, String)
        if let q = c.uri.firstIndex(of: "?") {
            (path, query) = (String(c.uri[..<q]), String(c.uri[c.uri.index(after: q)...]))
        } else {
            (path, query) = (c.uri, "")
        }
        let request = SigV4.Request(
            method: c.method, path: path, query: query, headers: c.headers.map { ($0[0], $0[1]) },
            payloadHash: SigV4Hash.hex(c.body))
        let amzDate = try #require(c.headers.first { $0[0].lowercased() == "x-amz-date" })[1]
        let signed = SigV4.authorization(
            request, accessKeyId: creds.accessKeyId, secretAccessKey: creds.secretAccessKey, amzDate: amzDate,
            region: creds.region,
            service: creds.service)
        #expect(signed.canonicalRequest == c.creq)
        if let sts = c.sts { #expect(signed.stringToSign == sts) }
        if let authz = c.authz { #expect(signed.authorization == authz) }
    }

    @Test func suiteIsComplete() {
        #expect(Suite.loaded.cases.count == 27)
    }

    @Test func s3PathsAreNotNormalizedOrReencoded() {
        let r = SigV4.Request(
            method: "GET", path: "/bucket/a%20b/../c", query: "", headers: [("host", "s3.amazonaws.com")],
            payloadHash: "UNSIGNED-PAYLOAD")
        #expect(SigV4.canonicalRequest(r, s3: true).canonical.split(separator: "\n")[1] == "/bucket/a%20b/../c")
        #expect(SigV4.canonicalRequest(r, s3: false).canonical.split(separator: "\n")[1] == "/bucket/c")
    }

    @Test func amzDateFormat() {
        #expect(SigV4.amzDate(Date(timeIntervalSince1970: 1_440_938_160)) == "20150830T123600Z")
    }
}

enum SigV4Hash {
    static func hex(_ s: String) -> String {
        // The suite's bodies are ASCII; hash them the way the client does.
        WhatIfAWSTestSupport.sha256Hex(s)
    }
}
