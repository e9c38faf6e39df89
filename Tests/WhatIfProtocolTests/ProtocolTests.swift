import Foundation
import Testing
import WhatIfClient
import WhatIfProtocol

@Suite struct CodingTests {
    @Test func timestampsRoundTripWithMilliseconds() throws {
        let d = Date(timeIntervalSince1970: 1_795_000_000.125)
        let s = Timestamp.format(d)
        #expect(s == "2026-11-18T11:06:40.125Z")
        let back = try #require(Timestamp.parse(s))
        #expect(abs(back.timeIntervalSince1970 - d.timeIntervalSince1970) < 0.001)
        #expect(Timestamp.parse("2026-11-18T07:06:40Z") != nil)
        #expect(Timestamp.parse("yesterday") == nil)
    }

    @Test func jobInfoRoundTrips() throws {
        let info = JobInfo(
            id: "j1", kind: "backup", resource: "postgres", state: .running,
            createdAt: Date(timeIntervalSince1970: 1000),
            params: ["kinds": ["postgres"], "segments": 4], progress: JobProgress(done: 5, total: 10, unit: "bytes"),
            error: APIError(.conflict, "busy", hint: "wait", jobId: "j0"))
        let bytes = try APICoding.encode(info)
        let back = try APICoding.decode(JobInfo.self, from: bytes)
        #expect(back.id == "j1" && back.state == .running && back.progress?.fraction == 0.5)
        #expect(back.params?["segments"]?.intValue == 4)
        #expect(back.error == APIError(.conflict, "busy", hint: "wait", jobId: "j0"))
    }

    @Test func serviceStatusEncodesReachable() throws {
        var s = ServiceStatus(service: .redis, endpoint: "redis://x:6379", health: .degraded)
        s.error = "memory high"
        let json = String(decoding: try APICoding.encode(s), as: UTF8.self)
        #expect(json.contains(#""reachable":true"#))
        let down = ServiceStatus(service: .redis, endpoint: "x", health: .timeout)
        #expect(!down.reachable)
    }

    @Test func exitStatusesAreDistinct() {
        #expect(WhatIfProtocol.ExitStatus.forHTTPStatus(403) == .noPermission)
        #expect(WhatIfProtocol.ExitStatus.forHTTPStatus(409) == .busy)
        #expect(WhatIfProtocol.ExitStatus.forHTTPStatus(400) == .badRequest)
        #expect(WhatIfProtocol.ExitStatus.forHTTPStatus(404) == .notFound)
        #expect(WhatIfProtocol.ExitStatus.forHTTPStatus(500) == .software)
        // The numbers are a contract with operators' scripts: renumbering one is a breaking change.
        #expect(WhatIfProtocol.ExitStatus.allCases.map(\.rawValue) == [0, 1, 64, 65, 66, 69, 70, 75, 77, 78, 124])
        // What the configuration lacks is 78 whatever the HTTP status says; a timeout is never "not running".
        #expect(ClientError.api(status: 422, error: APIError(.notConfigured, "x")).exitStatus == .config)
        #expect(ClientError.api(status: 422, error: APIError(.unprocessable, "x")).exitStatus == .badRequest)
        let t = ClientError.timeout(socket: "/run/whatif/agent.sock", seconds: 2)
        #expect(t.exitStatus == .timeout && t.exitStatus.rawValue == 124)
        #expect(t.description.contains("did not answer") && !t.description.contains("not running"))
    }

    @Test func rolesAreOrdered() {
        #expect(Role.none < .reader && Role.reader < .admin)
    }
}

@Suite struct ResponseParserTests {
    func parse(_ chunks: [String]) throws -> (HTTPResponseParser.Head?, String, Bool) {
        var p = HTTPResponseParser()
        var head: HTTPResponseParser.Head?
        var body = ""
        var ended = false
        for c in chunks {
            for e in try p.feed(Array(c.utf8)) {
                switch e {
                case .head(let h): head = h
                case .body(let b): body += String(decoding: b, as: UTF8.self)
                case .end: ended = true
                }
            }
        }
        return (head, body, ended)
    }

