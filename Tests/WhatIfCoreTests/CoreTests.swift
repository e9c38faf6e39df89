import Foundation
import Testing
import WhatIfCore
import WhatIfCrypto
import WhatIfHTTP
import WhatIfTesting

@Suite struct BackoffTests {
    @Test func fullJitterStaysUnderTheExponentialCeiling() {
        let b = Backoff(base: 0.1, cap: 2, maxAttempts: 10)
        #expect(b.ceiling(retry: 0) == 0.1)
        #expect(b.ceiling(retry: 3) == 0.8)
        #expect(b.ceiling(retry: 10) == 2)
        var g = SystemRandomNumberGenerator()
        var sawLow = false
        var sawHigh = false
        for _ in 0..<2000 {
            let d = b.delay(retry: 4, using: &g)
            #expect(d >= 0 && d <= 1.6)
            if d < 0.4 { sawLow = true }
            if d > 1.2 { sawHigh = true }
        }
        // Full jitter: the whole range [0, ceiling] is used, not just the top.
        #expect(sawLow && sawHigh)
    }
}

@Suite struct DurationTests {
    @Test(arguments: [
        ("250ms", 0.25), ("10s", 10), ("2m", 120), ("1h", 3600), ("1d", 86400), ("1.5", 1.5), (" 3s ", 3),
    ])
    func parses(_ text: String, _ seconds: Double) {
        #expect(DurationText.parse(text) == seconds)
    }

    @Test(arguments: ["", "ten", "-1s", "5x", "ms"])
    func refuses(_ text: String) {
        #expect(DurationText.parse(text) == nil)
    }
}

@Suite struct FileTests {
    @Test func atomicWriteReplacesWholeFiles() throws {
        let dir = TempDir()
        let p = dir.file("state.json")
        try Files.writeAtomically(p, Array("one".utf8))
        try Files.writeAtomically(p, Array("two".utf8))
        #expect(try Files.read(p) == Array("two".utf8))
        // No temporary files left behind.
        #expect(Files.list(dir.path) == ["state.json"])
    }

    @Test func secretFilesMustNotBeWorldReadable() throws {
        let dir = TempDir()
        let good = try dir.write("good", "s3cret\n", mode: 0o640)
        let open = try dir.write("open", "s3cret\n", mode: 0o644)
        let empty = try dir.write("empty", "\n", mode: 0o600)
        #expect(try SecretFile.load(good).get() == "s3cret")
        #expect(SecretFile.check(open) == .worldReadable(mode: 0o644))
        #expect(SecretFile.check(empty) == .empty)
        #expect(SecretFile.check(dir.file("missing")) == .missing)
        #expect(SecretFile.check(dir.path) == .notRegularFile)
        let d = SecretFile.describe(.worldReadable(mode: 0o644), path: open)
        #expect(d.message.contains(open) && d.hint.contains("chmod"))
    }
}

@Suite struct DigestTests {
    @Test func sha256KnownAnswers() {
        #expect(Digest.sha256Hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(Digest.sha256Hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        var d = Digest(.sha256)
        for c in "abc" { d.update(String(c)) }
        #expect(Hex.encode(d.finish()) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test func md5KnownAnswer() {
        #expect(Hex.encode(Digest.md5(Array("abc".utf8))) == "900150983cd24fb0d6963f7d28e17f72")
    }

    @Test func hmacRFC4231Case2() {
        let mac = HMAC.sha256(key: Array("Jefe".utf8), message: "what do ya want for nothing?")
        #expect(Hex.encode(mac) == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    }
}

@Suite struct HTTPClientTests {
    @Test func sendsAndReceives() throws {
        let server = try TinyHTTPServer { req in
            .text(
                201,
                "\(req.method) \(req.target) \(String(decoding: req.body, as: UTF8.self)) \(req.header("x-test") ?? "")"
            )
        }
        let client = HTTPClient()
        let r = try client.send(
            HTTPRequest(method: "PUT", url: server.url + "/a?b=c", headers: [("X-Test", "1")], body: Array("hi".utf8)))
        #expect(r.status == 201)
        #expect(r.bodyText == "PUT /a?b=c hi 1")
        // The handle is reused: a second request on the same client works too.
        #expect(try client.send(HTTPRequest(method: "GET", url: server.url + "/")).status == 201)
    }

    @Test func refusedConnectionIsATransientConnectError() {
        let port = freePort()
        do {
            _ = try HTTPClient(connectTimeout: 1).send(
                HTTPRequest(method: "GET", url: "http://127.0.0.1:\(port)/", timeout: 2))
            Issue.record("expected a failure")
        } catch let e as HTTPError {
            #expect(e.kind == .connect && e.isTransient)
            #expect(e.message.contains("127.0.0.1:\(port)"))
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func responseSizeIsLimited() throws {
        let server = try TinyHTTPServer { _ in TinyResponse(status: 200, body: [UInt8](repeating: 65, count: 10_000)) }
        #expect(throws: HTTPError.self) {
            _ = try HTTPClient(maxResponseBytes: 1000).send(HTTPRequest(method: "GET", url: server.url))
        }
    }
}

@Suite struct FindTests {
    @Test func findsPlainSubstrings() {
        #expect("redis://host".find("://").map { "redis://host"[..<$0.lowerBound] } == "redis")
        #expect("aXbXXc".find("XXc").map { "aXbXXc"[$0.lowerBound...] } == "XXc")
        #expect("abc".find("abcd") == nil && "abc".find("") == nil && "".find("a") == nil)
        #expect("ünï://x".find("://") != nil)
    }
}
