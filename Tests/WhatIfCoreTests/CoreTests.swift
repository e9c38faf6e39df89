import Foundation
import Testing
import WhatIfCore
import WhatIfCrypto
import WhatIfHTTP
import WhatIfTesting
import WhatIfUnits

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
        ("2w", 1_209_600), ("1h5m", 3900), ("59m30s", 3570), ("2d4h", 187_200),
        ("1.5 s", 1.5),
    ])
    func parses(_ text: String, _ seconds: Double) {
        #expect(DurationText.parse(text) == seconds)
    }

    @Test(arguments: ["", "ten", "-1s", "5x", "ms", "5m1h", "1m1m", "1h-5m", "2 weeks"])
    func refuses(_ text: String) {
        #expect(DurationText.parse(text) == nil)
    }
}

/// One format for durations, sizes and counts, whoever writes them (agent messages, whatifctl tables).
@Suite struct UnitsTests {
    @Test(
        arguments: [
            (0, "0s"), (0.25, "250ms"), (0.0004, "1ms"), (1, "1s"), (1.54, "1.5s"), (9.96, "10s"), (42, "42s"),
            (59.6, "1m"), (120, "2m"), (3570, "59m30s"), (3599.6, "1h"), (3900, "1h5m"), (7200, "2h"),
            (86_399, "1d"), (93_600, "1d2h"), (180_000, "2d2h"), (14 * 86400, "14d"),
        ] as [(Double, String)])
    func durations(_ seconds: Double, _ text: String) {
        #expect(Units.duration(seconds) == text)
    }

    /// Whatever a duration is written as, it reads back (to the precision it was written with).
    @Test(arguments: [0.25, 1.5, 42, 3570, 3900, 7200, 93_600, 14 * 86400] as [Double])
    func durationsReadBack(_ seconds: Double) {
        #expect(DurationText.parse(Units.duration(seconds)) == seconds)
    }

    @Test(
        arguments: [
            (0, "0 B"), (512, "512 B"), (1536, "1.5 KiB"), (1_048_575, "1.0 MiB"), (83_607_716_249, "77.9 GiB"),
            (5 << 40, "5.0 TiB"), (-2048, "-2.0 KiB"),
        ] as [(Int64, String)])
    func sizes(_ n: Int64, _ text: String) {
        #expect(Units.bytes(n) == text)
    }

    @Test func countsAgreeWithTheirNoun() {
        #expect(Units.count(1, "table") == "1 table")
        #expect(Units.count(0, "table") == "0 tables")
        #expect(Units.count(Int64(2), "entry", plural: "entries") == "2 entries")
        #expect(Units.fixed(3, 2) == "3.00" && Units.fixed(-0.04, 1) == "0.0" && Units.fixed(-1.25, 1) == "-1.3")
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
                HTTPRequest(method: "GET", url: "http://127.0.0.1:\(port)/", timeout: .total(2)))
            Issue.record("expected a failure")
        } catch let e as HTTPError {
            #expect(e.kind == .connect && e.isTransient)
            #expect(e.message.contains("127.0.0.1:\(port)"))
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    /// An idle timeout bounds the time without a byte, not the whole: a body that keeps coming, for twice
    /// the limit, arrives whole, where a total limit of the same seconds cuts it off.
    @Test func idleTimeoutLetsATransferThatKeepsMovingFinish() throws {
        let body = Array("0123456789".utf8) + Array("abcdefghij".utf8)
        let server = try TinyHTTPServer { _ in
            TinyResponse(status: 200, body: body, pace: .init(bytes: 1, every: 0.2))
        }
        let client = HTTPClient()
        do {
            _ = try client.send(HTTPRequest(method: "GET", url: server.url, timeout: .total(2)))
            Issue.record("a total limit of 2 s let a 4 s transfer finish")
        } catch let e as HTTPError {
            #expect(e.kind == .timeout, "\(e)")
        }
        // The same pooled handle: what the first call set does not carry over.
        let r = try client.send(HTTPRequest(method: "GET", url: server.url, timeout: .idle(2)))
        #expect(r.status == 200 && r.body == body)
    }

    /// A transfer that stops moving fails, as transient, once it has been idle for the limit.
    @Test func idleTimeoutEndsAStalledTransfer() throws {
        let server = try TinyHTTPServer { _ in
            TinyResponse(status: 200, body: Array("late".utf8), pace: .init(bytes: 4, every: 8))
        }
        do {
            _ = try HTTPClient().send(HTTPRequest(method: "GET", url: server.url, timeout: .idle(1)))
            Issue.record("a stalled transfer did not time out")
        } catch let e as HTTPError {
            #expect(e.kind == .timeout && e.isTransient, "\(e)")
        }
    }

    /// The idle limit counts from the last byte, not from when a rate averaged over seconds falls (as
    /// libcurl's low-speed limit does, where a burst keeps a stalled transfer going for seconds more).
    @Test func idleTimeoutCountsFromTheLastByte() throws {
        let server = try TinyHTTPServer { _ in
            TinyResponse(
                status: 200, body: [UInt8](repeating: 66, count: 65_536), pace: .init(bytes: 32_768, every: 6, first: 0)
            )
        }
        var got = 0
        do {
            _ = try HTTPClient().send(
                HTTPRequest(method: "GET", url: server.url, timeout: .idle(1)), onBody: { got += $0.count })
            Issue.record("a transfer stalled after a burst did not time out")
        } catch let e as HTTPError {
            #expect(e.kind == .timeout && e.message.contains("no byte sent or received for 1s"), "\(e)")
        }
        #expect(got == 32_768, "ended in the 6 s stall after the burst")
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

/// A bounded wait for other threads, without polling.
@Suite struct CountdownLatchTests {
    @Test func reachesZeroOrTimesOut() {
        let latch = CountdownLatch(2)
        let a = Threads.start { latch.countDown() }
        let b = Threads.start { latch.countDown() }
        #expect(latch.wait(seconds: 30))
        a.join()
        b.join()
        #expect(latch.wait(seconds: 0), "stays at zero")

        let never = CountdownLatch(1)
        let watch = Stopwatch()
        #expect(!never.wait(seconds: 0.2))
        #expect(watch.elapsedSeconds >= 0.19, "gave up after \(watch.elapsedSeconds) s")
        #expect(CountdownLatch(0).wait(seconds: 0))
    }
}