    @Test func contentLengthInOnePiece() throws {
        let (h, body, ended) = try parse(["HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: b\r\n\r\nhello"])
        #expect(h?.status == 200 && h?.header("x-a") == "b" && body == "hello" && ended)
    }

    @Test func chunkedSplitAtEveryByte() throws {
        let raw =
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n1;ext=1\r\n!\r\n0\r\nTrailer: x\r\n\r\n"
        let (h, body, ended) = try parse(raw.map { String($0) })
        #expect(h?.status == 200 && body == "hello!" && ended)
    }

    @Test func emptyBodiesEndAtOnce() throws {
        let (_, body, ended) = try parse(["HTTP/1.1 204 No Content\r\n\r\n"])
        #expect(body.isEmpty && ended)
    }

    @Test func untilCloseEndsOnFinish() throws {
        var p = HTTPResponseParser()
        let events = try p.feed(Array("HTTP/1.0 200 OK\r\n\r\nabc".utf8))
        #expect(events.count == 2)
        #expect(try p.finish() == [.end])
    }

    @Test(arguments: [
        "HTTP/2 200 OK\r\n\r\n", "HTTP/1.1 2x0 OK\r\n\r\n", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "HTTP/1.1 200 OK\r\nbad header\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nab",
    ])
    func malformedResponsesAreErrors(_ raw: String) {
        var p = HTTPResponseParser()
        #expect(throws: HTTPResponseParser.ParseError.self) { _ = try p.feed(Array(raw.utf8)) }
    }

    @Test func oversizedHeadIsRefused() {
        var p = HTTPResponseParser(maxHeadBytes: 100)
        #expect(throws: HTTPResponseParser.ParseError.self) {
            _ = try p.feed(Array(("HTTP/1.1 200 OK\r\nX: " + String(repeating: "a", count: 200)).utf8))
        }
    }

    @Test func truncatedResponseIsAnError() throws {
        var p = HTTPResponseParser()
        _ = try p.feed(Array("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc".utf8))
        #expect(throws: HTTPResponseParser.ParseError.self) { _ = try p.finish() }
    }
}

@Suite struct ClientErrorTests {
    @Test func agentNotRunningNamesTheSocket() throws {
        let path = "/tmp/whatif-no-such-dir-\(UUID().uuidString)/agent.sock"
        do {
            _ = try AgentClient(socketPath: path, timeout: 1).version()
            Issue.record("expected a failure")
        } catch let e as ClientError {
            #expect(e.exitStatus == .unavailable)
            #expect(e.description.contains(path))
        }
    }
}

/// Request bodies are read strictly: every key used, each once, with its type.
@Suite struct StrictJSONTests {
    struct Options: Codable, Equatable {
        var name: String
        var dryRun: Bool?
        var count: Int?
        var tags: [String]?
        var inner: Inner?
        struct Inner: Codable, Equatable { var limit: Int }
    }

    func error(_ json: String) -> StrictJSONError? {
        do {
            _ = try StrictJSON.decode(Options.self, from: Array(json.utf8))
            return nil
        } catch { return error }
    }

    @Test func acceptsWhatTheTypeTakes() throws {
        let o = try StrictJSON.decode(
            Options.self,
            from: Array(
                #"{"name":"a","dryRun":true,"count":3,"tags":["x","\u00e9\ud83d\ude00"],"inner":{"limit":2}}"#.utf8))
        #expect(o == Options(name: "a", dryRun: true, count: 3, tags: ["x", "é😀"], inner: .init(limit: 2)))
        #expect(try StrictJSON.decode(Options.self, from: Array(#"{"name":"a","count":null}"#.utf8)).count == nil)
    }

    @Test func unknownAndMisspeltKeysAreNamedWithTheAcceptedOnes() throws {
        let e = try #require(error(#"{"name":"a","dryrun":true}"#))
        #expect(e.kind == .unknownKey && e.message.contains(#"unknown key "dryrun""#), "\(e)")
        #expect(e.message.contains(#"did you mean "dryRun""#))
        #expect(e.accepted == ["count", "dryRun", "inner", "name", "tags"])
        let nested = try #require(error(#"{"name":"a","inner":{"limit":1,"limt":2}}"#))
        #expect(nested.kind == .unknownKey && nested.message.contains(#""inner.limt""#), "\(nested)")
        #expect(nested.accepted == ["limit"])
    }

    @Test func duplicateKeysAndWrongTypesAreRefused() throws {
        let dup = try #require(error(#"{"name":"a","name":"b"}"#))
        #expect(dup.kind == .duplicateKey && dup.message.contains(#""name" appears twice"#))
        let wrong = try #require(error(#"{"name":5}"#))
        #expect(wrong.kind == .wrongType && wrong.path == "name", "\(wrong)")
        #expect(error(#"{"name":"a","dryRun":"yes"}"#)?.kind == .wrongType)
        #expect(error(#"{"name":"a","count":1.5}"#)?.kind == .badValue)
        #expect(error(#"{"name":"a","tags":["x",1]}"#)?.path == "tags.1")
        #expect(error(#"{}"#)?.kind == .missingKey)
        #expect(error(#"[]"#)?.kind == .wrongType)
    }

    @Test(arguments: [
        "", "{", #"{"name":"a"} x"#, #"{"name":'a'}"#, #"{"name":"a",}"#, "{\"name\":\"\u{1}\"}", #"{"n":01}"#,
        #"{"name":"\ud800"}"#, #"{"name":"a"}}"#, "nul", #"{"a":1e}"#,
    ])
    func syntaxErrors(_ json: String) {
        #expect(error(json)?.kind == .syntax, "\(json)")
    }

    /// Nesting is bounded: a million levels is a syntax error, not a stack overflow.
    @Test func deepNestingIsAnError() {
        for open in ["[", "{\"a\":"] {
            let deep = Array(String(repeating: open, count: 1_000_000).utf8)
            do {
                _ = try StrictJSON.parse(deep)
                Issue.record("accepted")
            } catch {
                #expect(error.kind == .syntax && error.message.contains("nested deeper than 64"), "\(error)")
            }
        }
        let ok = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        #expect((try? StrictJSON.parse(Array(ok.utf8))) != nil)
    }
}

@Suite struct JobContractTests {
    @Test func endpointsBuildTheirPaths() {
        #expect(Endpoint.showBackup.path("pg 1/x") == "/v1/backups/pg%201%2Fx")
        #expect(
            Endpoint.pruneBackups.path(query: [("dry_run", "true"), ("orphans", nil), ("kind", "postgres")])
                == "/v1/backups/prune?dry_run=true&kind=postgres")
        #expect(Endpoint.jobEvents.description == "GET /v1/jobs/{id}/events")
        #expect(Set(Endpoint.all).count == Endpoint.all.count, "an endpoint is listed twice")
        let keys = Endpoint.all.map { "\($0.method) \($0.pattern)" }
        #expect(Set(keys).count == keys.count, "two endpoints share a method and a path")
    }

    /// The text form is what job records, 409 answers and `whatifctl jobs` show: it must not drift.
    @Test func resourcesKeepTheirTextForm() {
        let cases: [(JobResource, String)] = [
            (.postgres(database: "app"), "postgres:app"), (.postgresTarget("h:5432/app"), "postgres-target:h:5432/app"),
            (.dynamodb(table: "t"), "dynamodb:t"), (.redis, "redis"), (.backup(id: "b1"), "backup:b1"),
            (.backupVerify, "backups:verify"), (.backupPrune, "backups:prune"), (.restoreDrill, "restore-drill"),
            (.vacuum(database: "app"), "vacuum:app"), (.preflight, "preflight"), (.window("weekly"), "window:weekly"),
        ]
        for (r, text) in cases { #expect(r.description == text) }
    }

    @Test func noParamsRefusesEveryKey() throws {
        #expect(try StrictJSON.decode(NoParams.self, from: Array("{}".utf8)) == NoParams())
        #expect(throws: StrictJSONError.self) { try StrictJSON.decode(NoParams.self, from: Array(#"{"a":1}"#.utf8)) }
        #expect(String(decoding: try APICoding.encode(NoParams()), as: UTF8.self) == "{}")
    }

    /// What the API reference calls optional is optional on the wire: an absent flag is false, an absent
    /// list empty (Swift's synthesised decoder would require each of them).
    @Test func absentKeysTakeTheDeclaredDefaults() throws {
        func decode<T: Decodable>(_: T.Type, _ json: String) throws -> T {
            try StrictJSON.decode(T.self, from: Array(json.utf8))
        }
        #expect(try decode(StartPostgresMigrationRequest.self, "{}") == StartPostgresMigrationRequest())
        #expect(try decode(TablesSetupRequest.self, "{}") == TablesSetupRequest())
        let verify = try decode(StartVerifyRequest.self, #"{"from": "/d.bson"}"#)
        #expect(verify == StartVerifyRequest(from: "/d.bson") && !verify.skipBad && !verify.jsonArray)
        let migrate = try decode(StartScenarioMigrationRequest.self, #"{"from": "/d.bson", "workers": 4}"#)
        #expect(
            migrate == StartScenarioMigrationRequest(from: "/d.bson", workers: 4) && !migrate.dryRun && !migrate.sync)
        let restore = try decode(RestoreRequest.self, #"{"kind": "postgres", "id": "b1"}"#)
        #expect(!restore.create && !restore.clean && !restore.force && !restore.keepOnFailure)
        #expect(try decode(StartBackupRequest.self, "{}").kinds.isEmpty)
        #expect(try decode(VerifyRequest.self, "{}").ids.isEmpty)
        #expect(try decode(StartExpiryRequest.self, "{}") == StartExpiryRequest(enforce: false))
        // A value that is there is read; a wrong type or an unknown key is still refused, by name.
        #expect(try decode(StartPostgresMigrationRequest.self, #"{"dryRun": true}"#).dryRun)
        #expect(throws: StrictJSONError.self) { try decode(StartPostgresMigrationRequest.self, #"{"dryRun": "yes"}"#) }
        let unknown = #expect(throws: StrictJSONError.self) {
            try decode(StartPostgresMigrationRequest.self, #"{"dryrun": true}"#)
        }
        #expect(unknown?.description.contains("dryrun") == true)
        // Required keys stay required.
        #expect(throws: StrictJSONError.self) { try decode(StartVerifyRequest.self, "{}") }
        // Results read from an older agent: the lists of problems default to empty.
        let catalog = try decode(BackupList.self, #"{"backups": []}"#)
        #expect(catalog.warnings.isEmpty && catalog.damaged.isEmpty && catalog.orphans.isEmpty)
    }

    /// A 422's hint says "send <example>": the example itself must be a request the agent takes.
    @Test(arguments: JobSpecs.all.map { JobSpecCase($0) })
    func eachKindsExampleIsAcceptedAsItsParams(_ spec: JobSpecCase) throws {
        try spec.decodeExample()
    }
}

/// One kind of `JobSpecs.all`, as a test argument that names it.
struct JobSpecCase: Sendable, CustomTestStringConvertible {
    let spec: any JobSpec.Type
    init(_ spec: any JobSpec.Type) { self.spec = spec }
    var testDescription: String { spec.name }

    func decodeExample() throws {
        func decode<S: JobSpec>(_: S.Type) throws {
            _ = try StrictJSON.decode(S.Params.self, from: Array(S.example.utf8))
        }
        try decode(spec)
    }
}
